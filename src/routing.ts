/**
 * What both routers (flood and gossipsub) offer the node, so they are interchangeable in the
 * node, in tests and in benchmarks. A router knows nothing of chat or payments.
 */
import type { TMsg } from './wire/tmsg.ts'

export type RouterName = 'flood' | 'gossipsub'
export const ROUTER_NAMES: readonly RouterName[] = ['flood', 'gossipsub']

export interface RouterComponents {
  /** Wall-clock ms since the Unix epoch; message timestamps are checked against it. */
  now: () => number
  /** Whether a target is subscribed on this node (a "hit"). */
  isSubscribed: (target: Uint8Array) => boolean
  /**
   * Called once per message id for every hit, and for replies to this node's own requests.
   * `from` is the neighbour it came from. Byte fields may be views into the received frame:
   * copy what must outlive the call.
   */
  deliver: (msg: TMsg, from: string) => void
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
}
