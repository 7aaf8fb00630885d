/**
 * `npm run bench`: the flood router and @libp2p/gossipsub side by side on TCP loopback, plus
 * the codec and seen-cache figures. Prints figures; asserts nothing.
 *
 *   relay      A → B → C, B in its own process: messages/s reaching C, and B's CPU per
 *              relayed message (relays do not verify signatures; messages unsigned, as in
 *              the reference figures in ../shared/notes/facts.md)
 *   signed     two nodes, every message signed by the sender and verified at delivery
 *   latency    a 5-hop chain (6 nodes, the 4 relays in their own processes), p50/p99
 *   history    store and forward: a reconnecting neighbour pulls 10,000 stored messages
 */
import { execFileSync, fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { TmsgNode } from '../src/node/node.ts'
import { Identity, verifySignature } from '../src/identity.ts'
import { rawTarget } from '../src/targets.ts'
import type { RouterName } from '../src/routing.ts'
import { buildTMsg, decodeTMsg, encodeTMsg, idBytes, Kind, msgIdMatches, idKey } from '../src/wire/index.ts'
import { TMsgType } from '../src/wire/proto.ts'
import { SeenCache } from '../src/flood/seen-cache.ts'
import { DEFAULT_SEEN_PER_NEIGHBOUR } from '../src/flood/constants.ts'
import type { WorkerReply, WorkerRequest } from './worker.ts'
import { BENCH_FLOOD } from './common.ts'
import { rawDataText } from '../src/rpc/ws.ts'
import { beefBench, layer2Bench, layer2StreamBench } from './layer2.ts'
import type { Layer2StreamFigures } from './layer2.ts'
import { directBench } from './direct.ts'
import { networkBench, NETWORK_DEFAULTS } from './network.ts'
import type { NetworkFigures } from './network.ts'
import { memoryBench } from './memory.ts'
import { historyBench } from './history.ts'
import type { HistoryFigures } from './history.ts'
import http from 'node:http'
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'

const ROUTERS: RouterName[] = ['flood', 'gossipsub']
const quick = process.argv.includes('--quick')

class Worker {
  private readonly proc: ChildProcess
  private pending: Array<(r: WorkerReply) => void> = []
  readonly ready: Promise<{ addr: string, peerId: string }>

  constructor (router: RouterName) {
    this.proc = fork(fileURLToPath(new URL('./worker.ts', import.meta.url)), [router], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...(process.env.BENCH_PROF !== undefined ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_PROF] : []), ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(f => f !== '') ?? [])] })
    this.ready = new Promise(resolve => {
      this.proc.once('message', (r: WorkerReply) => { if (r.type === 'ready') resolve(r) })
    })
    this.proc.on('message', (r: WorkerReply) => {
      if (r.type === 'ready') return
      this.pending.shift()?.(r)
    })
  }

  async request (req: WorkerRequest): Promise<WorkerReply> {
    return await new Promise(resolve => {
      this.pending.push(resolve)
      this.proc.send(req)
    })
  }

  async stats (): Promise<Extract<WorkerReply, { type: 'stats' }>> {
    return await this.request({ type: 'stats' }) as Extract<WorkerReply, { type: 'stats' }>
  }

  async stop (): Promise<void> {
    const exited = new Promise(resolve => this.proc.once('exit', resolve))
    this.proc.send({ type: 'stop' })
    await exited
  }
}

async function localNode (router: RouterName): Promise<TmsgNode> {
  const node = await TmsgNode.create({ identity: Identity.generate(), router, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, maxPeers: 64, minPeers: 0, flood: BENCH_FLOOD })
  await node.start()
  return node
}

const tick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Sends probes until one arrives: the path (and for gossipsub, the mesh) is up. */
async function warmUp (from: TmsgNode, target: Uint8Array, arrived: () => number | Promise<number>): Promise<void> {
  const before = await arrived()
  const deadline = Date.now() + 20_000
  while (await arrived() === before) {
    if (Date.now() > deadline) throw new Error('path never came up')
    from.send({ target, kind: Kind.DATA, payload: Buffer.from('probe') })
    await sleep(100)
  }
  await sleep(300)
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN
}

