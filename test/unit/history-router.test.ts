/**
 * The router's side of store and forward (DESIGN §10): every new valid message is handed to
 * the store; history answers are validated (except the time window), delivered once and never
 * forwarded; junk in them is charged to the peer that sent it.
 */
import { describe, expect, it } from 'vitest'
import { Harness, hex, msg, T0 } from '../helpers/router-harness.ts'

const HOUR = 3_600_000

describe('router: store-and-forward seam', () => {
  it('hands every new valid flooded message to the store once, subscribed or not', () => {
    const h = new Harness()
    h.connect('A', 'B')
    const m = msg()
    h.receive('A', m)
    h.receive('B', m)
    h.receive('A', { ...msg(), msgId: new Uint8Array(16) }) // id does not match its content
    expect(h.accepted.map(a => [hex(a.msg.msgId), a.from])).toEqual([[hex(m.msgId), 'A']])
  })

  it('delivers an old history message once, marked as history, and forwards nothing', () => {
    const h = new Harness()
    const [a, b] = h.connect('A', 'B')
    const old = msg({ timestamp: T0 - 5 * HOUR })
    h.subscribed.add(hex(old.target))
    const r1 = h.router.ingestHistory('A', [old])
    const r2 = h.router.ingestHistory('B', [old])
    h.flush()
    expect(r1).toEqual({ accepted: 1, duplicates: 0, invalid: 0 })
    expect(r2).toEqual({ accepted: 0, duplicates: 1, invalid: 0 })
    expect(h.delivered.map(d => [hex(d.msg.msgId), d.history])).toEqual([[hex(old.msgId), true]])
    expect(h.accepted).toHaveLength(1)
    expect(a!.units).toHaveLength(0)
    expect(b!.units).toHaveLength(0)
    // The same message flooded later (a stale copy) is not delivered again either.
    h.receive('B', old)
    expect(h.delivered).toHaveLength(1)
  })

  it('does not deliver from history what the flood already delivered', () => {
    const h = new Harness()
    h.connect('A', 'B')
    const m = msg()
    h.subscribed.add(hex(m.target))
    h.receive('A', m)
    expect(h.router.ingestHistory('B', [m])).toEqual({ accepted: 0, duplicates: 1, invalid: 0 })
    expect(h.delivered).toHaveLength(1)
  })

  it('stores but does not deliver history for targets not subscribed here', () => {
    const h = new Harness()
    h.connect('A')
    const r = h.router.ingestHistory('A', [msg({ timestamp: T0 - HOUR })])
    expect(r.accepted).toBe(1)
    expect(h.accepted).toHaveLength(1)
    expect(h.delivered).toHaveLength(0)
  })

  it('charges junk and refused messages to the answering peer, and bans a persistent one', () => {
    const h = new Harness()
    h.connect('A', 'B')
    const good = msg({ timestamp: T0 - HOUR })
    const forged = { ...msg({ timestamp: T0 - HOUR }), payload: Buffer.from('tampered') }
    const r = h.router.ingestHistory('A', [forged, good], m => hex(m.msgId) !== hex(good.msgId))
    expect(r).toEqual({ accepted: 0, duplicates: 0, invalid: 2 })
    expect(h.router.stats().invalidReasons).toMatchObject({ 'msg-id-mismatch': 1, 'history-unrequested': 1 })
    expect(h.accepted).toHaveLength(0)
    const junk = Array.from({ length: 40 }, () => ({ ...msg({ timestamp: T0 - HOUR }), msgId: new Uint8Array(16).fill(1) }))
    h.router.ingestHistory('A', junk)
    expect(h.bans).toEqual(['A'])
    expect(h.router.isBanned('A')).toBe(true)
    expect(h.link('A').disconnected).toMatch(/banned/)
    // Anything else from a banned peer's answer is ignored.
    expect(h.router.ingestHistory('A', [good]).accepted).toBe(0)
    expect(h.router.ingestHistory('B', [good]).accepted).toBe(1)
  })
})
