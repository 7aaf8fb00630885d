import { describe, expect, it } from 'vitest'
import { Harness, hex, msg, stripPrefix, T0 } from '../helpers/router-harness.ts'
import { encodeFrameUnit, encodeTMsg, computeMsgId } from '../../src/wire/index.ts'

describe('flood router decisions', () => {
  it('forwards a new message to every neighbour except the sender, with ttl-1 and hops+1', () => {
    const h = new Harness()
    const [a, b, c] = h.connect('A', 'B', 'C')
    const m = msg({ ttl: 5 })
    h.receive('A', m)
    expect(a!.messages()).toHaveLength(0)
    for (const l of [b!, c!]) {
      const [out] = l.messages()
      expect(hex(out!.msgId)).toBe(hex(m.msgId))
      expect([out!.ttl, out!.hops]).toEqual([4, 1])
    }
    expect(h.router.stats()).toMatchObject({ received: 1, forwarded: 2, duplicates: 0, delivered: 0 })
  })

  it('drops duplicates: second copy is neither forwarded nor delivered', () => {
    const h = new Harness()
    h.connect('A', 'B', 'C')
    const m = msg({ ttl: 5 })
    h.subscribed.add(hex(m.target))
    h.receive('A', m)
    h.receive('B', { ...m, ttl: 4, hops: 1 })
    expect(h.delivered).toHaveLength(1)
    expect(h.delivered[0]!.from).toBe('A')
    expect(h.link('C').messages()).toHaveLength(1)
    expect(h.link('A').messages()).toHaveLength(0)
    expect(h.router.stats().duplicates).toBe(1)
  })

  it('delivers a hit with TTL 1 but does not forward it', () => {
    const h = new Harness()
    h.connect('A', 'B')
    const m = msg({ ttl: 1 })
    h.subscribed.add(hex(m.target))
    h.receive('A', m)
    expect(h.delivered).toHaveLength(1)
    expect(h.link('B').messages()).toHaveLength(0)
    expect(h.router.stats().expired).toBe(1)
  })

  it('forwards again a duplicate carrying more TTL than the best copy, but delivers once', () => {
    const h = new Harness()
    h.connect('A', 'B', 'C')
    const m = msg({ ttl: 7 })
    h.subscribed.add(hex(m.target))
    h.receive('A', { ...m, ttl: 2, hops: 5 }) // slow, short-TTL copy first
    expect(h.link('C').messages().map(x => x.ttl)).toEqual([1])
    h.receive('B', { ...m, ttl: 6, hops: 1 }) // better copy: forwarded again with ttl 5
    expect(h.link('C').messages().map(x => x.ttl)).toEqual([1, 5])
    expect(h.link('A').messages().map(x => x.ttl)).toEqual([5])
    expect(h.link('B').messages().map(x => x.ttl)).toEqual([1])
    h.receive('C', { ...m, ttl: 4, hops: 3 }) // worse than the best: dropped
    expect(h.link('A').messages()).toHaveLength(1)
    expect(h.delivered).toHaveLength(1)
    expect(h.router.stats()).toMatchObject({ reforwarded: 1, duplicates: 2 })
  })

  it('does not re-forward a higher-TTL copy whose id does not match its content', () => {
    const h = new Harness()
    h.connect('A', 'B', 'C')
    const m = msg({ ttl: 7 })
    h.receive('A', { ...m, ttl: 2, hops: 5 })
    h.receive('B', { ...m, ttl: 6, hops: 1, payload: Buffer.from('forged') })
    expect(h.link('C').messages()).toHaveLength(1)
    expect(h.router.stats().invalidReasons['msg-id-mismatch']).toBe(1)
  })

  it('routes a reply only back along the reverse path of its request', () => {
    const h = new Harness()
    h.connect('A', 'B', 'C', 'D')
    const req = msg({ ttl: 5 })
    h.receive('A', req)
    for (const id of ['A', 'B', 'C', 'D']) h.link(id).clear()
    const reply = msg({ ttl: 5, replyTo: req.msgId, target: req.msgId })
    h.receive('C', reply)
    expect(h.link('A').messages().map(x => [hex(x.msgId), x.ttl, x.hops])).toEqual([[hex(reply.msgId), 4, 1]])
    for (const id of ['B', 'C', 'D']) expect(h.link(id).messages()).toHaveLength(0)
  })

  it('treats a reply to its own request as a hit and does not forward it', () => {
    const h = new Harness()
    h.connect('A', 'B')
    const req = msg({ ttl: 5 })
    h.router.publish(req)
    h.flush()
    h.link('A').clear(); h.link('B').clear()
    const reply = msg({ ttl: 5, replyTo: req.msgId, target: req.msgId })
    h.receive('B', reply)
    expect(h.delivered.map(d => hex(d.msg.msgId))).toEqual([hex(reply.msgId)])
    expect(h.link('A').messages()).toHaveLength(0)
  })

  it('floods a reply when the request neighbour is gone, and drops a reply to an unknown request', () => {
    const h = new Harness()
    h.connect('A', 'B', 'C')
    const req = msg({ ttl: 5 })
    h.receive('A', req)
    h.router.removeNeighbour('A')
    h.link('B').clear(); h.link('C').clear()
    h.receive('B', msg({ ttl: 5, replyTo: req.msgId, target: req.msgId }))
    expect(h.link('C').messages()).toHaveLength(1)
    expect(h.link('B').messages()).toHaveLength(0)
    h.receive('B', msg({ ttl: 5, replyTo: Buffer.alloc(16, 9), target: Buffer.alloc(16, 9) }))
    expect(h.link('C').messages()).toHaveLength(1)
    expect(h.router.stats().drops.unknownReply).toBe(1)
  })

  it('puts its own messages in the seen cache first: a copy looping back is a duplicate', () => {
    const h = new Harness()
    h.connect('A', 'B')
    const m = msg({ ttl: 7 })
    h.subscribed.add(hex(m.target))
    expect(h.router.publish(m).neighbours).toBe(2)
    h.flush()
    h.receive('B', { ...m, ttl: 5, hops: 2 })
    expect(h.delivered).toHaveLength(0)
    expect(h.link('A').messages()).toHaveLength(1) // only the original publish
    expect(h.router.stats()).toMatchObject({ sent: 2, duplicates: 1, forwarded: 0 })
  })

  it('coalesces the units read in one turn into one outbound unit per neighbour', () => {
    const h = new Harness()
    const [, , c, d] = h.connect('A', 'B', 'C', 'D')
    const unit = (): Uint8Array => stripPrefix(encodeFrameUnit(Array.from({ length: 50 }, () => encodeTMsg(msg()))))
    h.router.receiveUnit('A', unit())
    h.router.receiveUnit('B', unit())
    expect(c!.units).toHaveLength(0) // waits for the end of the turn
    h.flush()
    expect(c!.units).toHaveLength(1)
    expect(c!.messages()).toHaveLength(100)
    // C and D were queued the same copies: one unit, encoded once, written to both.
    expect(d!.units[0]).toBe(c!.units[0])
    expect(h.link('A').messages()).toHaveLength(50) // B's only
  })

  it('forwards at once when a full unit is waiting', () => {
    const h = new Harness()
    h.connect('A', 'B')
    const msgs = Array.from({ length: 1000 }, () => msg()) // MAX_FRAME_MSGS
    h.router.receiveUnit('A', stripPrefix(encodeFrameUnit(msgs.map(m => encodeTMsg(m))))) // no scheduled flush needed
    expect(h.link('B').messages()).toHaveLength(1000)
  })

  it('forwards at once, before its own checks, when it delivers part of the unit', () => {
    const h = new Harness()
    h.connect('A', 'B')
    const m = msg()
    h.subscribed.add(hex(m.target))
    h.router.receiveUnit('A', stripPrefix(encodeFrameUnit([encodeTMsg(m)]))) // no scheduled flush needed
    expect(h.link('B').messages()).toHaveLength(1)
    expect(h.delivered).toHaveLength(1)
  })

  it('batches own messages published in one turn into one unit', () => {
    const h = new Harness()
    h.connect('A')
    for (let i = 0; i < 30; i++) h.router.publish(msg())
    expect(h.link('A').units).toHaveLength(0) // waits for the scheduled flush
    h.flush()
    expect(h.link('A').units).toHaveLength(1)
    expect(h.link('A').messages()).toHaveLength(30)
  })
})

