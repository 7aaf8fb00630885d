/**
 * `npm run bench -- --only=network`: 50 real TmsgNodes over TCP loopback in one process (ring
 * plus random edges to degree ≈ 6), 200 signed 100-byte messages at 10 msg/s from random nodes,
 * all nodes subscribed; optionally 10% of the nodes stopped when half the messages are out.
 * Same workload for flood, plumtree and gossipsub (DESIGN §11, issue 10).
 *
 * Figures: delivery ratio (nodes alive at the end, origin excluded); copies per delivery
 * (flood/plumtree: full TMsg copies the routers queued; gossipsub has no such counter, so its
 * figure is estimated from its /meshsub bytes ÷ the bytes of one message, and includes its
 * control traffic); wire bytes per delivery (every byte the process wrote to its sockets —
 * all 50 nodes' TCP traffic, Noise and Yamux included — from /proc/self/io); latency from the origin's
 * timestamp to each delivery (one clock: one process); RSS of the process at the end; CPU
 * time of the process while sending, per delivery.
 *
 * One process means one event loop for 50 nodes: every delivery's signature check (~0.3 ms)
 * and every hop's work queue behind each other. That is what the latency figures include.
 */
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import type { Registry } from 'prom-client'
import { TmsgNode } from '../src/node/node.ts'
import type { Delivery } from '../src/node/node.ts'
import { Identity } from '../src/identity.ts'
import { channelTarget } from '../src/targets.ts'
import { encodeTMsg, Kind, toHex } from '../src/wire/index.ts'
import type { RouterName } from '../src/routing.ts'
import { metricsRegistry } from '../src/metrics.ts'
import { randomGraph } from '../src/sim/sim.ts'
import { Prng } from '../src/sim/prng.ts'
import { PlumtreeRouter } from '../src/flood/plumtree.ts'

export interface NetworkOptions {
  nodes: number
  degree: number
  msgs: number
  perSecond: number
  payloadBytes: number
  /** Fraction of nodes stopped when half the messages are out. */
  fail: number
}

export const NETWORK_DEFAULTS: NetworkOptions = { nodes: 50, degree: 6, msgs: 200, perSecond: 10, payloadBytes: 100, fail: 0 }

export interface NetworkFigures {
  router: RouterName
  seed: number
  fail: number
  deliveryRatio: number
  copiesPerDelivery: number
  /** True when copies are estimated from bytes (gossipsub). */
  copiesEstimated: boolean
  wireBytesPerDelivery: number
  p50: number
  p90: number
  p99: number
  rssMB: number
  cpuUsPerDelivery: number
  /**
   * Plumtree: GRAFT requests sent after a timeout (retries included) and pull requests (for a
   * branch the TTL cut, or a copy with more TTL), per delivery: how often the tree needed repair.
   */
  repairsPerDelivery?: { graft: number, pull: number }
}

interface Member {
  node: TmsgNode
  registry: Registry
  got: Set<string>
  alive: boolean
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** libp2p's connection monitor pings every connection of a node at once, this often. */
const PING_INTERVAL_MS = 10_000

async function sequentially<T> (n: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < n; i++) out.push(await make(i))
  return out
}

async function meshsubSent (m: Member): Promise<number> {
  const metric = m.registry.getSingleMetric('libp2p_data_transfer_bytes_total')
  let out = 0
  if (metric === undefined) return out
  for (const v of (await metric.get()).values) {
    const p = String(v.labels.protocol ?? '')
    if (p.startsWith('/meshsub/') && p.endsWith(' sent')) out += v.value
  }
  return out
}

/**
 * Bytes this process wrote with write(2) and friends: with logging off and no store, that is
 * what its sockets sent — every node's TCP traffic, Noise and Yamux included (Linux only).
 */
function bytesWritten (): number {
  try {
    const m = /^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))
    return m === null ? NaN : Number(m[1])
  } catch {
    return NaN
  }
}

function percentile (sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!
}

