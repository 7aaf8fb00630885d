/**
 * The seen cache (DESIGN §5 step 2–3): msg_id → (reverse-path neighbour, best TTL seen),
 * bounded by count and by time. The pair is packed into one small integer.
 *
 * Entries live in typed arrays — the id's 16 bytes, the packed value, the expiry, the links of
 * the age list — indexed by a hash table of entry numbers. A relay at 10,000 msg/s fills the
 * default 200,000 entries in 20 s: held as 16-character strings in a Map with lru-cache's
 * lists they were ~23 MB of heap objects every major GC walks (and their churn pushed RSS up
 * further); here they are ~9 MB of flat arrays (46 bytes an entry with the quota lists, table
 * included), grown by doubling as the cache fills.
 */
import { randomFillSync } from 'node:crypto'

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

/** Keys are msg_id strings from `idKey`: 16 characters, one byte each. */
const KEY_LENGTH = 16
const FIRST_CAPACITY = 1024
const NONE = -1
/** Relative expiries past this (~12 days of uptime) trigger a rebase. */
const REBASE_AFTER = 2 ** 30
/** Longest TTL (~3 days): rebases stay ~12 days apart and expiries far from 2^31. */
const MAX_TTL_MS = 2 ** 28
/** `slotPrev` of an entry in no neighbour's list. */
const UNLISTED = -2

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

/** Ends and length of a list linked through two arrays of entry numbers (prev/next). */
interface List { head: number, tail: number, count: number }

const emptyList = (): List => ({ head: NONE, tail: NONE, count: 0 })

/** Appends entry `e` to `list`, newest last. */
function append (prev: Int32Array, next: Int32Array, list: List, e: number): void {
  prev[e] = list.tail
  next[e] = NONE
  if (list.tail === NONE) list.head = e
  else next[list.tail] = e
  list.tail = e
  list.count++
}

/** Takes entry `e` out of `list`. */
function remove (prev: Int32Array, next: Int32Array, list: List, e: number): void {
  const p = prev[e]!
  const n = next[e]!
  if (p === NONE) list.head = n
  else next[p] = n
  if (n === NONE) list.tail = p
  else prev[n] = p
  list.count--
}

function mixWord (h: number, word: number, seed: number, i: number): number {
  let w = word ^ seed
  w = Math.imul(w ^ (w >>> 16), 0x85ebca6b)
  w = Math.imul(w ^ (w >>> 13), 0xc2b2ae35)
  return Math.imul(h ^ w ^ (w >>> 16), 0x9e3779b1) + i
}

export class SeenCache {
  private readonly max: number
  private readonly ttlMs: number
  private readonly now: () => number
  private readonly perSlotMax: number
  /** Keys the hash is seeded with: ids are chosen by peers, bucket positions must not be. */
  private readonly seed: Uint32Array
  private capacity = 0
  private keys = new Uint8Array(0)
  private values = new Int32Array(0)
  /** Expiry in ms after `base`: 4 bytes an entry instead of 8 (rebased before it could overflow). */
  private expires = new Int32Array(0)
  private base: number
  /** The age list of every entry, oldest at `head`: the order entries expire and are evicted in. */
  private readonly age = emptyList()
  private prev = new Int32Array(0)
  private next = new Int32Array(0)
  /**
   * Each neighbour's entries, oldest first, linked through the entries themselves (UNLISTED:
   * in no list — this node's own, or a departed neighbour's). Intrusive, so a quota costs
   * 8 bytes an entry and no list ever holds a dead reference: as two JS arrays of entry
   * numbers and serials they were 16 bytes an entry plus ring slack, ~3-6 MB of heap on a full
   * 200,000-entry cache.
   */
  private slotPrev = new Int32Array(0)
  private slotNext = new Int32Array(0)
  /** Open addressing with linear probing: entry + 1, 0 empty. */
  private table = new Int32Array(0)
  /** Buckets in `table`: 1.5 per entry, so it is at most two-thirds full. */
  private buckets = 0
  /** Entry numbers below this were handed out at least once. */
  private used = 0
  private readonly free: number[] = []
  private readonly owned = new Map<number, List>()
  /** Entries a neighbour's quota pushed out (its own). */
  recycled = 0