interface RelayResult { rate: number, cpuPerMsgUs: number, delivered: number, sent: number, rssMB: number }

async function relay (router: RouterName, payloadSize: number, count: number): Promise<RelayResult> {
  const b = new Worker(router)
  const [a, c] = [await localNode(router), await localNode(router)]
  const { addr } = await b.ready
  await a.connect(addr)
  await c.connect(addr)
  const target = rawTarget(randomBytes(16))
  c.subscribe(target)
  let delivered = 0
  c.on('delivery', () => { delivered++ })
  await warmUp(a, target.id, () => delivered)
  const msgs = Array.from({ length: count }, () => buildTMsg({ target: target.id, payload: randomBytes(payloadSize), kind: Kind.DATA }))
  // Respect the sender's own queue (own messages beyond 8 MiB are refused): ~4 MiB in flight.
  const window = Math.floor(4 * 2 ** 20 / (payloadSize + 100))
  const before = await b.stats()
  const start0 = delivered
  const t0 = performance.now()
  let lastProgress = t0
  let lastDelivered = delivered
  let i = 0
  while (delivered - start0 < count) {
    while (i < count && i - (delivered - start0) < window) a.router.publish(msgs[i++]!)
    await tick()
    const now = performance.now()
    if (delivered !== lastDelivered) { lastDelivered = delivered; lastProgress = now }
    if (now - lastProgress > 3000) break // the rest was lost
  }
  const t1 = lastDelivered === delivered ? performance.now() : lastProgress
  const after = await b.stats()
  const got = delivered - start0
  const relayed = after.received - before.received
  await Promise.all([a.stop(), c.stop(), b.stop()])
  return { rate: got / ((t1 - t0) / 1000), cpuPerMsgUs: (after.cpuMicros - before.cpuMicros) / Math.max(1, relayed), delivered: got, sent: count, rssMB: after.rss / 2 ** 20 }
}

async function signed (router: RouterName, seconds: number): Promise<{ rate: number, signPerSec: number }> {
  const b = new Worker(router)
  const a = await localNode(router)
  const { addr } = await b.ready
  await a.connect(addr)
  const target = rawTarget(randomBytes(16))
  await b.request({ type: 'subscribe', hex: target.hex })
  await warmUp(a, target.id, async () => (await b.stats()).delivered)
  const before = (await b.stats()).delivered
  const payload = randomBytes(100)
  const t0 = performance.now()
  let sent = 0
  let polled = before
  const poller = setInterval(() => { void b.stats().then(s => { polled = s.delivered }) }, 50)
  while (performance.now() - t0 < seconds * 1000) {
    // Keep at most 2000 in flight: measure throughput, not buffering.
    if (sent - (polled - before) < 2000) {
      for (let k = 0; k < 50; k++) { a.send({ target: target.id, payload, kind: Kind.DATA }); sent++ }
    }
    await tick()
  }
  const signedIn = performance.now() - t0
  while (polled - before < sent && performance.now() - t0 < (seconds + 10) * 1000) await sleep(20)
  clearInterval(poller)
  const t1 = performance.now()
  const seen = (await b.stats()).delivered
  await Promise.all([a.stop(), b.stop()])
  return { rate: (seen - before) / ((t1 - t0) / 1000), signPerSec: sent / (signedIn / 1000) }
}

/** Sends `n` timestamped messages from `first` and measures their arrival at `last`. */
async function measureChain (first: TmsgNode, last: TmsgNode, n: number): Promise<{ p50: number, p99: number, received: number }> {
  const target = rawTarget(randomBytes(16))
  last.subscribe(target)
  const lat: number[] = []
  let arrived = 0
  last.on('delivery', d => {
    arrived++
    const sentAt = Number(Buffer.from(d.msg.payload).toString())
    if (Number.isFinite(sentAt) && sentAt > 0) lat.push(performance.now() - sentAt)
  })
  await warmUp(first, target.id, () => arrived)
  lat.length = 0
  for (let i = 0; i < n; i++) {
    first.send({ target: target.id, kind: Kind.DATA, payload: Buffer.from(String(performance.now())) })
    await sleep(5)
  }
  const deadline = Date.now() + 5000
  while (lat.length < n && Date.now() < deadline) await sleep(20)
  lat.sort((x, y) => x - y)
  return { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), received: lat.length }
}

