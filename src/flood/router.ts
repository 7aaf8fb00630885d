/**
 * The flood router: DESIGN §5 in one place. It knows nothing of libp2p, chat or payments:
 * neighbours are given to it as links that can write a unit, and time as a clock, so the same
 * rules run over libp2p streams, an in-memory harness and a simulator.
 *
 * Hot path per received message: rate limit → field checks → seen cache → (new ids only)
 * MD5 of id_bytes → remember reverse path → hit → re-encode once → queue per neighbour.
 * Duplicates stop after the seen-cache lookup: they are never hashed, since a dropped copy can
 * do no harm whatever its content. A copy that would be forwarded again (more TTL) is hashed.
 */
import type { Logger } from '@libp2p/interface'
import { decodeFrame, encodeFrameUnit, frameEntrySize } from '../wire/frame.ts'
import { encodeTMsg, idKey, msgIdMatches } from '../wire/tmsg.ts'
import type { TMsg } from '../wire/tmsg.ts'
import { checkFields, DEFAULT_VALIDATION_LIMITS, validate } from '../wire/validate.ts'
import type { InvalidReason, ValidationLimits } from '../wire/validate.ts'
import { DEFAULT_TTL, MAX_FRAME_MSGS, MAX_TTL_PLUS_HOPS } from '../wire/constants.ts'
import type { FrameControl } from '../wire/frame.ts'
import type { DropCounters, HistoryIngestResult, NeighbourStats, PublishResult, Router, RouterComponents, RouterName, RouterStats } from '../routing.ts'
import {
  DEFAULT_QUEUE_MAX_BYTES, DEFAULT_QUEUE_MAX_PRIORITY_BYTES, DEFAULT_QUEUE_TOTAL_BYTES, DEFAULT_RATE_BURST, DEFAULT_RATE_MESSAGES_PER_SECOND,
  DEFAULT_SEEN_CACHE_MAX, DEFAULT_SEEN_CACHE_TTL_MS, DEFAULT_SEEN_PER_NEIGHBOUR, DUPLICATE_CHECK_ONE_IN, FLUSH_UNIT_BYTES,
  PENALTY_FORGED_DUPLICATE, PENALTY_INVALID_MESSAGE, PENALTY_MALFORMED_FRAME, PENALTY_RATE_EXCESS, PENALTY_STALE_TIMESTAMP
} from './constants.ts'
import { OutboundQueue } from './outbound-queue.ts'
import type { QueueLimits } from './outbound-queue.ts'
import { PenaltyBox } from './penalties.ts'
import type { PenaltyInit } from './penalties.ts'
import { MAX_SLOT, SeenCache, SELF_SLOT, slotOf, ttlOf } from './seen-cache.ts'
import { TokenBucket } from './token-bucket.ts'

/** How the router reaches one neighbour. */
export interface NeighbourLink {
  /**
   * Writes one complete length-prefixed unit. Returns false when the transport wants a drain
   * before more: the router then holds further messages in its own queue until `drained()`.
   */
  write: (unit: Uint8Array) => boolean
  /** Closes the connection to this neighbour (used when it is banned). */
  disconnect: (reason: string) => void
}

export interface FloodRouterInit {
  /** @default 200000 */
  seenCacheMax?: number
  /** @default 20 minutes (twice the timestamp window) */
  seenCacheTtlMs?: number
  /** Seen-cache entries one neighbour may own. @default 50000 */
  seenPerNeighbour?: number
  /** Source of randomness for sampling duplicates (tests). @default Math.random */
  random?: () => number
  validation?: Partial<ValidationLimits>
  queue?: Partial<QueueLimits> & {
    /** Broadcast bytes queued for all neighbours together, shared equally. @default 32 MiB */
    totalBytes?: number
  }
  /** Per-neighbour token bucket in messages. @default 1000/s, burst 2000 */
  rateLimit?: { messagesPerSecond: number, burst: number }
  penalties?: Partial<PenaltyInit>
  /** Runs the batched flush later; setImmediate batches everything that arrived in one I/O turn. */
  schedule?: (fn: () => void) => void
  /**
   * Runs `fn` after `ms` of the router's clock (setTimeout's argument order) and returns a cancel function. The flood rules
   * need no timers; routers built on them that do (plumtree's GRAFT timeout) take them from
   * here, so the simulator can drive them on its virtual clock. @default setTimeout
   */
  setTimer?: SetTimer
  /**
   * True while this node itself is running late. Messages over a neighbour's budget are then
   * still dropped but not penalised: a backlog that piled up behind our own stall arrives as
   * one burst although the neighbour sent it on time. @default never
   */
  lagging?: () => boolean
  /** Called when a neighbour is banned, after its link was told to disconnect. */
  onBan?: (peerId: string, until: number) => void
  log?: Logger
}