  constructor (init: SeenCacheInit) {
    this.max = Math.max(1, init.max)
    // Expiries are Int32 ms after a base moved up every REBASE_AFTER ms: the TTL must fit well inside.
    if (!(init.ttlMs >= 0 && init.ttlMs <= MAX_TTL_MS)) throw new RangeError(`seen-cache TTL must be 0 to ${MAX_TTL_MS} ms`)
    this.ttlMs = init.ttlMs
    this.base = init.now()
    this.now = init.now
    this.perSlotMax = init.perSlotMax ?? Infinity
    this.seed = randomFillSync(new Uint32Array(5))
    this.grow()
  }

  /** The packed entry for a key (see slotOf/ttlOf), or undefined if never seen or expired. */
  get (key: string): number | undefined {
    const e = this.find(key, this.hash(key))
    if (e === NONE) return undefined
    if (this.expires[e]! < this.now() - this.base) {
      this.drop(e)
      return undefined
    }
    return this.values[e]
  }

  remember (key: string, slot: number, ttl: number): void {
    // The lists trust the slot stored in an entry: it must round-trip through the packing.
    if (slot < 0 || slot > MAX_SLOT || ttl < 0 || ttl > TTL_MASK) throw new RangeError(`slot ${slot} / ttl ${ttl} out of range`)
    const now = this.now()
    if (now + this.ttlMs - this.base > REBASE_AFTER) this.rebase(now)
    const rel = now - this.base
    while (this.age.head !== NONE && this.expires[this.age.head]! < rel) this.drop(this.age.head)
    const h = this.hash(key)
    let e = this.find(key, h)
    if (e === NONE) {
      if (this.age.count >= this.max) this.drop(this.age.head)
      e = this.allocate()
      for (let i = 0; i < KEY_LENGTH; i++) this.keys[e * KEY_LENGTH + i] = key.charCodeAt(i)
      this.insert(e, h)
    } else {
      remove(this.prev, this.next, this.age, e)
    }
    // Seen again as new (an id from history, say): it starts its time over, newest, and
    // belongs to the neighbour it came through this time.
    this.unlistSlot(e)
    this.values[e] = (slot << TTL_BITS) | ttl
    // Rounded up: a fractional clock (the simulator's) never expires an entry early.
    this.expires[e] = Math.ceil(rel + this.ttlMs)
    append(this.prev, this.next, this.age, e)
    if (slot === SELF_SLOT) return
    let list = this.owned.get(slot)
    if (list === undefined) {
      list = emptyList()
      this.owned.set(slot, list)
    }
    append(this.slotPrev, this.slotNext, list, e)
    while (list.count > this.perSlotMax) {
      this.drop(list.head)
      this.recycled++
    }
  }

  /** Notes a better TTL for a seen id, keeping its reverse path (and so its quota list) and its expiry time. */
  raiseTtl (key: string, ttl: number): void {
    if (ttl < 0 || ttl > TTL_MASK) throw new RangeError(`ttl ${ttl} does not fit ${TTL_BITS} bits`)
    const e = this.find(key, this.hash(key))
    if (e !== NONE) this.values[e] = (this.values[e]! & ~TTL_MASK) | ttl
  }

  /** Entries in the per-neighbour quota lists. */
  get quotaListed (): number {
    let n = 0
    for (const list of this.owned.values()) n += list.count
    return n
  }

  /** A neighbour left: its entries stay (they still stop replays), its quota list goes. */
  forgetSlot (slot: number): void {
    const list = this.owned.get(slot)
    if (list === undefined) return
    for (let e = list.head; e !== NONE;) {
      const n = this.slotNext[e]!
      this.slotPrev[e] = UNLISTED
      e = n
    }
    this.owned.delete(slot)
  }

  get size (): number {
    return this.age.count
  }

  /** The bucket of a hash: its high bits scaled to the table (any size, no modulo). */
  private bucket (h: number): number {
    return Math.floor((h >>> 0) * this.buckets / 0x1_0000_0000)
  }

  /** Moves `base` up to `now`, so relative expiries stay far from the Int32 limit. */
  private rebase (now: number): void {
    const shift = Math.floor(now - this.base)
    for (let e = this.age.head; e !== NONE; e = this.next[e]!) this.expires[e] = Math.max(this.expires[e]! - shift, -REBASE_AFTER)
    this.base += shift
  }

