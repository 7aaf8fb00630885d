/**
 * Hostile input: random and mutated frames, at the router directly (thousands, every code
 * path) and at a live node over TCP from an attacking peer while an honest peer keeps talking.
 */
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import * as lp from 'it-length-prefixed'
import { Harness, msg, stripPrefix } from '../helpers/router-harness.ts'
import { encodeFrameUnit, encodeTMsg, toHex } from '../../src/wire/index.ts'
import { TmsgNode } from '../../src/node/node.ts'
import { Identity } from '../../src/identity.ts'
import { rawTarget } from '../../src/targets.ts'
import { FloodPeer, makeMessage } from '../helpers/flood-peer.ts'
import { waitFor } from '../helpers/wait.ts'
import { FrameType as FrameTypeForTest } from '../../src/wire/proto.ts'

/** Deterministic pseudo-random source, so a failure can be replayed. */
function prng (seed: number): (n: number) => number {
  let s = seed >>> 0
  return n => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s % n }
}

function mutate (valid: Uint8Array, rnd: (n: number) => number): Uint8Array {
  const b = Buffer.from(valid)
  switch (rnd(5)) {
    case 0: for (let i = 0; i < 1 + rnd(8); i++) b[rnd(b.length)] = rnd(256); return b
    case 1: return b.subarray(0, rnd(b.length))
    case 2: return Buffer.concat([b, randomBytes(rnd(64))])
    case 3: { const i = rnd(b.length); return Buffer.concat([b.subarray(0, i), randomBytes(rnd(16)), b.subarray(i)]) }
    default: return randomBytes(rnd(2048))
  }
}

describe('router fuzz', () => {
  it('survives 20,000 random and mutated units, counting every bad one, and bans repeat offenders', () => {
    const h = new Harness()
    h.connect('honest', 'out')
    const rnd = prng(42)
    const valid = stripPrefix(encodeFrameUnit([encodeTMsg(msg()), encodeTMsg(msg({ payload: randomBytes(500) }))]))
    // Each unit from a fresh peer, so bans do not hide later units from the decoder.
    for (let i = 0; i < 20_000; i++) {
      h.connect(`one-shot-${i}`)
      h.router.receiveUnit(`one-shot-${i}`, mutate(valid, rnd))
      h.router.removeNeighbour(`one-shot-${i}`)
      if (i % 1000 === 0) h.receive('honest', msg())
    }
    h.flush()
    const s = h.router.stats()
    expect(s.invalid).toBeGreaterThan(15_000)
    expect(h.link('out').messages().length).toBeGreaterThanOrEqual(20) // honest traffic kept flowing
    // A persistent attacker is banned after a handful of bad frames and then ignored.
    h.connect('persistent')
    for (let i = 0; i < 1000; i++) h.router.receiveUnit('persistent', randomBytes(1 + rnd(300)))
    expect(h.router.isBanned('persistent')).toBe(true)
    expect(h.link('persistent').disconnected).toMatch(/banned/)
    expect(h.router.stats().invalid - s.invalid).toBeLessThan(30)
  })
})

describe('a live node under attack over TCP', () => {
  it('stays up, counts invalid frames, bans the sender and still delivers honest messages', async () => {
    const node = await TmsgNode.create({ identity: Identity.generate(), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    await node.start()
    const target = rawTarget(randomBytes(16))
    node.subscribe(target)
    const delivered: string[] = []
    node.on('delivery', d => delivered.push(Buffer.from(d.msg.payload).toString()))
    const [attacker, honest] = [await FloodPeer.start(), await FloodPeer.start()]
    try {
      const addr = node.dialableAddress()
      await attacker.connect(addr)
      await honest.connect(addr)
      honest.send(addr, [makeMessage({ target: target.id, payload: Buffer.from('honest 0') })])
      await waitFor(() => delivered.includes('honest 0'), 'first honest message')

      const rnd = prng(7)
      const good = makeMessage({ target: target.id, payload: Buffer.from('template') })
      const body = (await import('../../src/wire/proto.ts')).FrameType.encode({ msgs: [good] }).finish()
      let sent = 0
      try {
        for (; sent < 3000; sent++) attacker.sendRaw(addr, lp.encode.single(mutate(body, rnd)).subarray())
      } catch {
        // the node closed the connection on us: that is the point
      }
      await waitFor(() => node.router.isBanned(attacker.libp2p.peerId.toString()), 'the attacker to be banned')
      await waitFor(() => attacker.libp2p.getConnections(node.libp2p.peerId).length === 0, 'the attacker to be disconnected')
      expect(node.stats().invalid).toBeGreaterThan(0)

      for (let i = 1; i <= 3; i++) honest.send(addr, [makeMessage({ target: target.id, payload: Buffer.from(`honest ${i}`) })])
      await waitFor(() => delivered.includes('honest 3'), 'honest messages after the attack')
      expect(delivered.filter(d => d.startsWith('honest'))).toEqual(['honest 0', 'honest 1', 'honest 2', 'honest 3'])

      await expect(attacker.connect(addr)).rejects.toThrow() // refused while banned
      expect(node.libp2p.status).toBe('started')
    } finally {
      await attacker.stop()
      await honest.stop()
      await node.stop()
    }
  })

  it('ignores a garbage length prefix by dropping that stream, without crashing', async () => {
    const node = await TmsgNode.create({ identity: Identity.generate(), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    await node.start()
    const target = rawTarget(randomBytes(16))
    node.subscribe(target)
    const delivered: string[] = []
    node.on('delivery', d => delivered.push(toHex(d.msg.msgId)))
    const peer = await FloodPeer.start()
    try {
      const addr = node.dialableAddress()
      await peer.connect(addr)
      peer.sendRaw(addr, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f])) // a 34 GB "frame"
      await waitFor(() => (node.stats().invalidReasons.malformed ?? 0) > 0, 'the bad prefix to be counted')
      // Same peer, new stream: still served.
      await peer.connect(addr)
      const m = makeMessage({ target: target.id, payload: Buffer.from('after garbage') })
      peer.send(addr, [m])
      await waitFor(() => delivered.includes(toHex(m.msgId)), 'a good message on a new stream')
    } finally {
      await peer.stop()
      await node.stop()
    }
  })
})

describe('large units', () => {
  it('accepts back-to-back units near the 1 MiB limit in one write', async () => {
    const node = await TmsgNode.create({ identity: Identity.generate(), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    await node.start()
    const target = rawTarget(randomBytes(16))
    node.subscribe(target)
    let delivered = 0
    node.on('delivery', () => { delivered++ })
    const peer = await FloodPeer.start()
    try {
      const addr = node.dialableAddress()
      await peer.connect(addr)
      // 3 units of 60 × 16 KiB messages (~1000 KB each), written as one chunk.
      const units = [0, 1, 2].map(() => {
        const msgs = Array.from({ length: 60 }, () => makeMessage({ target: target.id, payload: randomBytes(16_384) }))
        const body = FrameTypeForTest.encode({ msgs }).finish()
        return lp.encode.single(body).subarray()
      })
      peer.sendRaw(addr, Buffer.concat(units))
      await waitFor(() => delivered === 180, 'all 180 messages', 20_000)
      expect(node.stats().invalid).toBe(0)
    } finally {
      await peer.stop()
      await node.stop()
    }
  })
})
