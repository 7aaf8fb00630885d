/** The ring behind the outbound queues and the seen cache's quota lists keeps strict FIFO order. */
import { describe, expect, it } from 'vitest'
import { Fifo } from '../../src/flood/fifo.ts'
import { Prng } from '../../src/sim/prng.ts'

describe('Fifo', () => {
  it('matches a plain array through growth, wrap-around and shrinking', () => {
    const rng = new Prng(7)
    const fifo = new Fifo<number>()
    const model: number[] = []
    let next = 0
    // Phases of mostly pushing and mostly shifting, so the ring wraps, doubles to 8k and
    // halves again on the way down.
    for (let phase = 0; phase < 6; phase++) {
      const pushShare = phase % 2 === 0 ? 0.8 : 0.2
      for (let i = 0; i < 10_000; i++) {
        if (rng.next() < pushShare) {
          fifo.push(next)
          model.push(next++)
        } else {
          expect(fifo.peek()).toBe(model[0])
          expect(fifo.shift()).toBe(model.shift())
        }
        expect(fifo.length).toBe(model.length)
      }
    }
    while (model.length > 0) expect(fifo.shift()).toBe(model.shift())
    expect(fifo.shift()).toBeUndefined()
    expect(fifo.peek()).toBeUndefined()
    expect(fifo.length).toBe(0)
  })
})
