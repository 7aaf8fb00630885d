/**
 * The alternative router (DESIGN §4, `--router gossipsub`): @libp2p/gossipsub on topic
 * `tmsg/v1`, data = the encoded TMsg, message id = `msg_id`, no gossipsub signing (a TMsg
 * signs itself). Gossipsub does its own propagation and dedupe, so TTL/hops are carried but
 * not rewritten, and replies are published to the topic like everything else: gossipsub has
 * no reverse path.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Logger, PeerId } from '@libp2p/interface'
import { LRUCache } from 'lru-cache'
import { decodeTMsg, encodeTMsg, idKey } from '../wire/tmsg.ts'
import type { TMsg } from '../wire/tmsg.ts'
import { DEFAULT_VALIDATION_LIMITS, validate } from '../wire/validate.ts'
import type { ValidationLimits } from '../wire/validate.ts'
import { DEFAULT_TTL, MSG_ID_LENGTH } from '../wire/constants.ts'
import type { DropCounters, HistoryIngestResult, NeighbourStats, PublishResult, Router, RouterComponents, RouterStats } from '../routing.ts'
import { PenaltyBox } from '../flood/penalties.ts'
import { DEFAULT_SEEN_CACHE_MAX, DEFAULT_SEEN_CACHE_TTL_MS, PENALTY_INVALID_MESSAGE } from '../flood/constants.ts'

export const GOSSIP_TOPIC = 'tmsg/v1'

/** msg_id of an encoded TMsg, for gossipsub's dedupe; never throws. */
export function gossipMsgId (data: Uint8Array): Uint8Array {
  // Our encoder writes msg_id first (tag 0x0a, length 16): read it without decoding.
  if (data.length >= 18 && data[0] === 0x0a && data[1] === MSG_ID_LENGTH) return data.subarray(2, 18)
  try {
    const id = decodeTMsg(data).msgId
    if (id.length === MSG_ID_LENGTH) return id
  } catch {}
  return new Uint8Array(MSG_ID_LENGTH) // invalid anyway: the validator rejects it
}

export interface GossipRouterInit {
  validation?: Partial<ValidationLimits>
  /** Called when a peer sent so much invalid data that it is banned; the host disconnects it. */
  onBan?: (peerId: string, until: number) => void
  log?: Logger
}

export class GossipRouter implements Router {
  readonly name = 'gossipsub' as const
  readonly defaultTtl = DEFAULT_TTL
  private readonly components: RouterComponents
  private readonly pubsub: GossipSub
  private readonly limits: ValidationLimits
  private readonly log?: Logger
  private readonly onBan?: (peerId: string, until: number) => void
  private readonly penalties = new PenaltyBox()
  /** Ids of this node's own messages, so replies to them are recognised as hits. */
  private readonly own = new LRUCache<string, true>({ max: 10_000 })
  /**
   * Ids accepted here, for as long as the timestamp window accepts a copy: gossipsub forgets
   * ids after 2 minutes, so without this a replay 2–10 minutes later would be new to it.
   * History answers (DESIGN §10) are checked against it too, so nothing is delivered twice.
   */
  private readonly seen: LRUCache<string, true>
  private readonly counters = {
    received: 0, delivered: 0, forwarded: 0, sent: 0, duplicates: 0, reforwarded: 0, expired: 0, invalid: 0
  }

  private readonly invalidReasons: Record<string, number> = {}
  private readonly drops: DropCounters = { rateLimited: 0, queueOverflow: 0, unknownReply: 0, banned: 0 }

  constructor (components: RouterComponents, pubsub: GossipSub, init: GossipRouterInit = {}) {
    this.components = components
    this.pubsub = pubsub
    this.limits = { ...DEFAULT_VALIDATION_LIMITS, ...init.validation }
    this.log = init.log
    this.onBan = init.onBan
    this.seen = new LRUCache<string, true>({ max: DEFAULT_SEEN_CACHE_MAX, ttl: DEFAULT_SEEN_CACHE_TTL_MS, ttlAutopurge: false, updateAgeOnGet: false, perf: { now: components.now } })
  }

  start (): void {
    this.pubsub.topicValidators.set(GOSSIP_TOPIC, this.validateMessage)
    this.pubsub.addEventListener('message', this.onMessage)
    this.pubsub.subscribe(GOSSIP_TOPIC)
  }

  stop (): void {
    this.pubsub.removeEventListener('message', this.onMessage)
    this.pubsub.topicValidators.delete(GOSSIP_TOPIC)
  }