/** A 5-hop chain whose four relays run in their own processes. */
async function latency (router: RouterName, n: number): Promise<{ p50: number, p99: number, received: number }> {
  const relays = [new Worker(router), new Worker(router), new Worker(router), new Worker(router)]
  const addrs = await Promise.all(relays.map(async r => (await r.ready).addr))
  const [first, last] = [await localNode(router), await localNode(router)]
  for (let i = 0; i < 3; i++) await relays[i]!.request({ type: 'connect', addr: addrs[i + 1]! })
  await first.connect(addrs[0]!)
  await last.connect(addrs[3]!)
  const r = await measureChain(first, last, n)
  await Promise.all([first.stop(), last.stop(), ...relays.map(async w => { await w.stop() })])
  return r
}

/** The same chain with all six nodes in this process: less scheduling noise, no parallelism. */
async function latencyInProcess (router: RouterName, n: number): Promise<{ p50: number, p99: number, received: number }> {
  const nodes = await Promise.all(Array.from({ length: 6 }, async () => await localNode(router)))
  for (let i = 0; i < 5; i++) await nodes[i]!.connect(nodes[i + 1]!.dialableAddress())
  const r = await measureChain(nodes[0]!, nodes[5]!, n)
  await Promise.all(nodes.map(async x => { await x.stop() }))
  return r
}

/** A `tmsg node` process with RPC on a free port, and a keep-alive JSON-RPC caller for it. */
async function rpcNodeProcess (extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}, bin?: string, nodeFlags: string[] = []): Promise<{ call: (method: string, params?: object) => Promise<unknown>, port: number, secret: string, p2p: string, pid: number, stop: () => Promise<void> }> {
  const { spawnTmsg, freePort, tempDatadir, stopProcess } = await import('../test/helpers/proc.ts')
  const port = await freePort()
  const datadir = tempDatadir()
  const p = spawnTmsg(['node', '--datadir', datadir, '--port', '0', '--rpc-port', String(port), '--log-level', 'warn', ...extraArgs], env, bin, nodeFlags)
  const ready = await p.ready
  const secret = readFileSync(join(datadir, 'rpc.cookie'), 'utf8').trim().split(':')[1]!
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })
  let id = 0
  const call = async (method: string, params: object = {}): Promise<unknown> => await new Promise((resolve, reject) => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params })
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const r = JSON.parse(Buffer.concat(chunks).toString()) as { result?: unknown, error?: { message: string } }
        if (r.error !== undefined) reject(new Error(r.error.message))
        else resolve(r.result)
      })
    })
    req.on('error', reject)
    req.end(body)
  })
  return { call, port, secret, p2p: ready.p2p, pid: p.proc.pid!, stop: async () => { agent.destroy(); await stopProcess(p) } }
}

/**
 * Compiles the node as `npm pack` would, into .bench-build/ (not dist/, which bin/tmsg.js
 * would then run for every test of this checkout), and returns its bin/tmsg.js.
 */
function compiledBin (): string {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const out = join(root, '.bench-build')
  // --reuse-build: the sources have not changed since the last build (runs of one variant).
  if (process.argv.includes('--reuse-build') && existsSync(join(out, 'bin/tmsg.js'))) return join(out, 'bin/tmsg.js')
  rmSync(out, { recursive: true, force: true })
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(out, 'dist')], { stdio: 'inherit' })
  mkdirSync(join(out, 'bin'))
  copyFileSync(join(root, 'bin/tmsg.js'), join(out, 'bin/tmsg.js'))
  return join(out, 'bin/tmsg.js')
}

/**
 * The relay's RSS split at the start of traffic, at its peak and at the end, from the lines
 * bench/mem-probe.mjs wrote: the binary's and libraries' pages (file), the V8 heap, array
 * buffers (Node allocates them with malloc), and the rest of the anonymous memory (glibc's
 * other allocations and what it keeps after free, thread stacks, code space outside the heap).
 */