describe('outbound flow control', () => {
  // Unsigned, so every message has exactly the same size (DER signatures vary by a byte or two).
  const umsg = (o: Parameters<typeof msg>[0] = {}): ReturnType<typeof msg> => msg({ signer: undefined, ...o })

  it('holds messages while the transport wants a drain, then sends them', () => {
    const h = new Harness()
    const [, b] = h.connect('A', 'B')
    b!.accept = false
    h.receive('A', msg())
    h.receive('A', msg())
    expect(b!.units).toHaveLength(1) // first write accepted into the stream's buffer, then blocked
    expect(h.router.neighbourStats().find(n => n.peerId === 'B')!.queuedMessages).toBe(1)
    b!.accept = true
    h.router.drained('B')
    h.flush()
    expect(b!.messages()).toHaveLength(2)
  })

  it('a stalled neighbour does not hold back the others', () => {
    const h = new Harness()
    const [, slow, fast] = h.connect('A', 'SLOW', 'FAST')
    slow!.accept = false
    for (let i = 0; i < 100; i++) h.receive('A', msg())
    expect(fast!.messages()).toHaveLength(100)
    expect(slow!.units).toHaveLength(1)
  })

  it('on overflow drops the most-travelled broadcasts first and never own messages', () => {
    const one = encodeTMsg(umsg()).length
    const h = new Harness({ queue: { maxBytes: one * 4 + 10, maxPriorityBytes: one * 100 } })
    const [, b] = h.connect('A', 'B')
    b!.accept = false
    h.receive('A', umsg()) // written, then B blocks
    const byHops = [1, 6, 3, 6, 2].map(hops => umsg({ hops, ttl: 8 }))
    h.receive('A', ...byHops) // 5 queued into room for 4: the first hops-7 copy (oldest most-travelled) goes
    const own = umsg()
    h.router.publish(own) // evicts the next most-travelled
    h.flush()
    b!.accept = true
    h.router.drained('B')
    h.flush()
    const sent = b!.messages().slice(1)
    expect(sent.map(m => m.hops)).toEqual([0, 2, 3, 4]) // own first, then least-travelled first
    expect(hex(sent[0]!.msgId)).toBe(hex(own.msgId))
    expect(h.router.stats().drops.queueOverflow).toBe(2)
  })

  it('reports backlog only when no neighbour can take more own messages', () => {
    const one = encodeTMsg(umsg()).length
    const h = new Harness({ queue: { maxBytes: one * 100, maxPriorityBytes: one * 3 } })
    const [a, b] = h.connect('A', 'B')
    a!.accept = false
    b!.accept = false
    expect(h.router.backlogged(one)).toBe(false)
    h.router.publish(umsg())
    h.flush() // written, and now both links wait for a drain
    for (let i = 0; i < 3; i++) h.router.publish(umsg()) // these three fill both queues
    h.flush()
    expect(h.router.backlogged(one)).toBe(true)
    b!.accept = true
    h.router.drained('B')
    h.flush()
    expect(h.router.backlogged(one)).toBe(false) // one neighbour drained: sending is useful again
  })

  it('shares one total among the neighbours\' queues: more neighbours, a smaller share each', () => {
    const one = encodeTMsg(umsg()).length + 4 // a relayed copy carries hops, a few bytes more
    const h = new Harness({ queue: { maxBytes: one * 100, totalBytes: one * 10, maxPriorityBytes: one * 100 } })
    const links = h.connect('A', 'B', 'C', 'D', 'E') // 5 neighbours: 2 messages' worth each
    for (const l of links.slice(1)) l.accept = false
    h.receive('A', umsg()) // written to each, then they block
    h.receive('A', ...Array.from({ length: 20 }, () => umsg()))
    const queued = (): number[] => h.router.neighbourStats().filter(n => n.peerId !== 'A').map(n => n.queuedMessages)
    expect(queued()).toEqual([2, 2, 2, 2])
    expect(h.router.neighbourStats().reduce((sum, n) => sum + n.queuedBytes, 0)).toBeLessThanOrEqual(one * 10)
    // Three leave: the two left share the total, 5 messages' worth each.
    for (const p of ['C', 'D', 'E']) h.router.removeNeighbour(p)
    h.receive('A', ...Array.from({ length: 20 }, () => umsg()))
    expect(queued()).toEqual([5])
  })

  it('refuses a broadcast that travelled further than everything queued', () => {
    const one = encodeTMsg(umsg()).length
    const h = new Harness({ queue: { maxBytes: one * 2 + 4, maxPriorityBytes: one * 100 } })
    const [, b] = h.connect('A', 'B')
    b!.accept = false
    h.receive('A', umsg())
    h.receive('A', umsg({ hops: 1 }), umsg({ hops: 1 }), umsg({ hops: 5, ttl: 8 }))
    b!.accept = true
    h.router.drained('B')
    h.flush()
    expect(b!.messages().slice(1).map(m => m.hops)).toEqual([2, 2])
  })
})

