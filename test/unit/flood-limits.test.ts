/**
 * Limits that mean something (issue 11): the default budgets hold against a neighbour at
 * 100× its budget, a seen-cache eviction attempt, and forged duplicates. Clocks injected.
 */
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { Harness, hex, T0 } from '../helpers/router-harness.ts'
import { buildTMsg, encodeFrameUnit, encodeTMsg, Kind } from '../../src/wire/index.ts'
import type { TMsg } from '../../src/wire/index.ts'
import { stripPrefix } from '../helpers/router-harness.ts'
import { DEFAULT_RATE_MESSAGES_PER_SECOND } from '../../src/flood/constants.ts'

const room = randomBytes(16)
/** Unsigned (relays do not verify): cheap enough to build tens of thousands. */
const plain = (target: Uint8Array, timestamp: number): TMsg => buildTMsg({ target, payload: randomBytes(8), kind: Kind.DATA, timestamp })
const body = (msgs: TMsg[]): Uint8Array => stripPrefix(encodeFrameUnit(msgs.map(m => encodeTMsg(m))))

describe('per-neighbour budget (defaults)', () => {
  it('a neighbour at 100× its budget is throttled then banned while ≥ 99% of an honest 1 msg/s gets through', () => {
    const h = new Harness()
    h.connect('honest', 'spammer', 'C')
    h.subscribed.add(hex(room))
    const perTick = DEFAULT_RATE_MESSAGES_PER_SECOND * 100 / 100 // 100× the budget, in 10 ms ticks
    const spam = Array.from({ length: 20 }, () => body(Array.from({ length: perTick }, () => plain(randomBytes(16), T0))))
    const honestSent: string[] = []
    let spamToC = 0
    let throttledBeforeBan = 0
    for (let tick = 0; tick < 10_000; tick++) { // 100 s
      h.now = T0 + tick * 10
      if (tick % 100 === 0) {
        const m = plain(room, h.now)
        honestSent.push(hex(m.msgId))
        h.receive('honest', m)
      }
      if (h.bans.length === 0) throttledBeforeBan = h.router.stats().drops.rateLimited
      h.router.receiveUnit('spammer', spam[tick % spam.length]!)
      h.flush()
    }
    const delivered = new Set(h.delivered.filter(d => d.from === 'honest').map(d => hex(d.msg.msgId)))
    const honestDelivered = honestSent.filter(id => delivered.has(id)).length
    expect(honestDelivered / honestSent.length).toBeGreaterThanOrEqual(0.99)
    const toC = new Set(h.link('C').messages().map(m => hex(m.msgId)))
    expect(honestSent.filter(id => toC.has(id)).length / honestSent.length).toBeGreaterThanOrEqual(0.99)
    spamToC = toC.size - honestSent.filter(id => toC.has(id)).length
    expect(throttledBeforeBan).toBeGreaterThan(0) // throttled first …
    expect(h.bans).toEqual(['spammer']) // … then banned
    expect(h.router.isBanned('spammer')).toBe(true)
    expect(h.link('spammer').disconnected).toMatch(/banned/)
    // What got through before the ban is the burst plus a little: not 100× the budget.
    expect(spamToC).toBeLessThanOrEqual(2 * DEFAULT_RATE_MESSAGES_PER_SECOND + 100)
  })

  it('an honest neighbour at its full budget for a minute is never penalised', () => {
    const h = new Harness()
    h.connect('busy', 'C')
    for (let tick = 0; tick < 600; tick++) { // 60 s at exactly 1,000 msg/s in 100 ms ticks
      h.now = T0 + tick * 100
      h.router.receiveUnit('busy', body(Array.from({ length: DEFAULT_RATE_MESSAGES_PER_SECOND / 10 }, () => plain(randomBytes(16), h.now))))
    }
    expect(h.bans).toEqual([])
    expect(h.router.stats().drops.rateLimited).toBe(0)
  })
})

describe('seen cache under an eviction attempt', () => {
  const attack = (seenPerNeighbour: number): { replayedDelivered: number, replayedForwarded: number } => {
    const h = new Harness({ seenCacheMax: 2000, seenPerNeighbour, rateLimit: { messagesPerSecond: 1e9, burst: 1e9 } })
    h.connect('honest', 'spammer', 'C')
    h.subscribed.add(hex(room))
    const history = Array.from({ length: 300 }, () => plain(room, T0))
    h.receive('honest', ...history)
    for (let i = 0; i < 20; i++) h.receive('spammer', ...Array.from({ length: 1000 }, () => plain(randomBytes(16), T0)))
    const before = { delivered: h.delivered.length, toC: h.link('C').messages().length }
    h.receive('spammer', ...history) // replays of the honest history, within the 10-minute window
    return { replayedDelivered: h.delivered.length - before.delivered, replayedForwarded: h.link('C').messages().length - before.toC }
  }

  it('one neighbour flooding new ids recycles its own entries, so it cannot replay the others\' history', () => {
    expect(attack(500)).toEqual({ replayedDelivered: 0, replayedForwarded: 0 })
  })

  it('(control) without the per-neighbour quota the same attack replays the whole history', () => {
    expect(attack(Infinity)).toEqual({ replayedDelivered: 300, replayedForwarded: 300 })
  })
})

describe('forged duplicates', () => {
  it('are sampled often enough that a neighbour sending them is penalised and banned', () => {
    let i = 0
    const h = new Harness({ random: () => (i++ % 16) / 16 }) // checks exactly one in 16
    h.connect('honest', 'forger', 'C')
    const originals = Array.from({ length: 400 }, () => plain(randomBytes(16), T0))
    h.receive('honest', ...originals)
    // Same ids, other content: never forwarded (dropped as duplicates) and, when checked, caught.
    h.receive('forger', ...originals.map(m => ({ ...m, payload: Buffer.from('forged') })))
    expect(h.bans).toEqual(['forger'])
    expect(h.router.stats().invalidReasons['msg-id-mismatch']).toBeGreaterThanOrEqual(4)
    // Honest copies of seen ids (duplicates that match) are never penalised.
    const h2 = new Harness({ random: () => 0 }) // check every one
    h2.connect('a', 'b')
    const ms = Array.from({ length: 400 }, () => plain(randomBytes(16), T0))
    h2.receive('a', ...ms)
    h2.receive('b', ...ms)
    expect(h2.bans).toEqual([])
    expect(h2.router.stats().duplicates).toBe(400)
  })
})

describe('a node that stalls', () => {
  // 10 s of an honest neighbour at 500 msg/s, read all at once after our own event loop stalled.
  const backlog = (lagging: boolean): { rateLimited: number, bans: string[] } => {
    const h = new Harness({ lagging: () => lagging })
    h.connect('honest', 'C')
    for (let k = 0; k < 5; k++) h.receive('honest', ...Array.from({ length: 1000 }, () => plain(randomBytes(16), T0)))
    return { rateLimited: h.router.stats().drops.rateLimited, bans: h.bans }
  }

  it('drops what is over the budget but does not penalise the neighbour for a burst of its own making', () => {
    expect(backlog(true)).toEqual({ rateLimited: 3000, bans: [] })
  })

  it('(control) the same burst while the node keeps up is penalised to a ban', () => {
    expect(backlog(false).bans).toEqual(['honest']) // after 2,000 over the budget: 20 points
  })
})