function printProbe (file: string, t0: number, t1: number): void {
  const lines = readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l) as Record<'t' | 'rss' | 'heapTotal' | 'heapUsed' | 'external' | 'arrayBuffers' | 'anon' | 'file', number>)
  const mb = (x: number): string => fmt(x / 2 ** 20)
  const at = (label: string, p: (typeof lines)[number] | undefined): void => {
    if (p === undefined) return
    row(`  ${label}: rss = file + anon; anon ⊇ heap (used) + arrayBuffers + rest`, [`${mb(p.rss)} = ${mb(p.file)} + ${mb(p.anon)}; ${mb(p.heapTotal)} (${mb(p.heapUsed)}) + ${mb(p.arrayBuffers)} + ${mb(p.anon - p.heapTotal - p.arrayBuffers)}`])
  }
  at('start', lines.filter(l => l.t <= t0).at(-1))
  const during = lines.filter(l => l.t >= t0 && l.t <= t1)
  at('peak ', during.reduce<(typeof lines)[number] | undefined>((a, l) => a === undefined || l.rss > a.rss ? l : a, undefined))
  at('end  ', during.at(-1))
  console.log(`  (every sample: ${file})`)
}

function usage (message: string): never {
  console.error(message)
  process.exit(2)
}

async function rpcThroughput (seconds: number): Promise<{ sendPerSec: number, infoPerSec: number }> {
  const n = await rpcNodeProcess()
  const run = async (method: string, params: object): Promise<number> => {
    let done = 0
    const end = performance.now() + seconds * 1000
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (performance.now() < end) { await n.call(method, params); done++ }
    }))
    return done / seconds
  }
  await run('node_info', {}) // warm up
  const infoPerSec = await run('node_info', {})
  const sendPerSec = await run('msg_send', { target: '#bench', payload: 'x'.repeat(100) })
  await n.stop()
  return { sendPerSec, infoPerSec }
}

/** msg_send on node A → hit on node B → WebSocket notification to B's client; and the local case. */
async function notificationLatency (count: number): Promise<{ local: { p50: number, p99: number }, oneHop: { p50: number, p99: number } }> {
  const [a, b] = [await rpcNodeProcess(), await rpcNodeProcess()]
  await a.call('peers_connect', { address: b.p2p })
  await b.call('targets_subscribe', { target: '#lat' })
  const { WebSocket } = await import('ws')
  const ws = new WebSocket(`ws://127.0.0.1:${b.port}/`, { headers: { authorization: `Bearer ${b.secret}` } })
  await new Promise(resolve => ws.once('open', resolve))
  const waiting = new Map<string, (t: number) => void>()
  ws.on('message', data => {
    const m = JSON.parse(rawDataText(data)) as { method?: string, params?: { result: { payload: string } } }
    if (m.method === 'msg_subscription') waiting.get(m.params!.result.payload)?.(performance.now())
  })
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'msg_subscribe', params: { targets: ['#lat'] } }))
  await sleep(300)
  const measure = async (via: typeof a): Promise<{ p50: number, p99: number }> => {
    const lat: number[] = []
    for (let i = 0; i < count; i++) {
      const tag = `${via === a ? 'remote' : 'local'}-${i}`
      const arrived = new Promise<number>(resolve => waiting.set(tag, resolve))
      const t0 = performance.now()
      await via.call('msg_send', { target: '#lat', payload: tag })
      lat.push(await Promise.race([arrived, sleep(2000).then(() => NaN)]) - t0)
      waiting.delete(tag)
    }
    const ok = lat.filter(Number.isFinite).sort((x, y) => x - y)
    return { p50: percentile(ok, 0.5), p99: percentile(ok, 0.99) }
  }
  const local = await measure(b)
  const oneHop = await measure(a)
  ws.close()
  await Promise.all([a.stop(), b.stop()])
  return { local, oneHop }
}

function printLayer2Stream (s: Layer2StreamFigures): void {
  row('payments between two processes (TCP stream)', ['payments/s'])
  row('  sequential: ChannelClient.pay, ack awaited', [fmt(s.sequential)])
  row('  pipelined: 64 in flight, provider accepts', [fmt(s.pipelined)])
  row('  provider process CPU per payment', [fmt(s.providerCpuMicros) + ' µs'])
  row('  of which: provider checks (sig verify)', [fmt(s.parts.providerCheck) + ' µs'])
  row('            provider persist (SQLite)', [fmt(s.parts.providerPersist) + ' µs'])
  row('  client sign (update tx + ECDSA)', [fmt(s.parts.clientSign) + ' µs'])
  row('  client persist before send (SQLite)', [fmt(s.parts.clientPersist) + ' µs'])
}

