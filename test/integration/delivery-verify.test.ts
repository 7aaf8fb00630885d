/**
 * Deliveries verify their signatures off the event loop (libuv's thread pool) and in parallel,
 * yet reach applications in the order the router handed them over, each with the right
 * `verified` flag; a node that drops unverified messages drops exactly the forged ones.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { PrivateKey } from '@bsv/sdk'
import { TmsgNode } from '../../src/node/node.ts'
import { Identity } from '../../src/identity.ts'
import { rawTarget } from '../../src/targets.ts'
import { FloodPeer, makeMessage } from '../helpers/flood-peer.ts'
import type { PeerMsg } from '../helpers/flood-peer.ts'
import { waitFor } from '../helpers/wait.ts'

const stops: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

/** 60 messages, every third with a signature by a key other than its sender's (msg_id still matches). */
function batch (target: Uint8Array): Array<{ m: PeerMsg, forged: boolean }> {
  const stranger = PrivateKey.fromRandom()
  return Array.from({ length: 60 }, (_, i) => {
    const m = makeMessage({ target, payload: Buffer.from(`m${i}`) })
    const forged = i % 3 === 2
    if (forged) m.signature = Buffer.from(stranger.sign([...randomBytes(32)]).toDER() as number[])
    return { m, forged }
  })
}

async function nodeWithPeer (dropUnverified: boolean, maxChecksInFlight?: number): Promise<{ node: TmsgNode, peer: FloodPeer, addr: string, target: Uint8Array, got: Array<{ text: string, verified: boolean }> }> {
  const node = await TmsgNode.create({ identity: Identity.generate(), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dropUnverified, ...(maxChecksInFlight !== undefined ? { maxChecksInFlight } : {}) })
  await node.start()
  stops.push(async () => { await node.stop() })
  const target = rawTarget(randomBytes(16))
  node.subscribe(target)
  const got: Array<{ text: string, verified: boolean }> = []
  node.on('delivery', d => got.push({ text: Buffer.from(d.msg.payload).toString(), verified: d.verified }))
  const peer = await FloodPeer.start()
  stops.push(async () => { await peer.stop() })
  const addr = node.dialableAddress()
  await peer.connect(addr)
  return { node, peer, addr, target: target.id, got }
}

describe('delivery with signature checks off the event loop', () => {
  it('keeps the router\'s order and flags each message by its own signature', async () => {
    const { peer, addr, target, got } = await nodeWithPeer(false)
    const msgs = batch(target)
    peer.send(addr, msgs.slice(0, 30).map(x => x.m)) // one frame: 30 checks in flight at once
    peer.send(addr, msgs.slice(30).map(x => x.m))
    await waitFor(() => got.length === msgs.length, 'every message delivered')
    expect(got.map(g => g.text)).toEqual(msgs.map((_, i) => `m${i}`))
    expect(got.map(g => g.verified)).toEqual(msgs.map(x => !x.forged))
  })

  it('past its bound of checks in flight checks on the loop, and keeps the order and the flags', async () => {
    const { peer, addr, target, got } = await nodeWithPeer(false, 4)
    const msgs = batch(target)
    peer.send(addr, msgs.map(x => x.m))
    await waitFor(() => got.length === msgs.length, 'every message delivered')
    expect(got.map(g => g.text)).toEqual(msgs.map((_, i) => `m${i}`))
    expect(got.map(g => g.verified)).toEqual(msgs.map(x => !x.forged))
  })

  it('drops exactly the forged ones when unverified messages are refused, and stop() waits for checks in flight', async () => {
    const { node, peer, addr, target, got } = await nodeWithPeer(true)
    const msgs = batch(target)
    peer.send(addr, msgs.map(x => x.m))
    await waitFor(() => node.stats().delivered === msgs.length, 'the router to hand every message over')
    await node.stop() // what the router handed over is delivered before stop() returns
    expect(got.map(g => g.text)).toEqual(msgs.flatMap((x, i) => x.forged ? [] : [`m${i}`]))
    expect(got.every(g => g.verified)).toBe(true)
  })
})
