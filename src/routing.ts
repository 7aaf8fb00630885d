/**
 * What both routers (flood and gossipsub) offer the node, so they are interchangeable in the
 * node, in tests and in benchmarks. A router knows nothing of chat or payments.
 */
import type { TMsg } from './wire/tmsg.ts'

export type RouterName = 'flood' | 'plumtree' | 'gossipsub'
export const ROUTER_NAMES: readonly RouterName[] = ['flood', 'plumtree', 'gossipsub']

export interface RouterComponents {
  /** Wall-clock ms since the Unix epoch; message timestamps are checked against it. */
  now: () => number
  /** Whether a target is subscribed on this node (a "hit"). */
  isSubscribed: (target: Uint8Array) => boolean
  /**
   * Called once per message id for every hit, and for replies to this node's own requests.
   * `from` is the neighbour it came from. Byte fields may be views into the received frame:
   * copy what must outlive the call. `history` is set for messages that came in a history
   * answer (DESIGN §10) rather than through the flood.
   */
  deliver: (msg: TMsg, from: string, history?: boolean) => void
  /**
   * Called once per message id for every new valid message this router accepts from a
   * neighbour — delivered, relayed or from a history answer — so the node can keep the signed
   * originals for store and forward (DESIGN §10). Same byte-view caveat as `deliver`.
   */
  accepted?: (msg: TMsg, from: string) => void
}

/** What became of the messages of one history answer. */
export interface HistoryIngestResult {
  /** New ids, taken into the seen cache (and delivered when subscribed). */
  accepted: number
  /** Ids seen before: nothing happens. */
  duplicates: number
  /** Invalid or refused by the caller's check: dropped and charged to the peer. */
  invalid: number
}

export interface PublishResult {
  /** Neighbours the message was queued for. 0 means nobody will receive it yet. */
  neighbours: number
}

/** Counters of why messages were not forwarded or delivered. */
export interface DropCounters {
  /** Over a neighbour's token-bucket rate limit. */
  rateLimited: number
  /** Evicted from (or refused by) a full outbound queue. */
  queueOverflow: number
  /** A reply whose request was never seen here. */
  unknownReply: number
  /** Frames from a neighbour that is banned but not yet disconnected. */
  banned: number
}

export interface RouterStats {
  received: number
  delivered: number
  /** Copies of other nodes' messages queued to neighbours. */
  forwarded: number
  /** Copies of this node's own messages queued to neighbours. */
  sent: number
  duplicates: number
  /** Duplicates carrying more TTL than the best copy so far, forwarded again. */
  reforwarded: number
  /** Messages that reached TTL 1 here and went no further. */
  expired: number
  invalid: number
  dropped: number
  seenCacheSize: number
  peers: number
  invalidReasons: Record<string, number>
  drops: DropCounters
  /** Peers banned right now. */
  banned: number
}

export interface NeighbourStats {
  peerId: string
  messagesIn: number
  messagesOut: number
  queuedBytes: number
  queuedMessages: number
}

export interface Router {
  readonly name: RouterName
  /** The TTL this node gives its own messages unless told otherwise (DESIGN §5: 7; plumtree 10). */
  readonly defaultTtl: number
  /** Sends a message this node created (already id'd and signed). */
  publish: (msg: TMsg) => PublishResult
  stats: () => RouterStats
  neighbourStats: () => NeighbourStats[]
  isBanned: (peerId: string) => boolean
  /**
   * True when this node has neighbours but none of them could queue `bytes` more of its own
   * messages: the sender should slow down rather than have its messages refused.
   */
  backlogged: (bytes: number) => boolean
  /**
   * Takes the messages of a history answer from `peerId` (DESIGN §10): validated like flooded
   * messages except the timestamp window, delivered once when subscribed, never forwarded.
   * `wanted` is the caller's check against its request (targets asked, time window); a
   * message failing it counts as invalid, like junk, and is charged to the peer. `malformed`
   * counts entries of the answer that did not even decode: charged as malformed frames.
   */
  ingestHistory: (peerId: string, msgs: readonly TMsg[], wanted?: (msg: TMsg) => boolean, malformed?: number) => HistoryIngestResult
  /**
   * Ids this node handled before it restarted (from its store): the seen cache lives in
   * memory, and without these a neighbour could flood them again, inside the timestamp window,
   * and have them delivered twice.
   */
  rememberSeen: (msgIds: readonly Uint8Array[]) => void
}