  private readonly validateMessage = (peer: PeerId, message: { data: Uint8Array }): TopicValidatorResult => {
    let reason: string | undefined
    let msg: TMsg | undefined
    try {
      msg = decodeTMsg(message.data)
      reason = validate(msg, this.components.now(), this.limits)
    } catch {
      reason = 'malformed'
    }
    if (reason === undefined) {
      if (msg === undefined) return TopicValidatorResult.Reject // unreachable: decoded or 'malformed'
      const key = idKey(msg.msgId)
      if (this.seen.has(key)) {
        // A replay after gossipsub forgot the id: neither delivered nor propagated again.
        this.counters.duplicates++
        return TopicValidatorResult.Ignore
      }
      this.seen.set(key, true)
      return TopicValidatorResult.Accept
    }
    this.invalid(peer.toString(), reason)
    return TopicValidatorResult.Reject
  }

  private invalid (peer: string, reason: string): void {
    this.counters.invalid++
    this.invalidReasons[reason] = (this.invalidReasons[reason] ?? 0) + 1
    const now = this.components.now()
    if (this.penalties.penalise(peer, PENALTY_INVALID_MESSAGE, now)) {
      this.onBan?.(peer, this.penalties.bannedUntil(peer) ?? now)
    }
  }

  private readonly onMessage = (evt: CustomEvent<{ topic: string, data: Uint8Array }>): void => {
    if (evt.detail.topic !== GOSSIP_TOPIC) return
    const msg = decodeTMsg(evt.detail.data) // validated already
    this.counters.received++
    this.components.accepted?.(msg, 'gossipsub')
    const replyToOwn = msg.replyTo.length > 0 && this.own.has(idKey(msg.replyTo))
    if (!replyToOwn && !this.components.isSubscribed(msg.target)) return
    this.counters.delivered++
    try {
      this.components.deliver(msg, 'gossipsub')
    } catch (err: unknown) {
      this.log?.error('delivery failed - %e', err)
    }
  }

  /** History answers (DESIGN §10): validated like topic messages but for the window; never published. */
  ingestHistory (peerId: string, msgs: readonly TMsg[], wanted?: (msg: TMsg) => boolean, malformed = 0): HistoryIngestResult {
    const result: HistoryIngestResult = { accepted: 0, duplicates: 0, invalid: malformed }
    for (let i = 0; i < malformed && !this.isBanned(peerId); i++) this.invalid(peerId, 'malformed')
    const limits = { ...this.limits, timestampWindowMs: Number.POSITIVE_INFINITY }
    for (const msg of msgs) {
      if (this.isBanned(peerId)) break
      const reason = validate(msg, this.components.now(), limits) ?? (wanted !== undefined && !wanted(msg) ? 'history-unrequested' : undefined)
      if (reason !== undefined) {
        result.invalid++
        this.invalid(peerId, reason)
        continue
      }
      const key = idKey(msg.msgId)
      if (this.seen.has(key) || this.own.has(key)) {
        result.duplicates++
        this.counters.duplicates++
        continue
      }
      this.seen.set(key, true)
      result.accepted++
      this.components.accepted?.(msg, peerId)
      const replyToOwn = msg.replyTo.length > 0 && this.own.has(idKey(msg.replyTo))
      if (!replyToOwn && !this.components.isSubscribed(msg.target)) continue
      this.counters.delivered++
      try {
        this.components.deliver(msg, peerId, true)
      } catch (err: unknown) {
        this.log?.error('delivery failed - %e', err)
      }
    }
    return result
  }

  rememberSeen (msgIds: readonly Uint8Array[]): void {
    for (const id of msgIds) this.seen.set(idKey(id), true)
  }

  publish (msg: TMsg): PublishResult {
    this.own.set(idKey(msg.msgId), true)
    this.seen.set(idKey(msg.msgId), true)
    const peers = this.pubsub.getSubscribers(GOSSIP_TOPIC).length
    this.counters.sent += peers
    this.pubsub.publish(GOSSIP_TOPIC, encodeTMsg(msg)).catch((err: unknown) => {
      this.drops.queueOverflow++
      this.log?.('gossipsub publish failed - %e', err)
    })
    return { neighbours: peers }
  }

  /** Gossipsub buffers internally without telling: never reported. */
  backlogged (_bytes: number): boolean {
    return false
  }

  isBanned (peerId: string): boolean {
    return this.penalties.isBanned(peerId, this.components.now())
  }

  stats (): RouterStats {
    const drops = { ...this.drops }
    return {
      ...this.counters,
      dropped: drops.rateLimited + drops.queueOverflow + drops.unknownReply + drops.banned,
      seenCacheSize: this.seen.size,
      peers: this.pubsub.getPeers().length,
      invalidReasons: { ...this.invalidReasons },
      drops,
      banned: this.penalties.bannedCount(this.components.now())
    }
  }

  neighbourStats (): NeighbourStats[] {
    return this.pubsub.getPeers().map(p => ({ peerId: p.toString(), messagesIn: 0, messagesOut: 0, queuedBytes: 0, queuedMessages: 0 }))
  }
}
