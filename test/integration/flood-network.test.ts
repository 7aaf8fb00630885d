/**
 * Real TmsgNodes over @libp2p/memory (full Noise + Yamux). Waits are bounded conditions; "the
 * network is quiet" is exact for the flood router: every copy queued by anyone (sent +
 * forwarded) has been received by someone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { link, startNetwork, stopAll } from '../helpers/network.ts'
import type { TestNode } from '../helpers/network.ts'
import { waitFor } from '../helpers/wait.ts'
import { channelTarget, rawTarget } from '../../src/targets.ts'
import { Kind, toHex } from '../../src/wire/index.ts'
import type { RouterName } from '../../src/routing.ts'

function totals (nodes: TestNode[]): { queued: number, received: number } {
  let queued = 0
  let received = 0
  for (const n of nodes) {
    const s = n.node.stats()
    queued += s.sent + s.forwarded
    received += s.received
  }
  return { queued, received }
}

async function quiet (nodes: TestNode[]): Promise<void> {
  await waitFor(() => { const t = totals(nodes); return t.queued === t.received }, 'the network to be quiet')
  // Received is not yet delivered: each hit's signature is checked on the thread pool first,
  // and one node's check may finish after a later hop's.
  await Promise.all(nodes.map(async n => { await n.node.settled() }))
}

function deliveredIds (n: TestNode): string[] {
  return n.deliveries.map(d => toHex(d.msg.msgId))
}

/** A connected random graph: a random spanning tree plus extra random edges. */
function randomGraph (n: number, extra: number, seed: number): Array<[number, number]> {
  let s = seed
  const rnd = (k: number): number => { s = (s * 1103515245 + 12345) % 2 ** 31; return s % k }
  const edges = new Set<string>()
  const add = (a: number, b: number): void => { if (a !== b) edges.add(a < b ? `${a}-${b}` : `${b}-${a}`) }
  for (let i = 1; i < n; i++) add(i, rnd(i))
  while (edges.size < n - 1 + extra) add(rnd(n), rnd(n))
  return [...edges].map(e => e.split('-').map(Number) as [number, number])
}

/** Largest shortest-path distance: the TTL a flood needs to reach everyone. */
function diameter (n: number, edges: Array<[number, number]>): number {
  const adj = Array.from({ length: n }, () => [] as number[])
  for (const [a, b] of edges) { adj[a]!.push(b); adj[b]!.push(a) }
  let max = 0
  for (let s = 0; s < n; s++) {
    const dist = new Array<number>(n).fill(-1)
    dist[s] = 0
    const q = [s]
    while (q.length > 0) {
      const u = q.shift()!
      for (const v of adj[u]!) if (dist[v] === -1) { dist[v] = dist[u]! + 1; q.push(v) }
    }
    max = Math.max(max, ...dist)
  }
  return max
}

describe('a line of 8 flood nodes shows exactly the Gnutella TTL reach', () => {
  let nodes: TestNode[]
  const room = channelTarget('#line')
  beforeAll(async () => {
    nodes = await startNetwork(8, 'flood')
    for (let i = 0; i < 7; i++) await link(nodes[i]!, nodes[i + 1]!)
    for (const n of nodes) n.node.subscribe(room)
  })
  afterAll(async () => { await stopAll(nodes) })

  it.each([1, 3, 5, 7])('TTL %i reaches exactly the next that many nodes, with hops and ttl counted', async (ttl) => {
    const { msgId } = nodes[0]!.node.send({ target: room.id, payload: Buffer.from(`ttl ${ttl}`), kind: Kind.DATA, ttl })
    await waitFor(() => deliveredIds(nodes[ttl]!).includes(msgId), `node ${ttl} to receive`)
    await quiet(nodes)
    for (let i = 1; i < 8; i++) {
      const d = nodes[i]!.deliveries.filter(x => toHex(x.msg.msgId) === msgId)
      if (i <= ttl) {
        expect(d, `node ${i}`).toHaveLength(1)
        expect([d[0]!.msg.hops, d[0]!.msg.ttl]).toEqual([i - 1, ttl - (i - 1)])
      } else {
        expect(d, `node ${i}`).toHaveLength(0)
      }
    }
  })
})