function printBeef (figures: Awaited<ReturnType<typeof beefBench>>): void {
  row('BEEF of a funding, checked by a receiver on its own ledger', ['bytes', 'verify'])
  for (const f of figures) row(`  ${f.ancestors} ancestor${f.ancestors === 1 ? '' : 's'} (${f.ancestors - 1} unmined)`, [fmt(f.bytes), fmt(f.verifyMs, 2) + ' ms'])
}

function printLayer2 (l: Awaited<ReturnType<typeof layer2Bench>>): void {
  row('payment channels (provider checks + persist)', ['payments/s'])
  row('  one channel, accepted by the provider', [fmt(l.acceptOne)])
  row('  ten channels interleaved', [fmt(l.acceptTen)])
  row('  end to end: sign, persist, send, check, ack', [fmt(l.endToEnd)])
  row('balance query round trip, 3 hops', ['p50', 'p99'])
  row('', [fmt(l.balanceRttP50, 2) + ' ms', fmt(l.balanceRttP99, 2) + ' ms'])
}

function codec (): Record<string, string> {
  const id = Identity.generate()
  const msgs = Array.from({ length: 2000 }, () => buildTMsg({ target: randomBytes(16), payload: randomBytes(100), kind: Kind.CHAT, signer: id }))
  const enc = msgs.map(m => encodeTMsg(m))
  const few = msgs.slice(0, 20)
  const cases: Array<[string, () => void, number]> = [
    ['decode (ours, on protobufjs Reader)', () => { for (const b of enc) decodeTMsg(b) }, msgs.length],
    ['decode (protobufjs reflection)', () => { for (const b of enc) TMsgType.decode(b) }, msgs.length],
    ['encode (ours, direct)', () => { for (const m of msgs) encodeTMsg(m) }, msgs.length],
    ['encode (protobufjs reflection)', () => { for (const m of msgs) TMsgType.encode(m).finish() }, msgs.length],
    ['msg_id check (id_bytes + MD5)', () => { for (const m of msgs) msgIdMatches(m) }, msgs.length],
    ['sign (node:crypto, secp256k1)', () => { for (const m of few) id.sign(m.payload) }, few.length],
    ['verify (node:crypto, secp256k1)', () => { for (const m of few) verifySignature(m.sender, idBytes(m), m.signature) }, few.length]
  ]
  // Interleaved rounds, best of each: JIT warm-up and GC land on no variant in particular.
  const best = new Map<string, number>()
  for (let round = 0; round < 40; round++) {
    for (const [name, fn, n] of cases) {
      const t = performance.now()
      fn()
      const ns = (performance.now() - t) * 1e6 / n
      if (round >= 10) best.set(name, Math.min(best.get(name) ?? Infinity, ns))
    }
  }
  return Object.fromEntries([...best].map(([k, v]) => [k, `${fmt(v)} ns`]))
}

async function seenCacheBytesPerEntry (): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return NaN
  const n = 500_000
  // The cache keeps its entries in typed arrays: their buffers count, not only the heap.
  const used = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
  // Array buffers are freed by a sweeper after the GC: let it run, or the arrays the cache
  // outgrew (and other garbage) still count.
  const collect = async (): Promise<void> => {
    gc()
    await new Promise(resolve => setTimeout(resolve, 200))
    gc()
  }
  const ids = randomBytes(16 * n)
  await collect()
  const before = used()
  // With the per-neighbour quota a relay runs with, entries from 1,000 neighbours.
  const cache = new SeenCache({ max: n, ttlMs: 20 * 60_000, now: Date.now, perSlotMax: DEFAULT_SEEN_PER_NEIGHBOUR })
  for (let i = 0; i < n; i++) cache.remember(idKey(ids.subarray(16 * i, 16 * i + 16)), 1 + (i % 1000), 7)
  await collect()
  const after = used()
  if (cache.size !== n) throw new Error('cache did not hold every entry')
  return (after - before) / n
}