export async function networkBench (router: RouterName, seed: number, o: NetworkOptions = NETWORK_DEFAULTS): Promise<NetworkFigures> {
  const rng = new Prng(seed)
  const room = channelTarget('#network-bench')
  // Started 10 s / N apart, as the nodes of a real network are, not all in one millisecond:
  // libp2p's connection monitor pings all of a node's connections at once every 10 s, so 50
  // nodes started together pinged all 300 connection ends in the same moment and stalled this
  // one event loop for 200-450 ms every 10 s (seen in a --cpu-prof profile) — most of every
  // router's p99 until then.
  const members: Member[] = await sequentially(o.nodes, async i => {
    if (i > 0) await sleep(PING_INTERVAL_MS / o.nodes)
    const { registry, libp2p } = metricsRegistry()
    const node = await TmsgNode.create({ identity: Identity.generate(), router, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, maxPeers: 64, minPeers: 0, libp2pMetrics: libp2p })
    await node.start()
    node.subscribe(room)
    return { node, registry, got: new Set<string>(), alive: true }
  })
  const latencies: number[] = []
  for (const m of members) {
    m.node.on('delivery', (d: Delivery) => {
      if (d.from === 'self') return
      m.got.add(toHex(d.msg.msgId))
      latencies.push(d.receivedAt - Number(d.msg.timestamp))
    })
  }
  const edges = randomGraph(o.nodes, o.degree, rng)
  // a few dials at a time: 150 Noise handshakes at once on one loaded event loop time out
  const queue = [...edges]
  // (and retried: a handshake can still miss libp2p's upgrade timeout on a busy machine)
  const connect = async (a: number, b: number): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await members[a]!.node.connect(members[b]!.node.dialableAddress(), 60_000)
      } catch (err: unknown) {
        if (attempt >= 5) throw err
        await sleep(500)
      }
    }
  }
  await Promise.all(Array.from({ length: 3 }, async () => {
    for (let e = queue.shift(); e !== undefined; e = queue.shift()) {
      const [a, b] = e
      const peer = await connect(a, b)
      await members[a]!.node.waitForNeighbour(peer, 30_000)
      await members[b]!.node.waitForNeighbour(members[a]!.node.peerId, 30_000)
    }
  }))
  // gossipsub needs its mesh (heartbeats every second) before a message can go anywhere
  if (router === 'gossipsub') await sleep(3000)
  const neighbours = (): string => {
    const c = members.filter(m => m.alive).map(m => m.node.peers().filter(p => p.neighbour).length)
    return `neighbours per live node: min ${Math.min(...c)}, mean ${(c.reduce((a, b) => a + b, 0) / c.length).toFixed(1)}`
  }
  console.error(`  ${router} seed ${seed}: ${edges.length} edges linked; ${neighbours()}`)

  const failing = new Set<number>()
  const order = Array.from({ length: o.nodes }, (_, i) => i)
  for (let i = order.length - 1; i > 0; i--) { const j = rng.int(i + 1); [order[i], order[j]] = [order[j]!, order[i]!] }
  for (const i of order.slice(0, Math.floor(o.fail * o.nodes))) failing.add(i)
  const senders = order.filter(i => !failing.has(i))

  const meshBefore = await Promise.all(members.map(meshsubSent))
  const wire0 = bytesWritten()
  const cpu0 = process.cpuUsage()
  const sent: Array<{ id: string, origin: number }> = []
  let messageBytes = 0
  const t0 = performance.now()
  for (let k = 0; k < o.msgs; k++) {
    if (k === Math.floor(o.msgs / 2)) {
      for (const i of failing) {
        members[i]!.alive = false
        await members[i]!.node.stop()
      }
    }
    const origin = senders[rng.int(senders.length)]!
    const { msgId, msg } = members[origin]!.node.send({ target: room.id, payload: rng.bytes(o.payloadBytes), kind: Kind.DATA })
    sent.push({ id: msgId, origin })
    messageBytes = encodeTMsg(msg).length
    const due = t0 + (k + 1) * 1000 / o.perSecond
    await sleep(Math.max(0, due - performance.now()))
  }
  const live = members.filter(m => m.alive)
  const missing = (): number => {
    let n = 0
    for (const s of sent) for (const [i, m] of members.entries()) if (m.alive && i !== s.origin && !m.got.has(s.id)) n++
    return n
  }
  // bounded wait for stragglers (GRAFT timeouts, a loaded event loop), then count what arrived
  for (let w = 0; w < 300 && missing() > 0; w++) await sleep(100)
  const cpu = process.cpuUsage(cpu0)
  // a starved event loop misses libp2p's pings and loses connections: say so
  console.error(`  ${router} seed ${seed}: at the end, ${neighbours()}`)
  const wire = bytesWritten() - wire0
  const meshAfter = await Promise.all(members.map(meshsubSent))

  let deliveries = 0
  let liveDeliveries = 0
  for (const m of members) {
    deliveries += m.got.size
    if (m.alive) liveDeliveries += m.got.size
  }
  let expected = 0
  for (const s of sent) expected += live.length - (members[s.origin]!.alive ? 1 : 0)
  let copies = 0
  let meshsub = 0
  let graft = 0
  let pull = 0
  for (const [i, m] of members.entries()) {
    const st = m.node.stats()
    copies += st.sent + st.forwarded
    meshsub += meshAfter[i]! - meshBefore[i]!
    if (m.node.router instanceof PlumtreeRouter) {
      const pt = m.node.router.plumtreeStats()
      graft += pt.graftSent
      pull += pt.pullSent
    }
  }
  const estimated = router === 'gossipsub'
  if (estimated) {
    // one message on /meshsub: the TMsg plus topic, RPC and length framing (~20 B)
    copies = meshsub > 0 ? meshsub / (messageBytes + 20) : NaN // NaN: libp2p did not report /meshsub bytes
  }
  const rssMB = process.memoryUsage().rss / 2 ** 20
  await Promise.all(live.map(async m => { await m.node.stop() }))
  latencies.sort((a, b) => a - b)
  return {
    router,
    seed,
    fail: o.fail,
    deliveryRatio: liveDeliveries / expected,
    copiesPerDelivery: copies / deliveries,
    copiesEstimated: estimated,
    wireBytesPerDelivery: wire / deliveries,
    p50: percentile(latencies, 0.5),
    p90: percentile(latencies, 0.9),
    p99: percentile(latencies, 0.99),
    rssMB,
    cpuUsPerDelivery: (cpu.user + cpu.system) / deliveries,
    ...(router === 'plumtree' ? { repairsPerDelivery: { graft: graft / deliveries, pull: pull / deliveries } } : {})
  }
}
