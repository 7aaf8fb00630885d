/**
 * The seen cache (DESIGN §5 step 2–3): msg_id → (reverse-path neighbour, best TTL seen),
 * bounded by count and by time. The pair is packed into one small integer so an entry
 * allocates nothing besides its key.
 */
import { LRUCache } from 'lru-cache'
import { Fifo } from './fifo.ts'

/** The neighbour slot meaning "this node": its own messages and requests. */
export const SELF_SLOT = 0
const TTL_BITS = 5 // TTL ≤ 16
const TTL_MASK = (1 << TTL_BITS) - 1
/** Slots stay below 2^26 so the packed value is a V8 small integer. */
export const MAX_SLOT = (1 << 26) - 1

export function slotOf (entry: number): number {
  return entry >>> TTL_BITS
}

export function ttlOf (entry: number): number {
  return entry & TTL_MASK
}

export interface SeenCacheInit {
  max: number
  ttlMs: number
  now: () => number
  /**
   * Entries one neighbour may own (first arrival through it). Past this its own oldest entry
   * makes room, so a neighbour flooding new ids recycles its own history, never the others'.
   */
  perSlotMax?: number
}

export class SeenCache {
  private readonly cache: LRUCache<string, number>
  private readonly perSlotMax: number
  /** Keys each neighbour slot brought in, oldest first (some may be gone from the cache). */
  private readonly owned = new Map<number, Fifo<string>>()
  /** Entries a neighbour's quota pushed out (its own). */
  recycled = 0

  constructor (init: SeenCacheInit) {
    this.perSlotMax = init.perSlotMax ?? Infinity
    this.cache = new LRUCache<string, number>({
      max: init.max,
      ttl: init.ttlMs,
      ttlAutopurge: false,
      updateAgeOnGet: false,
      perf: { now: init.now }
    })
  }

  /** The packed entry for a key (see slotOf/ttlOf), or undefined if never seen or expired. */
  get (key: string): number | undefined {
    return this.cache.get(key)
  }

  remember (key: string, slot: number, ttl: number): void {
    this.cache.set(key, (slot << TTL_BITS) | ttl)
    if (slot === SELF_SLOT || this.perSlotMax === Infinity) return
    let keys = this.owned.get(slot)
    if (keys === undefined) {
      keys = new Fifo<string>()
      this.owned.set(slot, keys)
    }
    keys.push(key)
    // Keys the cache already let go (evicted by its size or age) leave the list too, or the
    // lists of 50 busy neighbours would keep millions of dead keys alive: the cache empties
    // roughly oldest first, so looking at the head is enough to keep each list near the
    // number of entries its neighbour really owns.
    for (let k = keys.peek(); k !== undefined && !this.owns(k, slot); k = keys.peek()) keys.shift()
    while (keys.length > this.perSlotMax) {
      const old = keys.shift()!
      if (this.owns(old, slot)) {
        this.cache.delete(old)
        this.recycled++
      }
    }
  }

  private owns (key: string, slot: number): boolean {
    const e = this.cache.peek(key)
    return e !== undefined && slotOf(e) === slot
  }

  /** Keys held by the per-neighbour quota lists, live or not yet trimmed. */
  get quotaListed (): number {
    let n = 0
    for (const keys of this.owned.values()) n += keys.length
    return n
  }

  /** A neighbour left: its entries stay (they still stop replays), its quota list goes. */
  forgetSlot (slot: number): void {
    this.owned.delete(slot)
  }

  /** Notes a better TTL for a seen id, keeping its reverse path and its expiry time. */
  raiseTtl (key: string, entry: number, ttl: number): void {
    this.cache.set(key, (slotOf(entry) << TTL_BITS) | ttl, { noUpdateTTL: true })
  }

  get size (): number {
    return this.cache.size
  }
}