describe('rate limits and penalties', () => {
  it('drops messages over the per-neighbour token bucket and counts them', () => {
    const h = new Harness({ rateLimit: { messagesPerSecond: 10, burst: 5 } })
    h.connect('A', 'B')
    h.receive('A', ...Array.from({ length: 8 }, () => msg()))
    expect(h.link('B').messages()).toHaveLength(5)
    expect(h.router.stats().drops.rateLimited).toBe(3)
    h.now += 200 // two tokens later
    h.receive('A', msg(), msg(), msg())
    expect(h.link('B').messages()).toHaveLength(7)
  })

  it('counts invalid messages, then bans and disconnects a repeat offender', () => {
    const h = new Harness()
    h.connect('A', 'B')
    const bad = Array.from({ length: 19 }, () => ({ ...msg(), payload: Buffer.from('forged') }))
    h.receive('A', ...bad)
    expect(h.router.stats().invalid).toBe(19)
    expect(h.router.isBanned('A')).toBe(false)
    h.receive('A', { ...msg(), ttl: 0 })
    expect(h.router.isBanned('A')).toBe(true)
    expect(h.link('A').disconnected).toMatch(/banned/)
    expect(h.bans).toEqual(['A'])
    h.receive('A', msg()) // gone: ignored
    expect(h.link('B').messages()).toHaveLength(0)
    h.now += 10 * 60_000 + 1
    expect(h.router.isBanned('A')).toBe(false)
  })

  it('treats garbage bytes as a malformed frame, heavily penalised', () => {
    const h = new Harness()
    h.connect('A')
    for (let i = 0; i < 4; i++) h.router.receiveUnit('A', Buffer.from([0x0a, 0xff, 0xff, 0x01]))
    expect(h.router.isBanned('A')).toBe(true)
    expect(h.router.stats().invalidReasons.malformed).toBe(4)
  })

  it('forgets penalties over time: occasional mistakes never add up to a ban', () => {
    const h = new Harness()
    h.connect('A')
    for (let i = 0; i < 100; i++) {
      h.receive('A', { ...msg(), ttl: 0 })
      h.now += 10_000
    }
    expect(h.router.isBanned('A')).toBe(false)
  })

  it('rejects stale timestamps without treating an honest relay as hostile', () => {
    const h = new Harness()
    h.connect('A', 'B')
    const stale = msg({ timestamp: T0 - 11 * 60_000 })
    stale.msgId = computeMsgId(stale)
    h.receive('A', ...Array.from({ length: 50 }, () => stale))
    expect(h.router.stats().invalidReasons['timestamp-out-of-window']).toBe(50)
    expect(h.router.isBanned('A')).toBe(false)
    expect(h.link('B').messages()).toHaveLength(0)
  })
})