/** A one-shot timer on the router's clock; the result cancels it. */
export type SetTimer = (fn: () => void, ms: number) => () => void

export class Neighbour {
  readonly id: string
  readonly slot: number
  readonly queue: OutboundQueue
  readonly bucket: TokenBucket
  link: NeighbourLink | undefined
  /** Waiting for the transport's drain before writing more. */
  blocked = false
  messagesIn = 0
  messagesOut = 0

  constructor (id: string, slot: number, queue: OutboundQueue, bucket: TokenBucket) {
    this.id = id
    this.slot = slot
    this.queue = queue
    this.bucket = bucket
  }
}


/**
 * The flood rules. Routers built on them (plumtree) override the protected hooks — what a new
 * id, a duplicate or a frame's control fields do, who gets a full copy, what rides along a
 * unit — and leave every §5 rule here.
 */
export class FloodRouter implements Router {
  readonly name: RouterName = 'flood'
  readonly defaultTtl: number = DEFAULT_TTL
  protected readonly components: RouterComponents
  private readonly limits: ValidationLimits
  /** Shared by every neighbour's queue: `maxBytes` is each one's current share. */
  private readonly queueLimits: QueueLimits
  private readonly queueMaxBytes: number
  private readonly queueTotalBytes: number
  private readonly rate: { messagesPerSecond: number, burst: number }
  protected readonly seen: SeenCache
  private readonly penalties: PenaltyBox
  private readonly schedule: (fn: () => void) => void
  private readonly onBan?: (peerId: string, until: number) => void
  private readonly lagging: () => boolean
  protected readonly log?: Logger
  private readonly random: () => number
  protected readonly neighbours = new Map<string, Neighbour>()
  private readonly bySlot = new Map<number, Neighbour>()
  private nextSlot = SELF_SLOT + 1
  private readonly dirty = new Set<Neighbour>()
  private flushScheduled = false
  /** Deliveries of the unit being read, handed over once its forwards are written. */
  private deferred: Array<{ msg: TMsg, from: string }> | undefined
  protected readonly counters = {
    received: 0, delivered: 0, forwarded: 0, sent: 0, duplicates: 0, reforwarded: 0, expired: 0, invalid: 0
  }

  private readonly invalidReasons: Record<string, number> = {}
  protected readonly drops: DropCounters = { rateLimited: 0, queueOverflow: 0, unknownReply: 0, banned: 0 }

  constructor (components: RouterComponents, init: FloodRouterInit = {}) {
    this.components = components
    this.limits = { ...DEFAULT_VALIDATION_LIMITS, ...init.validation }
    this.queueMaxBytes = init.queue?.maxBytes ?? DEFAULT_QUEUE_MAX_BYTES
    this.queueTotalBytes = init.queue?.totalBytes ?? DEFAULT_QUEUE_TOTAL_BYTES
    this.queueLimits = {
      maxBytes: this.queueMaxBytes,
      maxPriorityBytes: init.queue?.maxPriorityBytes ?? DEFAULT_QUEUE_MAX_PRIORITY_BYTES
    }
    this.rate = init.rateLimit ?? { messagesPerSecond: DEFAULT_RATE_MESSAGES_PER_SECOND, burst: DEFAULT_RATE_BURST }
    this.seen = new SeenCache({
      max: init.seenCacheMax ?? DEFAULT_SEEN_CACHE_MAX,
      ttlMs: init.seenCacheTtlMs ?? DEFAULT_SEEN_CACHE_TTL_MS,
      now: components.now,
      perSlotMax: init.seenPerNeighbour ?? DEFAULT_SEEN_PER_NEIGHBOUR
    })
    this.random = init.random ?? Math.random
    this.penalties = new PenaltyBox(init.penalties)
    this.schedule = init.schedule ?? setImmediate
    this.onBan = init.onBan
    this.lagging = init.lagging ?? (() => false)
    this.log = init.log
  }

  // ---- neighbours -------------------------------------------------------------------------