function row (label: string, values: Array<string | number>): void {
  console.log(label.padEnd(44) + values.map(v => String(v).padStart(14)).join(''))
}

const fmt = (n: number, d = 0): string => Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a'

function printDirect (d: ReturnType<typeof directBench>): void {
  row(`sealed DMs, one core (${d.plaintextBytes} B Chat → ${d.sealedBytes} B sealed)`, ['per second'])
  row('  seal (ECDH + HKDF + AES-256-GCM)', [fmt(d.sealPerSec)])
  row('  open', [fmt(d.openPerSec)])
  row('  send: resolve, seal, sign, keep (SQLite)', [fmt(d.sendPerSec)])
  row('  receive: verify, open, keep (SQLite)', [fmt(d.receivePerSec)])
}

function printHistory (h: HistoryFigures): void {
  row(`store and forward: ${fmt(h.messages)} stored messages (100 B) to a reconnecting neighbour`, ['figure'])
  row('  seconds from reconnect to the last delivery', [fmt(h.seconds, 2)])
  row('  messages/s', [fmt(h.delivered / h.seconds)])
  row('  requests / bytes answered', [`${h.requests} / ${fmt(h.bytesServed)}`])
  row('  bytes per message on the wire', [fmt(h.bytesServed / h.messages, 1)])
  row('  server RSS before / peak while serving / after (MB)', [`${fmt(h.rssBeforeMB)} / ${fmt(h.rssPeakMB)} / ${fmt(h.rssAfterMB)}`])
  row('  originals held by the server (bytes, as counted for the cap)', [fmt(h.keptBytes)])
}

