/**
 * The seen cache (DESIGN §5 step 2–3): msg_id → (reverse-path neighbour, best TTL seen),
 * bounded by count and by time. The pair is packed into one small integer.
 *
 * Entries live in typed arrays — the id's 16 bytes, the packed value, the expiry, the links of
 * the age list — indexed by a hash table of entry numbers. A relay at 10,000 msg/s fills the
 * default 200,000 entries in 20 s: held as 16-character strings in a Map with lru-cache's
 * lists they were ~23 MB of heap objects every major GC walks (and their churn pushed RSS up
 * further); here they are ~11 MB of flat arrays, grown by doubling as the cache fills.
 */
import { randomFillSync } from 'node:crypto'
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

/** Keys are msg_id strings from `idKey`: 16 characters, one byte each. */
const KEY_LENGTH = 16
const FIRST_CAPACITY = 1024
const NONE = -1

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

/** The entries one neighbour slot brought in, oldest first: entry number and its serial. */
interface Owned { entries: Fifo<number>, serials: Fifo<number> }

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
  private expires = new Float64Array(0)
  private hashes = new Int32Array(0)
  /** Bumped whenever an entry number is (re)used, so a quota list can tell a stale reference. */
  private serials = new Int32Array(0)
  /** The age list, oldest at `head`: the order entries expire and are evicted in. */
  private prev = new Int32Array(0)
  private next = new Int32Array(0)
  /** Open addressing with linear probing: entry + 1, 0 empty; at most half full. */
  private table = new Int32Array(0)
  private mask = 0
  private head = NONE
  private tail = NONE
  private count = 0
  /** Entry numbers below this were handed out at least once. */
  private used = 0
  private readonly free: number[] = []
  private serial = 0
  private readonly owned = new Map<number, Owned>()
  /** Entries a neighbour's quota pushed out (its own). */
  recycled = 0

  constructor (init: SeenCacheInit) {
    this.max = Math.max(1, init.max)
    this.ttlMs = init.ttlMs
    this.now = init.now
    this.perSlotMax = init.perSlotMax ?? Infinity
    this.seed = randomFillSync(new Uint32Array(5))
    this.grow()
  }

  /** The packed entry for a key (see slotOf/ttlOf), or undefined if never seen or expired. */
  get (key: string): number | undefined {
    const e = this.find(key, this.hash(key))
    if (e === NONE) return undefined
    if (this.expires[e]! < this.now()) {
      this.drop(e)
      return undefined
    }
    return this.values[e]
  }

  remember (key: string, slot: number, ttl: number): void {
    const now = this.now()
    while (this.head !== NONE && this.expires[this.head]! < now) this.drop(this.head)
    const h = this.hash(key)
    let e = this.find(key, h)
    if (e === NONE) {
      if (this.count >= this.max) this.drop(this.head)
      e = this.allocate()
      for (let i = 0; i < KEY_LENGTH; i++) this.keys[e * KEY_LENGTH + i] = key.charCodeAt(i)
      this.hashes[e] = h
      this.insert(e, h)
      this.count++
    } else {
      this.unlink(e)
    }
    // Seen again as new (an id from history, say): it starts its time over, newest.
    this.values[e] = (slot << TTL_BITS) | ttl
    this.expires[e] = now + this.ttlMs
    this.serials[e] = this.serial = (this.serial + 1) | 0
    this.linkTail(e)
    if (slot === SELF_SLOT || this.perSlotMax === Infinity) return
    let list = this.owned.get(slot)
    if (list === undefined) {
      list = { entries: new Fifo(), serials: new Fifo() }
      this.owned.set(slot, list)
    }
    list.entries.push(e)
    list.serials.push(this.serials[e]!)
    // Entries the cache already let go (evicted by its size or age) leave the list too, or the
    // lists of 50 busy neighbours would keep millions of dead references: the cache empties
    // oldest first, so looking at the head is enough to keep each list near the number of
    // entries its neighbour really owns.
    while (list.entries.length > 0 && !this.owns(list.entries.peek()!, list.serials.peek()!, slot)) {
      list.entries.shift()
      list.serials.shift()
    }
    while (list.entries.length > this.perSlotMax) {
      const old = list.entries.shift()!
      if (this.owns(old, list.serials.shift()!, slot)) {
        this.drop(old)
        this.recycled++
      }
    }
  }

  /** Notes a better TTL for a seen id, keeping its reverse path and its expiry time. */
  raiseTtl (key: string, entry: number, ttl: number): void {
    const e = this.find(key, this.hash(key))
    if (e !== NONE) this.values[e] = (slotOf(entry) << TTL_BITS) | ttl
  }

  /** Keys held by the per-neighbour quota lists, live or not yet trimmed. */
  get quotaListed (): number {
    let n = 0
    for (const list of this.owned.values()) n += list.entries.length
    return n
  }

  /** A neighbour left: its entries stay (they still stop replays), its quota list goes. */
  forgetSlot (slot: number): void {
    this.owned.delete(slot)
  }

  get size (): number {
    return this.count
  }

  private owns (e: number, serial: number, slot: number): boolean {
    return this.serials[e] === serial && slotOf(this.values[e]!) === slot
  }

  /** A seeded mix of the key's four 32-bit words (murmur3's finaliser per word). */
  private hash (key: string): number {
    if (key.length !== KEY_LENGTH) throw new RangeError(`seen-cache keys are ${KEY_LENGTH} characters, not ${key.length}`)
    let h = this.seed[4]!
    for (let i = 0; i < KEY_LENGTH; i += 4) {
      let w = (key.charCodeAt(i) | (key.charCodeAt(i + 1) << 8) | (key.charCodeAt(i + 2) << 16) | (key.charCodeAt(i + 3) << 24)) ^ this.seed[i >> 2]!
      w = Math.imul(w ^ (w >>> 16), 0x85ebca6b)
      w = Math.imul(w ^ (w >>> 13), 0xc2b2ae35)
      h = Math.imul(h ^ w ^ (w >>> 16), 0x9e3779b1) + i
    }
    return h ^ (h >>> 15)
  }

  private find (key: string, h: number): number {
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const e = this.table[i]! - 1
      if (e === NONE) return NONE
      if (this.hashes[e] === h && this.keyIs(e, key)) return e
    }
  }

  private keyIs (e: number, key: string): boolean {
    const o = e * KEY_LENGTH
    for (let i = 0; i < KEY_LENGTH; i++) if (this.keys[o + i] !== key.charCodeAt(i)) return false
    return true
  }

  private insert (e: number, h: number): void {
    let i = h & this.mask
    while (this.table[i] !== 0) i = (i + 1) & this.mask
    this.table[i] = e + 1
  }

  /** Removes an entry from the table, the age list and the quota lists (its serial changes). */
  private drop (e: number): void {
    let i = this.hashes[e]! & this.mask
    while (this.table[i] !== e + 1) i = (i + 1) & this.mask
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    for (let j = (i + 1) & this.mask; this.table[j] !== 0; j = (j + 1) & this.mask) {
      const home = this.hashes[this.table[j]! - 1]! & this.mask
      const stays = i <= j ? (home > i && home <= j) : (home > i || home <= j)
      if (!stays) {
        this.table[i] = this.table[j]!
        i = j
      }
    }
    this.table[i] = 0
    this.unlink(e)
    this.serials[e] = this.serial = (this.serial + 1) | 0
    this.free.push(e)
    this.count--
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
    const more = <T extends Uint8Array | Int32Array | Float64Array>(old: T, make: (n: number) => T, width = 1): T => {
      const a = make(capacity * width)
      a.set(old)
      return a
    }
    this.keys = more(this.keys, n => new Uint8Array(n), KEY_LENGTH)
    this.values = more(this.values, n => new Int32Array(n))
    this.expires = more(this.expires, n => new Float64Array(n))
    this.hashes = more(this.hashes, n => new Int32Array(n))
    this.serials = more(this.serials, n => new Int32Array(n))
    this.prev = more(this.prev, n => new Int32Array(n))
    this.next = more(this.next, n => new Int32Array(n))
    this.capacity = capacity
    let size = 1
    while (size < 2 * capacity) size *= 2
    this.table = new Int32Array(size)
    this.mask = size - 1
    for (let e = this.head; e !== NONE; e = this.next[e]!) this.insert(e, this.hashes[e]!)
  }

  private linkTail (e: number): void {
    this.prev[e] = this.tail
    this.next[e] = NONE
    if (this.tail === NONE) this.head = e
    else this.next[this.tail] = e
    this.tail = e
  }

  private unlink (e: number): void {
    const p = this.prev[e]!
    const n = this.next[e]!
    if (p === NONE) this.head = n
    else this.next[p] = n
    if (n === NONE) this.tail = p
    else this.prev[n] = p
  }
}