  /**
   * Adds a neighbour (idempotent). The link may come later (`attachLink`): messages queue
   * meanwhile, and what it sends is accepted at once.
   */
  addNeighbour (peerId: string, link?: NeighbourLink): void {
    let n = this.neighbours.get(peerId)
    if (n === undefined) {
      const slot = this.nextSlot
      this.nextSlot = slot >= MAX_SLOT ? SELF_SLOT + 1 : slot + 1
      n = new Neighbour(peerId, slot, new OutboundQueue(this.queueLimits),
        new TokenBucket(this.rate.messagesPerSecond, this.rate.burst, this.components.now()))
      this.neighbours.set(peerId, n)
      this.bySlot.set(slot, n)
      this.shareQueues()
    }
    if (link !== undefined) this.attachLink(peerId, link)
  }

  attachLink (peerId: string, link: NeighbourLink): void {
    const n = this.neighbours.get(peerId)
    if (n === undefined) return
    n.link = link
    n.blocked = false
    if (n.queue.length > 0) this.markDirty(n)
  }

  /**
   * Forgets a neighbour and drops its queue; reverse paths through it fall back to flooding.
   * With `link`, only if that is still the neighbour's link: a stream closing late must not
   * remove the neighbour a reconnection has just added again.
   */
  removeNeighbour (peerId: string, link?: NeighbourLink): void {
    const n = this.neighbours.get(peerId)
    if (n === undefined || (link !== undefined && n.link !== link)) return
    this.neighbours.delete(peerId)
    this.bySlot.delete(n.slot)
    this.shareQueues()
    this.seen.forgetSlot(n.slot)
    this.dirty.delete(n)
  }

  /** Each queue's share of the total; a queue above a smaller share sheds on its next push. */
  private shareQueues (): void {
    this.queueLimits.maxBytes = Math.min(this.queueMaxBytes, Math.floor(this.queueTotalBytes / Math.max(1, this.neighbours.size)))
  }

  /** The transport behind this neighbour's link can take data again. */
  drained (peerId: string): void {
    const n = this.neighbours.get(peerId)
    if (n === undefined) return
    n.blocked = false
    if (n.queue.length > 0) this.markDirty(n)
  }

  isBanned (peerId: string): boolean {
    return this.penalties.isBanned(peerId, this.components.now())
  }

  // ---- receiving --------------------------------------------------------------------------

  /** One unit from `peerId`: the Frame body, its length prefix already removed. */
  receiveUnit (peerId: string, body: Uint8Array): void {
    const n = this.neighbours.get(peerId)
    if (n === undefined) return
    if (this.isBanned(peerId)) {
      this.drops.banned++
      return
    }
    let frame
    try {
      frame = decodeFrame(body, MAX_FRAME_MSGS)
    } catch {
      this.invalid(n, 'malformed', PENALTY_MALFORMED_FRAME)
      return
    }
    for (let i = 0; i < frame.malformed; i++) this.invalid(n, 'malformed', PENALTY_INVALID_MESSAGE)
    const deferred: Array<{ msg: TMsg, from: string }> = []
    this.deferred = deferred
    try {
      for (const msg of frame.msgs) {
        if (!this.neighbours.has(peerId)) break // banned part-way through the frame
        this.receive(n, msg)
      }
      if (frame.control !== undefined && this.neighbours.has(peerId)) this.receiveControl(n, frame.control)
      // What this unit produced goes out with everything else read in this event-loop turn
      // (the flush already scheduled): with many neighbours each write costs a syscall and a
      // cipher setup per neighbour, so a busy relay writes one unit per turn, not one per
      // sender's unit. At once only when a neighbour has a full unit waiting, or when this
      // node delivers: then the next hops get their copies before its checks run.
      if (deferred.length > 0 || this.unitReady()) this.flushAll()
    } finally {
      this.deferred = undefined
    }
    // Deliveries last: the node verifies each signature there (~0.3 ms), and a relay need
    // not (§5 step 4), so the next hops get their copies before this node's checks run.
    for (const d of deferred) this.handOver(d.msg, d.from, false)
  }

