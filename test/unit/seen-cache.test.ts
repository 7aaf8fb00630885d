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
    // One list entry per live key, plus at most the one just pushed per neighbour.
    expect(cache.quotaListed).toBeLessThanOrEqual(1000 + 10)
    expect(cache.recycled).toBe(0) // no neighbour ever owned more than its quota
  })

  it('forget keys that aged out', async () => {
    let now = 0
    const cache = new SeenCache({ max: 100_000, ttlMs: 500, now: () => now, perSlotMax: 50_000 })
    for (let second = 0; second < 20; second++) {
      for (let i = 0; i < 1000; i++) {
        now = 1_000_000 + second * 1000 + i
        cache.remember(idKey(randomBytes(16)), 1 + (i % 2), 7)
      }
      // lru-cache reads the clock once per event-loop turn (ttlResolution): let it tick.
      await new Promise(resolve => setTimeout(resolve, 2))
    }
    // 20,000 ids of which those of the last ~1.5 s are not yet expired.
    expect(cache.quotaListed).toBeLessThanOrEqual(1500 + 2)
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

describe('seen cache against a plain model', () => {
  // The same rules written the obvious way: a Map in age order, quota lists of (key, incarnation).
  class Model {
    readonly map = new Map<string, { value: number, expires: number, life: number }>()
    readonly owned = new Map<number, Array<{ key: string, life: number }>>()
    recycled = 0
    private life = 0
    readonly max: number
    readonly ttlMs: number
    readonly perSlotMax: number
    constructor (max: number, ttlMs: number, perSlotMax: number) {
      this.max = max
      this.ttlMs = ttlMs
      this.perSlotMax = perSlotMax
    }

    private owns (o: { key: string, life: number }, slot: number): boolean {
      const e = this.map.get(o.key)
      return e !== undefined && e.life === o.life && slotOf(e.value) === slot
    }

    get (key: string, now: number): number | undefined {
      const e = this.map.get(key)
      if (e === undefined) return undefined
      if (e.expires < now) { this.map.delete(key); return undefined }
      return e.value
    }

    remember (key: string, slot: number, ttl: number, now: number): void {
      for (const [k, e] of this.map) { if (e.expires >= now) break; this.map.delete(k) }
      if (!this.map.delete(key) && this.map.size >= this.max) this.map.delete(this.map.keys().next().value!)
      const life = ++this.life
      this.map.set(key, { value: (slot << 5) | ttl, expires: now + this.ttlMs, life })
      if (slot === 0) return
      const list = this.owned.get(slot) ?? []
      this.owned.set(slot, list)
      list.push({ key, life })
      while (list.length > 0 && !this.owns(list[0]!, slot)) list.shift()
      while (list.length > this.perSlotMax) {
        const old = list.shift()!
        if (this.owns(old, slot)) { this.map.delete(old.key); this.recycled++ }
      }
    }
  }

  it('remembers, expires, evicts and recycles exactly as the model does', () => {
    for (const seed of [1, 2, 3]) {
      const rng = new Prng(seed)
      let now = 1_000_000
      // Small enough that the table grows, wraps and deletes inside probe runs all the time.
      const cache = new SeenCache({ max: 300, ttlMs: 5_000, now: () => now, perSlotMax: 120 })
      const model = new Model(300, 5_000, 120)
      const pool = Array.from({ length: 600 }, (_, i) => idKey(new Prng(seed * 1000 + i).bytes(16)))
      for (let step = 0; step < 20_000; step++) {
        now += Math.floor(rng.next() * 3)
        const key = pool[Math.floor(rng.next() * pool.length)]!
        const r = rng.next()
        if (r < 0.5) {
          const slot = Math.floor(rng.next() * 4) // 0 is this node: no quota
          const ttl = 1 + Math.floor(rng.next() * 7)
          cache.remember(key, slot, ttl)
          model.remember(key, slot, ttl, now)
        } else if (r < 0.6) {
          const e = cache.get(key)
          if (e !== undefined) cache.raiseTtl(key, e, 9)
          const m = model.map.get(key)
          if (m !== undefined && m.expires >= now) m.value = (slotOf(m.value) << 5) | 9
          else model.get(key, now)
        } else {
          expect(cache.get(key)).toBe(model.get(key, now))
        }
        expect(cache.size).toBe(model.map.size)
      }
      expect(cache.recycled).toBe(model.recycled)
      expect(cache.recycled).toBeGreaterThan(0)
      for (const key of pool) expect(cache.get(key)).toBe(model.get(key, now))
    }
  })
})
