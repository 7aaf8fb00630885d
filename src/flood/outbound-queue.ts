/**
 * One neighbour's outbound queue, bounded in bytes, with Gnutella's flow-control policy
 * (DESIGN §5): when full, relayed broadcasts are dropped first, the most-travelled (highest
 * hops) first and, among equals, the oldest; this node's own messages and routed replies are
 * never evicted — past their own cap they are refused so the caller can report it.
 */
import { Fifo } from './fifo.ts'
import { MAX_TTL_PLUS_HOPS } from '../wire/constants.ts'

export interface QueueLimits {
  /** Bytes of queued messages (all kinds) beyond which broadcasts are dropped. */
  maxBytes: number
  /** Bytes of own messages and replies beyond which new ones are refused. */
  maxPriorityBytes: number
}

export class OutboundQueue {
  private readonly limits: QueueLimits
  private readonly priority = new Fifo<Uint8Array>()
  /** Broadcasts by hops: buckets[h] holds the copies that will arrive with hops = h. */
  private readonly buckets: Array<Fifo<Uint8Array>> = []
  private priorityBytes = 0
  private broadcastBytes = 0
  private count = 0

  constructor (limits: QueueLimits) {
    this.limits = limits
    for (let h = 0; h <= MAX_TTL_PLUS_HOPS; h++) this.buckets.push(new Fifo())
  }

  get bytes (): number {
    return this.priorityBytes + this.broadcastBytes
  }

  get length (): number {
    return this.count
  }

  /** True when own messages and replies of `bytes` more would be refused. */
  priorityFull (bytes: number): boolean {
    return this.priorityBytes + bytes > this.limits.maxPriorityBytes
  }

  /**
   * Queues an own message or a reply. Returns the number of broadcasts evicted to make room,
   * or -1 when it is refused because own messages and replies alone exceed their cap.
   */
  pushPriority (msg: Uint8Array): number {
    if (this.priorityBytes + msg.length > this.limits.maxPriorityBytes) return -1
    this.priority.push(msg)
    this.priorityBytes += msg.length
    this.count++
    let evicted = 0
    while (this.bytes > this.limits.maxBytes && this.broadcastBytes > 0) {
      this.evictFrom(this.highestBucket())
      evicted++
    }
    return evicted
  }

  /**
   * Queues a relayed broadcast that will arrive with `hops`. Returns how many messages were
   * dropped to respect the cap: queued ones evicted, plus 1 if this one was refused.
   */
  pushBroadcast (msg: Uint8Array, hops: number): number {
    const h = Math.min(Math.max(hops, 0), MAX_TTL_PLUS_HOPS)
    let dropped = 0
    while (this.bytes + msg.length > this.limits.maxBytes) {
      const victim = this.highestBucket()
      // Everything queued travelled less than this copy: it is the one to drop.
      if (victim < h) return dropped + 1
      this.evictFrom(victim)
      dropped++
    }
    this.buckets[h]!.push(msg)
    this.broadcastBytes += msg.length
    this.count++
    return dropped
  }

  /**
   * Removes up to `maxMsgs` messages totalling at most `maxBytes` (always at least one if any
   * is queued): own messages and replies first, then broadcasts, least-travelled first.
   */
  take (maxMsgs: number, maxBytes: number, cost: (len: number) => number): Uint8Array[] {
    const out: Uint8Array[] = []
    let used = 0
    const fits = (m: Uint8Array | undefined): m is Uint8Array =>
      m !== undefined && out.length < maxMsgs && (out.length === 0 || used + cost(m.length) <= maxBytes)
    for (let m = this.priority.peek(); fits(m); m = this.priority.peek()) {
      this.priority.shift()
      this.priorityBytes -= m.length
      used += cost(m.length)
      out.push(m)
    }
    for (let h = 0; h <= MAX_TTL_PLUS_HOPS && out.length < maxMsgs; h++) {
      const bucket = this.buckets[h]!
      for (let m = bucket.peek(); fits(m); m = bucket.peek()) {
        bucket.shift()
        this.broadcastBytes -= m.length
        used += cost(m.length)
        out.push(m)
      }
      if (bucket.length > 0) break // stopped by the size limit
    }
    this.count -= out.length
    return out
  }

  private highestBucket (): number {
    for (let h = MAX_TTL_PLUS_HOPS; h >= 0; h--) if (this.buckets[h]!.length > 0) return h
    return -1
  }

  private evictFrom (h: number): void {
    const m = this.buckets[h]!.shift()!
    this.broadcastBytes -= m.length
    this.count--
  }
}
