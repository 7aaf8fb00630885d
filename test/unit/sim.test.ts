import { describe, expect, it } from 'vitest'
import { DEFAULTS, randomGraph, simulate } from '../../src/sim/sim.ts'
import type { SimOptions } from '../../src/sim/sim.ts'
import { Prng } from '../../src/sim/prng.ts'

const small: SimOptions = { ...DEFAULTS, nodes: 40, degree: 4, msgs: 6, latency: { lo: 5, hi: 40 } }

describe('simulator (real flood router on a virtual clock)', () => {
  it('a flood costs exactly (Σ(deg−1) + 1)/(N−1) copies per delivery', () => {
    // Fixed latency and no serialisation delay: the first copy to reach a node came the fewest
    // hops, so no later copy carries more TTL and nothing is forwarded twice. Diameter < TTL.
    const edges: Array<[number, number]> = [[0, 1], [1, 2], [2, 3], [3, 0], [0, 2], [3, 4], [4, 5], [5, 6], [6, 3], [1, 5], [6, 7], [7, 8], [8, 6]]
    const n = 9
    const deg = new Array<number>(n).fill(0)
    for (const [a, b] of edges) { deg[a]!++; deg[b]!++ }
    const r = simulate({ ...DEFAULTS, nodes: n, msgs: 5, edges, latency: { lo: 10, hi: 10 }, bandwidthMbps: Infinity })
    expect(r.deliveryRatio).toBe(1)
    expect(r.deliveries).toBe(5 * (n - 1))
    // Each non-origin node forwards to all but the neighbour it heard from; the origin to all.
    const expected = (deg.reduce((s, d) => s + d - 1, 0) + 1) / (n - 1)
    expect(r.copiesPerDelivery).toBeCloseTo(expected, 3)
  })

  it('messages go out with each router\'s default TTL (flood 7, plumtree 10) unless --ttl says otherwise', () => {
    // A path of 12 nodes: how far a message gets is its TTL.
    const edges = Array.from({ length: 11 }, (_, i): [number, number] => [i, i + 1])
    const line = { ...DEFAULTS, nodes: 12, msgs: 20, edges, latency: { lo: 10, hi: 10 } }
    const flood = simulate({ ...line, router: 'flood' })
    const tree = simulate({ ...line, router: 'plumtree' })
    const tree7 = simulate({ ...line, router: 'plumtree', ttl: 7 })
    expect([flood.ttl, tree.ttl, tree7.ttl]).toEqual([7, 10, 7])
    expect(flood.ldhMax).toBe(7)
    expect(tree.ldhMax).toBe(10)
    expect(tree7.ldhMax).toBe(7)
    expect(tree.deliveryRatio).toBeGreaterThan(tree7.deliveryRatio)
  })

  it('the same seed gives the same figures; another seed other ones', () => {
    const a = simulate({ ...small, fail: 0.1, loss: 0.05, seed: 7 })
    const b = simulate({ ...small, fail: 0.1, loss: 0.05, seed: 7 })
    const c = simulate({ ...small, fail: 0.1, loss: 0.05, seed: 8 })
    expect(JSON.stringify(a)).toBe(JSON.stringify(b))
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a))
  })

  it('a partitioned graph delivers only within the part of the origin', () => {
    // Two rings of 6 with no edge between them.
    const ring = (o: number): Array<[number, number]> => Array.from({ length: 6 }, (_, i) => [o + i, o + (i + 1) % 6])
    const r = simulate({ ...DEFAULTS, nodes: 12, msgs: 8, edges: [...ring(0), ...ring(6)] })
    expect(r.deliveries).toBe(8 * 5) // each message reaches the 5 other nodes of its ring
    expect(r.deliveryRatio).toBeCloseTo(5 / 11, 5)
  })

  it('abrupt failures and loss cost deliveries, never duplicate them', () => {
    const r = simulate({ ...small, nodes: 60, msgs: 10, fail: 0.3, loss: 0.3, degree: 3 })
    expect(r.deliveryRatio).toBeLessThan(1)
    expect(r.deliveryRatio).toBeGreaterThan(0)
    expect(r.unitsLost).toBeGreaterThan(0)
  })

  it('random graphs are connected and close to the asked degree', () => {
    const n = 500
    const edges = randomGraph(n, 6, new Prng(3))
    const adj: number[][] = Array.from({ length: n }, () => [])
    for (const [a, b] of edges) { adj[a]!.push(b); adj[b]!.push(a) }
    expect(new Set(edges.map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`)).size).toBe(edges.length)
    expect(adj.every((x, i) => !x.includes(i))).toBe(true)
    expect(edges.length * 2 / n).toBeGreaterThan(5.9)
    const seen = new Set([0])
    const todo = [0]
    while (todo.length > 0) for (const b of adj[todo.pop()!]!) if (!seen.has(b)) { seen.add(b); todo.push(b) }
    expect(seen.size).toBe(n)
  })
})
