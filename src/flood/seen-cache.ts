/**
 * The seen cache (DESIGN §5 step 2–3): msg_id → (reverse-path neighbour, best TTL seen),
 * bounded by count and by time. The pair is packed into one small integer so an entry
 * allocates nothing besides its key.
 */
import { LRUCache } from 'lru-cache'

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
}

export class SeenCache {
  private readonly cache: LRUCache<string, number>

  constructor (init: SeenCacheInit) {
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
  }

  /** Notes a better TTL for a seen id, keeping its reverse path and its expiry time. */
  raiseTtl (key: string, entry: number, ttl: number): void {
    this.cache.set(key, (slotOf(entry) << TTL_BITS) | ttl, { noUpdateTTL: true })
  }

  get size (): number {
    return this.cache.size
  }
}