  /** A seeded mix of the key's four 32-bit words (murmur3's finaliser per word). */
  private hash (key: string): number {
    if (key.length !== KEY_LENGTH) throw new RangeError(`seen-cache keys are ${KEY_LENGTH} characters, not ${key.length}`)
    let h = this.seed[4]!
    for (let i = 0; i < KEY_LENGTH; i += 4) {
      h = mixWord(h, key.charCodeAt(i) | (key.charCodeAt(i + 1) << 8) | (key.charCodeAt(i + 2) << 16) | (key.charCodeAt(i + 3) << 24), this.seed[i >> 2]!, i)
    }
    return h ^ (h >>> 15)
  }

  /**
   * The same hash, of a stored entry's key (one byte per character: keys come from `idKey`, so
   * the two agree). Recomputed where a deletion or a growth needs an entry's home bucket rather
   * than stored: 4 bytes an entry (0.8 MB on a full default cache) for one hash per entry of the
   * probe run a deletion closes, a few on average at this load.
   */
  private hashAt (e: number): number {
    const k = this.keys
    const o = e * KEY_LENGTH
    let h = this.seed[4]!
    for (let i = 0; i < KEY_LENGTH; i += 4) {
      h = mixWord(h, k[o + i]! | (k[o + i + 1]! << 8) | (k[o + i + 2]! << 16) | (k[o + i + 3]! << 24), this.seed[i >> 2]!, i)
    }
    return h ^ (h >>> 15)
  }

  private find (key: string, h: number): number {
    for (let i = this.bucket(h); ; i = i + 1 === this.buckets ? 0 : i + 1) {
      const e = this.table[i]! - 1
      if (e === NONE) return NONE
      if (this.keyIs(e, key)) return e
    }
  }

  private keyIs (e: number, key: string): boolean {
    const o = e * KEY_LENGTH
    for (let i = 0; i < KEY_LENGTH; i++) if (this.keys[o + i] !== key.charCodeAt(i)) return false
    return true
  }

  private insert (e: number, h: number): void {
    let i = this.bucket(h)
    while (this.table[i] !== 0) i = i + 1 === this.buckets ? 0 : i + 1
    this.table[i] = e + 1
  }

  /** Removes an entry from the table, the age list and its quota list. */
  private drop (e: number): void {
    let i = this.bucket(this.hashAt(e))
    while (this.table[i] !== e + 1) i = i + 1 === this.buckets ? 0 : i + 1
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    for (let j = i + 1 === this.buckets ? 0 : i + 1; this.table[j] !== 0; j = j + 1 === this.buckets ? 0 : j + 1) {
      const home = this.bucket(this.hashAt(this.table[j]! - 1))
      const stays = i <= j ? (home > i && home <= j) : (home > i || home <= j)
      if (!stays) {
        this.table[i] = this.table[j]!
        i = j
      }
    }
    this.table[i] = 0
    remove(this.prev, this.next, this.age, e)
    this.unlistSlot(e)
    this.free.push(e)
  }

  private allocate (): number {
    const reused = this.free.pop()
    if (reused !== undefined) return reused
    if (this.used === this.capacity) this.grow()
    return this.used++
  }

  /** Doubles the entry arrays (up to `max`) and rebuilds the table. */
  private grow (): void {
    const capacity = Math.min(this.max, Math.max(FIRST_CAPACITY, this.capacity * 2))
    const more = <T extends Uint8Array | Int32Array>(old: T, make: (n: number) => T, width = 1): T => {
      const a = make(capacity * width)
      a.set(old)
      return a
    }
    this.keys = more(this.keys, n => new Uint8Array(n), KEY_LENGTH)
    this.values = more(this.values, n => new Int32Array(n))
    this.expires = more(this.expires, n => new Int32Array(n))
    this.slotPrev = more(this.slotPrev, n => new Int32Array(n).fill(UNLISTED))
    this.slotNext = more(this.slotNext, n => new Int32Array(n))
    this.prev = more(this.prev, n => new Int32Array(n))
    this.next = more(this.next, n => new Int32Array(n))
    this.capacity = capacity
    this.buckets = Math.ceil(capacity * 3 / 2)
    this.table = new Int32Array(this.buckets)
    for (let e = this.age.head; e !== NONE; e = this.next[e]!) this.insert(e, this.hashAt(e))
  }

  /** Takes an entry out of its neighbour's list, if it is in one. */
  private unlistSlot (e: number): void {
    if (this.slotPrev[e] === UNLISTED) return
    remove(this.slotPrev, this.slotNext, this.owned.get(slotOf(this.values[e]!))!, e)
    this.slotPrev[e] = UNLISTED
  }
}
