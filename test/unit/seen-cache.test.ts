/** The seen cache's per-neighbour quota lists stay about as large as the cache itself. */
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { SeenCache } from '../../src/flood/seen-cache.ts'
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
