/**
 * `npm run soak [-- --minutes 10]` (not part of `npm test`): a small network of real nodes
 * (TCP loopback, default limits) under mixed load for a while — honest signed chat from every
 * node, a neighbour spamming valid messages at 100× its budget (reconnecting when banned), a
 * peer sending garbage, and churn (a node leaves, a fresh one joins, every minute). Prints
 * delivered/lost, latency p50/p99, RSS over time and drops by reason. Asserts nothing.
 *
 * All nodes run in this one process, so the RSS printed is theirs together (6 nodes + the
 * attackers), not one node's. Nodes run without mDNS: each joins through three random
 * others, and one left with fewer than two neighbours after a departure dials another.
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { TmsgNode } from '../src/node/node.ts'
import { Identity } from '../src/identity.ts'
import { rawTarget } from '../src/targets.ts'
import { buildTMsg, encodeFrameUnit, encodeTMsg, Kind, toHex } from '../src/wire/index.ts'
import { FloodPeer } from '../test/helpers/flood-peer.ts'

const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : d
}
const MINUTES = arg('minutes', 10)
const NODES = 6
const HONEST_PER_NODE_PER_S = 2
const GRACE_MS = 5000 // a message counts as lost if a node alive throughout has not got it by then

const room = rawTarget(randomBytes(16))
interface Live { node: TmsgNode, since: number, until?: number, got: Set<string> }
const live: Live[] = []
const sent = new Map<string, { at: number, from: TmsgNode }>()
const latencies: number[] = []
const totals: Record<string, number> = {}
process.on('uncaughtException', err => { totals[`uncaught ${err.name}`] = (totals[`uncaught ${err.name}`] ?? 0) + 1 })

async function spawnNode (): Promise<Live> {
  const node = await TmsgNode.create({ identity: Identity.generate(), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, minPeers: 0, maxPeers: 16 })
  await node.start()
  node.subscribe(room)
  const l: Live = { node, since: performance.now(), got: new Set() }
  node.on('delivery', d => {
    if (d.from === 'self') return
    const id = toHex(d.msg.msgId)
    const s = sent.get(id)
    if (s === undefined) return
    l.got.add(id)
    latencies.push(performance.now() - s.at)
  })
  // Three random neighbours, as discovery would give it (the nodes run without mDNS).
  const others = live.filter(x => x.until === undefined).sort(() => Math.random() - 0.5)
  for (const o of others.slice(0, 3)) await node.connect(o.node.dialableAddress()).catch(() => {})
  live.push(l)
  return l
}

function addStats (n: TmsgNode): void {
  const s = n.stats()
  for (const [k, v] of Object.entries(s.drops)) totals[`drop ${k}`] = (totals[`drop ${k}`] ?? 0) + v
  for (const [k, v] of Object.entries(s.invalidReasons)) totals[`invalid ${k}`] = (totals[`invalid ${k}`] ?? 0) + v
  totals.bans = (totals.bans ?? 0) + s.banned
}

for (let i = 0; i < NODES; i++) await spawnNode()
const spammer = await FloodPeer.start()
const junk = await FloodPeer.start()
const victim = (): Live => live.find(x => x.until === undefined)!
let spamAddr = ''
let junkAddr = ''
const attach = async (p: FloodPeer): Promise<string> => {
  const addr = victim().node.dialableAddress()
  try { await p.connect(addr) } catch { return '' }
  return addr
}
spamAddr = await attach(spammer)
junkAddr = await attach(junk)

const t0 = performance.now()
const end = t0 + MINUTES * 60_000
let nextHonest = t0
let nextReport = t0 + 10_000
let nextChurn = t0 + 60_000
let nextReattach = t0 + 30_000
let spamSent = 0
console.log(`soak: ${NODES} nodes, ${MINUTES} min, ${NODES * HONEST_PER_NODE_PER_S} honest msg/s, spam at 100,000 msg/s offered, garbage 10 frames/s, churn every 60 s`)
console.log('   t(s)  RSS MB  heap MB  sent  delivered  lost')
while (performance.now() < end) {
  const now = performance.now()
  if (now >= nextHonest) {
    for (const l of live) {
      if (l.until !== undefined) continue
      try {
        const r = l.node.send({ target: room.id, payload: Buffer.from(`hello ${now}`), kind: Kind.DATA })
        sent.set(r.msgId, { at: now, from: l.node })
      } catch {}
    }
    nextHonest += 1000 / HONEST_PER_NODE_PER_S
  }
  // 100× the default 1,000 msg/s budget: 1,000 unique unsigned messages per 10 ms.
  if (spamAddr !== '') {
    try {
      spammer.sendRaw(spamAddr, encodeFrameUnit(Array.from({ length: 1000 }, () => encodeTMsg(buildTMsg({ target: randomBytes(16), payload: randomBytes(32), kind: Kind.DATA })))))
      spamSent += 1000
    } catch { spamAddr = '' }
  }
  if (junkAddr !== '') {
    try { junk.sendRaw(junkAddr, randomBytes(1 + Math.floor(Math.random() * 2000))) } catch { junkAddr = '' }
  }
  if (now >= nextReattach) {
    if (spamAddr === '') spamAddr = await attach(spammer)
    if (junkAddr === '') junkAddr = await attach(junk)
    nextReattach += 30_000
  }
  if (now >= nextChurn) {
    const alive = live.filter(x => x.until === undefined)
    const leaving = alive[1 + Math.floor(Math.random() * (alive.length - 1))]!
    leaving.until = now
    addStats(leaving.node)
    await leaving.node.stop()
    await spawnNode()
    // Like the keeper with discovery: a node left with fewer than 2 neighbours dials another.
    for (const l of live.filter(x => x.until === undefined)) {
      if (l.node.peers().length >= 2) continue
      const other = live.filter(x => x.until === undefined && x !== l).sort(() => Math.random() - 0.5)[0]
      if (other !== undefined) await l.node.connect(other.node.dialableAddress()).catch(() => {})
    }
    nextChurn += 60_000
  }
  if (now >= nextReport) {
    const { delivered, lost } = tally(now)
    const m = process.memoryUsage()
    console.log(`${((now - t0) / 1000).toFixed(0).padStart(7)} ${(m.rss / 2 ** 20).toFixed(0).padStart(7)} ${(m.heapUsed / 2 ** 20).toFixed(0).padStart(8)} ${String(sent.size).padStart(5)} ${String(delivered).padStart(10)} ${String(lost).padStart(5)}`)
    nextReport += 10_000
  }
  await new Promise(resolve => setTimeout(resolve, 10))
}

/** Deliveries expected: every node alive from the send until GRACE_MS after it, except the sender. */
function tally (now: number): { delivered: number, lost: number } {
  let delivered = 0
  let lost = 0
  for (const [id, s] of sent) {
    if (now - s.at < GRACE_MS) continue
    for (const l of live) {
      if (l.node === s.from || l.since > s.at || (l.until !== undefined && l.until < s.at + GRACE_MS)) continue
      if (l.got.has(id)) delivered++
      else lost++
    }
  }
  return { delivered, lost }
}

await new Promise(resolve => setTimeout(resolve, GRACE_MS))
const { delivered, lost } = tally(performance.now())
for (const l of live) if (l.until === undefined) addStats(l.node)
latencies.sort((a, b) => a - b)
const pct = (p: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN).toFixed(1)
console.log(`honest messages sent ${sent.size}; deliveries ${delivered} of ${delivered + lost} expected (${(100 * delivered / Math.max(1, delivered + lost)).toFixed(2)}%), lost ${lost}`)
console.log(`latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms; spam offered ${spamSent}`)
console.log('drops and invalid by reason (summed over nodes):', JSON.stringify(totals))
await Promise.all([...live.filter(l => l.until === undefined).map(async l => { await l.node.stop() }), spammer.stop(), junk.stop()])
process.exit(0)