describe.each(['flood', 'gossipsub'] as RouterName[])('20-node graphs deliver each message exactly once (%s)', (router) => {
  const shapes: Array<[string, Array<[number, number]>]> = [
    ['ring', Array.from({ length: 20 }, (_, i) => [i, (i + 1) % 20] as [number, number])],
    ['random', randomGraph(20, 20, 7)]
  ]
  it.each(shapes)('%s', async (_shape, edges) => {
    const nodes = await startNetwork(20, router)
    try {
      await Promise.all(edges.map(async ([a, b]) => { await link(nodes[a]!, nodes[b]!) }))
      const room = channelTarget('#graph')
      for (const n of nodes) n.node.subscribe(room)
      if (router === 'gossipsub') {
        await waitFor(() => nodes.every(n => (n.node.libp2p.services.pubsub?.getSubscribers('tmsg/v1').length ?? 0) > 0), 'gossipsub topic peers')
      }
      const ttl = Math.min(16, diameter(20, edges))
      const sent = [0, 5, 13].map(i => nodes[i]!.node.send({ target: room.id, payload: Buffer.from(`from ${i}`), kind: Kind.DATA, ttl }).msgId)
      await waitFor(() => nodes.every(n => sent.every(id => deliveredIds(n).includes(id))), 'every node to receive every message', 20_000)
      if (router === 'flood') await quiet(nodes)
      else {
        // Barrier: a last message reaches everyone after all earlier traffic on the same links.
        const last = nodes[0]!.node.send({ target: room.id, kind: Kind.DATA, ttl }).msgId
        await waitFor(() => nodes.every(n => deliveredIds(n).includes(last)), 'barrier message')
      }
      for (const n of nodes) {
        const ids = deliveredIds(n)
        expect(new Set(ids).size, 'no message delivered twice').toBe(ids.length)
      }
    } finally {
      await stopAll(nodes)
    }
  })
})

describe('replies travel only the reverse path of their request', () => {
  it('in a random 20-node flood graph, one copy per hop of the request path', async () => {
    const edges = randomGraph(20, 25, 11)
    const nodes = await startNetwork(20, 'flood')
    try {
      await Promise.all(edges.map(async ([a, b]) => { await link(nodes[a]!, nodes[b]!) }))
      const service = rawTarget('00112233445566778899aabbccddeeff')
      const [asker, answerer] = [nodes[3]!, nodes[15]!] // 4 hops apart in this graph
      answerer.node.subscribe(service)
      const req = asker.node.send({ target: service.id, kind: Kind.DATA, payload: Buffer.from('who?'), ttl: 16 })
      await waitFor(() => answerer.deliveries.length === 1, 'request to arrive')
      await quiet(nodes)
      const requestHops = answerer.deliveries[0]!.msg.hops
      expect(requestHops, "asker and answerer are not neighbours").toBeGreaterThanOrEqual(3)
      const before = totals(nodes)
      // Every node listens to the reply's target, so any node a copy reaches delivers it.
      const replyTarget = rawTarget(req.msg.msgId)
      for (const n of nodes) if (n !== asker) n.node.subscribe(replyTarget)
      answerer.node.send({ target: req.msg.msgId, replyTo: req.msg.msgId, kind: Kind.DATA, payload: Buffer.from('me'), ttl: 16 })
      await waitFor(() => asker.deliveries.some(d => toHex(d.msg.replyTo) === req.msgId), 'reply to arrive')
      await quiet(nodes)
      const copies = totals(nodes).queued - before.queued
      expect(copies).toBe(requestHops + 1) // one copy per link of the path
      const reply = asker.deliveries.find(d => toHex(d.msg.replyTo) === req.msgId)!
      expect(reply.msg.hops).toBe(requestHops)
      const relaysThatSawIt = nodes.filter(n => n !== asker && n !== answerer && n.deliveries.some(d => toHex(d.msg.replyTo) === req.msgId))
      expect(relaysThatSawIt).toHaveLength(requestHops)
      expect(copies).toBeLessThan(edges.length) // a flood would use every link at least once
    } finally {
      await stopAll(nodes)
    }
  })
})