const only = process.argv.find(a => a.startsWith('--only='))?.slice(7)
const seenCacheLine = async (): Promise<string> => `seen cache: ${fmt(await seenCacheBytesPerEntry(), 1)} bytes per entry (500k entries, heap and buffers)`
if (only === 'seen') {
  console.log(await seenCacheLine())
  process.exit(0)
}
if (only === 'history') {
  printHistory(await historyBench(async () => await rpcNodeProcess(['--min-peers', '0']), quick ? 2000 : 10_000))
  process.exit(0)
}
if (only === 'memory') {
  const n = quick ? 20 : 50
  // --rate=N offers N msg/s instead of 10,000: what a relay that keeps up looks like on a
  // machine that cannot give it 10,000.
  const rate = Number(process.argv.find(a => a.startsWith('--rate='))?.slice(7) ?? 10_000)
  // --from=compiled|sources|both: an installed package runs the JavaScript compiled at pack
  // time, a checkout runs the TypeScript sources (Node strips the types as it loads them,
  // which costs memory of its own): both are measured unless one is asked for.
  const from = process.argv.find(a => a.startsWith('--from='))?.slice(7) ?? 'both'
  const forms = from === 'both' ? ['compiled', 'sources'] : [from]
  for (const form of forms) {
    const bin = form === 'compiled' ? compiledBin() : form === 'sources' ? undefined : usage(`--from=${form}: compiled, sources or both`)
    // BENCH_RELAY_ENV='K=V K=V' sets variables for the relay alone (e.g. glibc's
    // MALLOC_ARENA_MAX or GLIBC_TUNABLES, read only at process start); --probe preloads
    // bench/mem-probe.mjs into it to split its RSS into V8 heap, buffers and the rest.
    const env: NodeJS.ProcessEnv = Object.fromEntries((process.env.BENCH_RELAY_ENV ?? '').split(' ').filter(kv => kv.includes('=')).map(kv => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
    // BENCH_NODE_FLAGS go on the relay's node command line (V8 flags NODE_OPTIONS refuses).
    const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(f => f !== '')
    const probe = process.argv.includes('--probe') ? join(tmpdir(), `tmsg-mem-probe-${process.pid}-${form}.jsonl`) : undefined
    if (probe !== undefined) {
      rmSync(probe, { force: true })
      flags.push(`--import=${fileURLToPath(new URL('./mem-probe.mjs', import.meta.url))}`)
      env.BENCH_MEM_PROBE = probe
    }
    const relayNode = await rpcNodeProcess(['--max-peers', '64', '--min-peers', '0'], env, bin, flags)
    const m = await memoryBench(relayNode, { neighbours: n, rate, seconds: quick ? 10 : 30, senders: 20, processes: 2, payloadBytes: 100 })
    await relayNode.stop()
    row(`tmsg node (${form === 'compiled' ? 'compiled, as installed' : 'TypeScript sources, as in a checkout'}) relaying for ${n} neighbours, ${fmt(rate)} msg/s offered (100 B), RSS MB`, ['start', 'peak', 'end', 'high-water'])
    row('', [fmt(m.startMB), fmt(m.peakMB), fmt(m.endMB), fmt(m.hwmMB)])
    console.log(`  RSS every second: ${m.samples.map(x => fmt(x)).join(' ')}`)
    row('  messages offered / written / taken in by the relay', [m.offered, m.written, m.received])
    row('  relay intake while offered (msg/s) / cores the relay used', [fmt(m.inPerSec), fmt(m.relayCpu, 2)])
    row('  copies forwarded / at each neighbour (min-max)', [m.forwarded, `${m.minAtNeighbour}-${m.maxAtNeighbour}`])
    row('  seen-cache entries at the end', [m.seen])
    console.log(`  drops: ${JSON.stringify(m.dropped)}`)
    if (probe !== undefined) printProbe(probe, m.t0, m.t1)
  }
  process.exit(0)
}
if (only === 'direct') {
  printDirect(directBench(3))
  process.exit(0)
}
if (only === 'layer2') {
  const l = await layer2Bench(2000)
  printLayer2(l)
  printLayer2Stream(await layer2StreamBench(rpcNodeProcess, 5000))
  printBeef(await beefBench())
  process.exit(0)
}
if (only === 'rpc') {
  const t = await rpcThroughput(3)
  row('RPC over HTTP keep-alive, 16 in flight', ['calls/s'])
  row('  msg_send (signs + floods)', [fmt(t.sendPerSec)])
  row('  node_info', [fmt(t.infoPerSec)])
  const l = await notificationLatency(200)
  row('msg_send → WebSocket notification p50/p99', ['p50', 'p99'])
  row('  same node', [fmt(l.local.p50, 2) + ' ms', fmt(l.local.p99, 2) + ' ms'])
  row('  one hop away', [fmt(l.oneHop.p50, 2) + ' ms', fmt(l.oneHop.p99, 2) + ' ms'])
  process.exit(0)
}
if (only === 'network') {
  const seeds = (process.argv.find(a => a.startsWith('--seeds='))?.slice(8) ?? (quick ? '1' : '1,2,3')).split(',').map(Number)
  const routers = (process.argv.find(a => a.startsWith('--routers='))?.slice(10) ?? 'flood,plumtree,gossipsub').split(',') as RouterName[]
  console.log(`50 nodes over TCP in one process, degree ≈ 6, 200 signed 100-byte messages at 10 msg/s, seeds ${seeds.join(', ')}`)
  console.log('| router | stopped halfway | delivery | copies/delivery | wire bytes/delivery | latency p50 / p90 / p99 ms | RSS MB | CPU µs/delivery |')
  console.log('|---|---|---|---|---|---|---|---|')
  for (const fail of [0, 0.1]) {
    for (const r of routers) {
      const runs: NetworkFigures[] = []
      for (const seed of seeds) {
        const x = await networkBench(r, seed, { ...NETWORK_DEFAULTS, fail })
        runs.push(x)
        console.error(`  ${r} seed ${seed} fail ${fail}: ${JSON.stringify(x)}`)
      }
      const mean = (f: (x: NetworkFigures) => number): number => runs.reduce((a, x) => a + f(x), 0) / runs.length
      console.log(`| ${r} | ${fail * 100}% | ${fmt(100 * mean(x => x.deliveryRatio), 2)}% | ${fmt(mean(x => x.copiesPerDelivery), 2)}${r === 'gossipsub' && runs.some(x => Number.isFinite(x.copiesPerDelivery)) ? ' (est. from bytes)' : ''} | ` +
        `${fmt(mean(x => x.wireBytesPerDelivery))} | ${fmt(mean(x => x.p50), 1)} / ${fmt(mean(x => x.p90), 1)} / ${fmt(mean(x => x.p99), 1)} | ` +
        `${fmt(mean(x => x.rssMB))} | ${fmt(mean(x => x.cpuUsPerDelivery))} |`)
    }
  }
  process.exit(0)
}
if (only === 'codec') {
  for (const [k, v] of Object.entries(codec())) row('  ' + k, [v])
  process.exit(0)
}
if (only === 'relay') {
  const x = await relay('flood', 100, 100_000)
  row('relay flood 100 B', [fmt(x.rate), fmt(x.cpuPerMsgUs, 1)])
  process.exit(0)
}
if (only === 'latency') {
  for (let k = 0; k < 3; k++) {
    for (const r of ROUTERS) {
      const x = await latency(r, 500)
      const y = await latencyInProcess(r, 500)
      row(`latency ${r}`, [fmt(x.p50, 2), fmt(x.p99, 2), x.received, fmt(y.p50, 2), fmt(y.p99, 2)])
    }
  }
  process.exit(0)
}

console.log(`tmsg bench — ${new Date().toISOString()} — node ${process.version}, ${(await import('node:os')).cpus().length} cpus${quick ? ' (quick)' : ''}\n`)
console.log('codec, per message (100-byte payload, signed):')
for (const [k, v] of Object.entries(codec())) row('  ' + k, [v])
console.log(`\n${await seenCacheLine()}\n`)

row('TCP loopback', ROUTERS)
const relayCount = quick ? 20_000 : 100_000
for (const size of [100, 1024]) {
  const results = []
  for (const r of ROUTERS) results.push(await relay(r, size, size === 100 ? relayCount : relayCount / 2))
  row(`relay A→B→C, ${size} B: msgs/s at C`, results.map(x => fmt(x.rate)))
  row('  delivered / sent', results.map(x => `${x.delivered}/${x.sent}`))
  row('  CPU per relayed msg at B', results.map(x => fmt(x.cpuPerMsgUs, 1) + ' µs'))
  row('  relay capacity of one core (1/CPU)', results.map(x => fmt(1e6 / x.cpuPerMsgUs)))
  row('  RSS of B after the run', results.map(x => fmt(x.rssMB) + ' MB'))
  row('  flood / gossipsub rate', [(results[0]!.rate / results[1]!.rate).toFixed(2) + '×'])
}
const sig = []
for (const r of ROUTERS) sig.push(await signed(r, quick ? 2 : 5))
row('two nodes, 100 B, signed+verified: msgs/s', sig.map(x => fmt(x.rate)))
row('  sender signing rate (msgs/s)', sig.map(x => fmt(x.signPerSec)))
const lat = []
for (const r of ROUTERS) lat.push(await latency(r, quick ? 200 : 500))
row('5-hop chain latency p50', lat.map(x => fmt(x.p50, 2) + ' ms'))
row('5-hop chain latency p99', lat.map(x => fmt(x.p99, 2) + ' ms'))
row('  samples', lat.map(x => x.received))
const rt = await rpcThroughput(quick ? 2 : 4)
console.log('')
row('JSON-RPC (HTTP keep-alive, 16 in flight)', ['calls/s'])
row('  msg_send (signs + floods)', [fmt(rt.sendPerSec)])
row('  node_info', [fmt(rt.infoPerSec)])
const nl = await notificationLatency(quick ? 100 : 300)
row('msg_send → WebSocket notification', ['p50', 'p99'])
row('  on the same node', [fmt(nl.local.p50, 2) + ' ms', fmt(nl.local.p99, 2) + ' ms'])
row('  one hop away', [fmt(nl.oneHop.p50, 2) + ' ms', fmt(nl.oneHop.p99, 2) + ' ms'])
console.log('')
printDirect(directBench(quick ? 1 : 3))
console.log('')
printLayer2(await layer2Bench(quick ? 500 : 2000))
printLayer2Stream(await layer2StreamBench(rpcNodeProcess, quick ? 1000 : 5000))
printBeef(await beefBench())
console.log('')
printHistory(await historyBench(async () => await rpcNodeProcess(['--min-peers', '0']), quick ? 2000 : 10_000))
process.exit(0)