  private receive (from: Neighbour, msg: TMsg): void {
    this.counters.received++
    from.messagesIn++
    // Throttled, then banned if it keeps going: excess costs points like invalid data.
    if (!this.takeToken(from)) return
    const now = this.components.now()
    const bad = checkFields(msg, now, this.limits)
    if (bad !== undefined) {
      this.invalid(from, bad, bad === 'timestamp-out-of-window' ? PENALTY_STALE_TIMESTAMP : PENALTY_INVALID_MESSAGE)
      return
    }
    const isReply = msg.replyTo.length > 0
    const key = idKey(msg.msgId)
    const entry = this.seen.get(key)
    if (entry !== undefined) {
      this.counters.duplicates++
      if (this.random() * DUPLICATE_CHECK_ONE_IN < 1 && !msgIdMatches(msg)) {
        this.invalid(from, 'msg-id-mismatch', PENALTY_FORGED_DUPLICATE)
        return
      }
      this.duplicateFrom(from, key, !isReply && msg.ttl > ttlOf(entry))
      // A copy with more TTL than the best so far must not be cut short by a slow short-TTL
      // copy that happened to arrive first: forward it again, with its TTL. Not delivered again.
      if (isReply || msg.ttl <= ttlOf(entry)) return
      if (!msgIdMatches(msg)) {
        this.invalid(from, 'msg-id-mismatch', PENALTY_INVALID_MESSAGE)
        return
      }
      this.seen.raiseTtl(key, msg.ttl)
      this.counters.reforwarded++
      this.broadcast(msg, from, true)
      return
    }
    if (!msgIdMatches(msg)) {
      this.invalid(from, 'msg-id-mismatch', PENALTY_INVALID_MESSAGE)
      return
    }
    this.seen.remember(key, from.slot, msg.ttl)
    this.newFrom(from, msg, key)
    this.accept(msg, from.id)

    if (isReply) {
      this.routeReply(msg, from)
      return
    }
    if (this.components.isSubscribed(msg.target)) this.deliver(msg, from)
    this.broadcast(msg, from)
  }

  /** DESIGN §5 step 5: replies go back only along their request's path. */
  private routeReply (msg: TMsg, from: Neighbour): void {
    const request = this.seen.get(idKey(msg.replyTo))
    if (request === undefined) {
      this.drops.unknownReply++
      return
    }
    const back = slotOf(request)
    if (back === SELF_SLOT) {
      this.deliver(msg, from) // a reply to our own request: a hit, not forwarded
      return
    }
    if (this.components.isSubscribed(msg.target)) this.deliver(msg, from)
    if (msg.ttl <= 1) {
      this.counters.expired++
      return
    }
    const next = this.bySlot.get(back)
    const bytes = encodeTMsg(msg, msg.ttl - 1, msg.hops + 1)
    if (next !== undefined && next !== from) {
      this.queuePriority(next, bytes)
      this.counters.forwarded++
      return
    }
    // The request's neighbour is gone: flood the reply so it can still find its way.
    for (const n of this.neighbours.values()) {
      if (n === from) continue
      this.queuePriority(n, bytes)
      this.counters.forwarded++
    }
  }

  /** DESIGN §5 step 6: everything else goes to every neighbour but the one it came from. */
  private broadcast (msg: TMsg, from: Neighbour, again = false): void {
    if (msg.ttl <= 1) {
      this.counters.expired++
      return
    }
    if (this.neighbours.size <= 1) return
    const hops = msg.hops + 1
    this.fanOut(msg, encodeTMsg(msg, msg.ttl - 1, hops), hops, from, again)
  }

  // ---- hooks for routers built on these rules ----------------------------------------------

  /**
   * A message to spread (§5 step 6, or an own one when `from` is undefined): every neighbour
   * but `from`. `again`: a copy with more TTL than the first (step 2), spread once more.
   */
  protected fanOut (_msg: TMsg, bytes: Uint8Array, hops: number, from: Neighbour | undefined, _again = false): number {
    let count = 0
    for (const n of this.neighbours.values()) {
      if (n !== from && this.push(n, bytes, hops, from === undefined)) count++
    }
    return count
  }

  /** Queues one full copy: own messages never evicted (false if refused), relayed ones as broadcasts. */
  protected push (n: Neighbour, bytes: Uint8Array, hops: number, own: boolean): boolean {
    if (own) {
      if (!this.queuePriority(n, bytes)) return false
      this.counters.sent++
      return true
    }
    const dropped = n.queue.pushBroadcast(bytes, hops)
    if (dropped > 0) this.drops.queueOverflow += dropped
    this.counters.forwarded++
    this.markDirty(n)
    return true
  }

  /** A new valid id arrived from `from` (after the seen cache noted it). */
  protected newFrom (_from: Neighbour, _msg: TMsg, _key: string): void {}

  /** A copy of an id already seen arrived from `from`; `better`: it carries more TTL (step 2). */
  protected duplicateFrom (_from: Neighbour, _key: string, _better: boolean): void {}

  /** A frame's control fields (DESIGN §11): the flood rules have none and ignore them. */
  protected receiveControl (_from: Neighbour, _control: FrameControl): void {}

