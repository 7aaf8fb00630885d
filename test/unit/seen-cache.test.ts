/** The seen cache's per-neighbour quota lists stay about as large as the cache itself. */
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { SeenCache, slotOf } from '../../src/flood/seen-cache.ts'
import { Prng } from '../../src/sim/prng.ts'
import { idKey } from '../../src/wire/tmsg.ts'

describe('seen cache quota lists', () => {
  it('forget keys the cache evicted by size, so ten busy neighbours keep no dead keys alive', () => {
    const cache = new SeenCache({ max: 1000, ttlMs: 60_000, now: () => 0, perSlotMax: 800 })
    for (let i = 0; i < 50_000; i++) cache.remember(idKey(randomBytes(16)), 1 + (i % 10), 7)
    expect(cache.size).toBe(1000)
    // Exactly one list entry per live key.
    expect(cache.quotaListed).toBe(1000)
    expect(cache.recycled).toBe(0) // no neighbour ever owned more than its quota
  })

  it('forget keys that aged out', () => {
    let now = 0
    const cache = new SeenCache({ max: 100_000, ttlMs: 500, now: () => now, perSlotMax: 50_000 })
    for (let second = 0; second < 20; second++) {
      for (let i = 0; i < 1000; i++) {
        now = 1_000_000 + second * 1000 + i
        cache.remember(idKey(randomBytes(16)), 1 + (i % 2), 7)
      }
    }
    // 20,000 ids of which those of the last ~1.5 s are not yet expired.
    expect(cache.quotaListed).toBeLessThanOrEqual(1500 + 2)
    expect(cache.quotaListed).toBe(cache.size)
  })

  it('still recycle a neighbour\'s own oldest entries past its quota', () => {
    const cache = new SeenCache({ max: 1000, ttlMs: 60_000, now: () => 0, perSlotMax: 100 })
    const first = idKey(randomBytes(16))
    cache.remember(first, 1, 7)
    for (let i = 0; i < 500; i++) cache.remember(idKey(randomBytes(16)), 1, 7)
    expect(cache.get(first)).toBeUndefined()
    expect(cache.size).toBe(100)
    expect(cache.recycled).toBe(401)
  })
})

describe('seen cache expiry over a long uptime', () => {
  it('keeps exact expiry times across the rebase of its 32-bit relative clock', () => {
    let now = 1_000_000
    const cache = new SeenCache({ max: 1000, ttlMs: 60_000, now: () => now })
    const rememberNew = (slot: number): string => {
      const key = idKey(randomBytes(16))
      cache.remember(key, slot, 7)
      return key
    }
    // Seen through its last millisecond, forgotten the next.
    const expectExpiry = (key: string, at: number): void => {
      now = at
      expect(cache.get(key)).toBeDefined()
      now = at + 1
      expect(cache.get(key)).toBeUndefined()
    }
    const early = rememberNew(1)
    // Twelve days on: the last id remembered before the relative clock is moved up...
    now += 2 ** 30 - 60_000
    const beforeAt = now
    const before = rememberNew(2)
    expect(cache.get(early)).toBeUndefined()
    // ...and the first one after (this call moves it).
    now += 1
    const after = rememberNew(3)
    expectExpiry(before, beforeAt + 60_000)
    expectExpiry(after, beforeAt + 60_001)
    // Another twelve days later it still counts right.
    now += 2 ** 30
    expectExpiry(rememberNew(1), now + 60_000)
  })
})

describe('seen cache against a plain model', () => {
  // The same rules written the obvious way: a Map in age order, and for each neighbour the keys
  // it brought in, oldest first (a key is in the list of the neighbour it last came through).
  class Model {
    readonly map = new Map<string, { value: number, expires: number }>()
    readonly owned = new Map<number, string[]>()
    recycled = 0
    readonly max: number
    readonly ttlMs: number
    readonly perSlotMax: number
    constructor (max: number, ttlMs: number, perSlotMax: number) {
      this.max = max
      this.ttlMs = ttlMs
      this.perSlotMax = perSlotMax
    }

    private delete (key: string): void {
      const e = this.map.get(key)
      if (e === undefined) return
      this.map.delete(key)
      const list = this.owned.get(slotOf(e.value))
      const i = list?.indexOf(key) ?? -1
      if (i >= 0) list!.splice(i, 1)
    }

    get (key: string, now: number): number | undefined {
      const e = this.map.get(key)
      if (e === undefined) return undefined
      if (e.expires < now) { this.delete(key); return undefined }
      return e.value
    }

    remember (key: string, slot: number, ttl: number, now: number): void {
      for (const [k, e] of this.map) { if (e.expires >= now) break; this.delete(k) }
      if (this.map.has(key)) this.delete(key)
      else if (this.map.size >= this.max) this.delete(this.map.keys().next().value!)
      // Whole milliseconds, rounded up, as the cache keeps them.
      this.map.set(key, { value: (slot << 5) | ttl, expires: Math.ceil(now + this.ttlMs) })
      if (slot === 0) return
      const list = this.owned.get(slot) ?? []
      this.owned.set(slot, list)
      list.push(key)
      while (list.length > this.perSlotMax) {
        this.delete(list[0]!)
        this.recycled++
      }
    }

    listed (): number {
      let n = 0
      for (const list of this.owned.values()) n += list.length
      return n
    }
  }

  it('remembers, expires, evicts and recycles exactly as the model does', () => {
    for (const seed of [1, 2, 3]) {
      const rng = new Prng(seed)
      let now = 1_000_000
      // Past the first 1,024 entries, so the arrays and the table grow with entries listed;
      // small enough that probe runs wrap and deletions shift within them all the time.
      const cache = new SeenCache({ max: 2_500, ttlMs: 20_000, now: () => now, perSlotMax: 500 })
      const model = new Model(2_500, 20_000, 500)
      const pool = Array.from({ length: 5_000 }, (_, i) => idKey(new Prng(seed * 10_000 + i).bytes(16)))
      for (let step = 0; step < 30_000; step++) {
        // Now and then days go by (everything expires; the relative clock is rebased), and
        // the clock is fractional, as the simulator's is.
        now += rng.next() < 0.0001 ? 2 ** 30 : rng.next() * 3
        const key = pool[Math.floor(rng.next() * pool.length)]!
        const r = rng.next()
        if (r < 0.5) {
          const slot = Math.floor(rng.next() * 4) // 0 is this node: no quota
          const ttl = 1 + Math.floor(rng.next() * 7)
          cache.remember(key, slot, ttl)
          model.remember(key, slot, ttl, now)
        } else if (r < 0.6) {
          const e = cache.get(key)
          if (e !== undefined) cache.raiseTtl(key, 9)
          const m = model.map.get(key)
          if (m !== undefined && m.expires >= now) m.value = (slotOf(m.value) << 5) | 9
          else model.get(key, now)
        } else if (r < 0.601) {
          // A neighbour leaves: its entries stay, its list goes; its slot may come back.
          const slot = 1 + Math.floor(rng.next() * 3)
          cache.forgetSlot(slot)
          model.owned.delete(slot)
        } else {
          expect(cache.get(key)).toBe(model.get(key, now))
        }
        expect(cache.size).toBe(model.map.size)
        expect(cache.quotaListed).toBe(model.listed())
      }
      expect(cache.recycled).toBe(model.recycled)
      expect(cache.recycled).toBeGreaterThan(0)
      for (const key of pool) expect(cache.get(key)).toBe(model.get(key, now))
    }
  })
})