  /** Control bytes to send `n` with its next unit (taken: the router forgets them). */
  protected takeControl (_n: Neighbour): Uint8Array | undefined {
    return undefined
  }

  /** Rate limit per entry: control ids count like messages against the neighbour's bucket. */
  protected takeToken (from: Neighbour): boolean {
    if (from.bucket.take(this.components.now())) return true
    this.drops.rateLimited++
    if (!this.lagging()) this.penalise(from, 'rate-limited', PENALTY_RATE_EXCESS)
    return false
  }

  private deliver (msg: TMsg, from: Neighbour | string, history = false): void {
    this.counters.delivered++
    const id = typeof from === 'string' ? from : from.id
    if (this.deferred !== undefined && !history) this.deferred.push({ msg, from: id })
    else this.handOver(msg, id, history)
  }

  private handOver (msg: TMsg, from: string, history: boolean): void {
    try {
      this.components.deliver(msg, from, history)
    } catch (err: unknown) {
      // An application bug must not stop the flood.
      this.log?.error('delivery failed - %e', err)
    }
  }

  /** A new valid id: handed to the store-and-forward keeper, if there is one. */
  private accept (msg: TMsg, from: string): void {
    if (this.components.accepted === undefined) return
    try {
      this.components.accepted(msg, from)
    } catch (err: unknown) {
      this.log?.error('accepted callback failed - %e', err)
    }
  }

  protected invalid (from: Neighbour | string, reason: InvalidReason, points: number): void {
    this.counters.invalid++
    this.invalidReasons[reason] = (this.invalidReasons[reason] ?? 0) + 1
    this.penalise(from, reason, points)
  }

  protected penalise (from: Neighbour | string, reason: string, points: number): void {
    const id = typeof from === 'string' ? from : from.id
    const now = this.components.now()
    if (!this.penalties.penalise(id, points, now)) return
    const until = this.penalties.bannedUntil(id) ?? now
    this.log?.('banning %s until %s after invalid data (%s)', id, new Date(until).toISOString(), reason)
    const n = this.neighbours.get(id)
    this.removeNeighbour(id)
    n?.link?.disconnect(`banned: ${reason}`)
    this.onBan?.(id, until)
  }

  // ---- history answers (DESIGN §10) -------------------------------------------------------

  ingestHistory (peerId: string, msgs: readonly TMsg[], wanted?: (msg: TMsg) => boolean, malformed = 0): HistoryIngestResult {
    const result: HistoryIngestResult = { accepted: 0, duplicates: 0, invalid: malformed }
    for (let i = 0; i < malformed && !this.isBanned(peerId); i++) this.invalid(peerId, 'malformed', PENALTY_MALFORMED_FRAME)
    // Stored messages are older than the flood's window by nature; every other rule holds.
    const limits = { ...this.limits, timestampWindowMs: Number.POSITIVE_INFINITY }
    const now = this.components.now()
    for (const msg of msgs) {
      if (this.isBanned(peerId)) {
        this.drops.banned++
        continue
      }
      const bad = validate(msg, now, limits) ?? (wanted !== undefined && !wanted(msg) ? 'history-unrequested' : undefined)
      if (bad !== undefined) {
        result.invalid++
        this.invalid(peerId, bad, PENALTY_INVALID_MESSAGE)
        continue
      }
      const key = idKey(msg.msgId)
      if (this.seen.get(key) !== undefined) {
        result.duplicates++
        this.counters.duplicates++
        continue
      }
      // Reverse path through the answering peer, as if it had flooded the message to us; the
      // TTL is the most a copy may carry, so a late flooded copy is never forwarded again.
      this.seen.remember(key, this.neighbours.get(peerId)?.slot ?? MAX_SLOT, MAX_TTL_PLUS_HOPS)
      result.accepted++
      this.accept(msg, peerId)
      const isReplyToOwn = msg.replyTo.length > 0 && slotOf(this.seen.get(idKey(msg.replyTo)) ?? -1) === SELF_SLOT
      if (isReplyToOwn || this.components.isSubscribed(msg.target)) this.deliver(msg, peerId, true)
    }
    return result
  }

  rememberSeen (msgIds: readonly Uint8Array[]): void {
    // No neighbour to route replies back to, and the most TTL a copy may carry: a copy that
    // comes again is a duplicate, neither delivered nor forwarded.
    for (const id of msgIds) this.seen.remember(idKey(id), MAX_SLOT, MAX_TTL_PLUS_HOPS)
  }

  // ---- sending ----------------------------------------------------------------------------

  /**
   * Sends a message this node created. It enters the seen cache first, so a copy that loops
   * back is a duplicate (floodsub delivers its own message to itself when that happens).
   */
  publish (msg: TMsg): PublishResult {
    this.seen.remember(idKey(msg.msgId), SELF_SLOT, msg.ttl)
    const bytes = encodeTMsg(msg)
    if (msg.replyTo.length > 0) {
      const request = this.seen.get(idKey(msg.replyTo))
      const back = request === undefined ? undefined : this.bySlot.get(slotOf(request))
      if (back !== undefined) return { neighbours: this.push(back, bytes, 0, true) ? 1 : 0 }
    }
    return { neighbours: this.fanOut(msg, bytes, 0, undefined) }
  }

  backlogged (bytes: number): boolean {
    if (this.neighbours.size === 0) return false
    for (const n of this.neighbours.values()) if (!n.queue.priorityFull(bytes)) return false
    return true
  }

  /** Queues an own message or a reply; false if the neighbour's priority queue is full. */
  private queuePriority (n: Neighbour, bytes: Uint8Array): boolean {
    const evicted = n.queue.pushPriority(bytes)
    if (evicted < 0) {
      this.drops.queueOverflow++
      return false
    }
    this.drops.queueOverflow += evicted
    this.markDirty(n)
    return true
  }

  protected markDirty (n: Neighbour): void {
    this.dirty.add(n)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      this.schedule(this.flushAll)
    }
  }

  /** True when a neighbour that can be written to has a full unit queued. */
  private unitReady (): boolean {
    for (const n of this.dirty) {
      if (!n.blocked && (n.queue.bytes >= FLUSH_UNIT_BYTES || n.queue.length >= MAX_FRAME_MSGS)) return true
    }
    return false
  }

  /** Writes every dirty neighbour's queue as few, large frames as its transport accepts. */
  private readonly flushAll = (): void => {
    this.flushScheduled = false
    // Neighbours that are keeping up were queued the same copies in the same order, so most
    // get the same batch: it is encoded once and that unit written to each (a relay with 50
    // neighbours otherwise builds 49 copies of every unit). Keyed by the batch's first copy.
    const units = new Map<Uint8Array, Array<{ batch: Uint8Array[], unit: Uint8Array }>>()
    for (const n of this.dirty) this.flush(n, units)
    this.dirty.clear()
  }

  private flush (n: Neighbour, units: Map<Uint8Array, Array<{ batch: Uint8Array[], unit: Uint8Array }>>): void {
    const link = n.link
    if (link === undefined) return
    while (!n.blocked) {
      const batch = n.queue.length > 0 ? n.queue.take(MAX_FRAME_MSGS, FLUSH_UNIT_BYTES, frameEntrySize) : []
      const control = this.takeControl(n)
      if (batch.length === 0 && control === undefined) return
      n.messagesOut += batch.length
      let unit: Uint8Array | undefined
      if (control === undefined) {
        const same = units.get(batch[0]!)
        unit = same?.find(u => sameCopies(u.batch, batch))?.unit
        if (unit === undefined) {
          unit = encodeFrameUnit(batch)
          if (same === undefined) units.set(batch[0]!, [{ batch, unit }])
          else same.push({ batch, unit })
        }
      } else {
        unit = encodeFrameUnit(batch, control)
      }
      let accepted: boolean
      try {
        accepted = link.write(unit)
      } catch (err: unknown) {
        // The stream died under us; the host will remove the neighbour when it notices.
        this.log?.('write to %s failed - %e', n.id, err)
        n.blocked = true
        return
      }
      if (!accepted) n.blocked = true
    }
  }

  // ---- introspection ----------------------------------------------------------------------

  stats (): RouterStats {
    const drops = { ...this.drops }
    return {
      ...this.counters,
      dropped: drops.rateLimited + drops.queueOverflow + drops.unknownReply + drops.banned,
      seenCacheSize: this.seen.size,
      peers: this.neighbours.size,
      invalidReasons: { ...this.invalidReasons },
      drops,
      banned: this.penalties.bannedCount(this.components.now())
    }
  }

  neighbourStats (): NeighbourStats[] {
    return [...this.neighbours.values()].map(n => ({
      peerId: n.id,
      messagesIn: n.messagesIn,
      messagesOut: n.messagesOut,
      queuedBytes: n.queue.bytes,
      queuedMessages: n.queue.length
    }))
  }
}

/** The same copies (the very same buffers) in the same order. */
function sameCopies (a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
