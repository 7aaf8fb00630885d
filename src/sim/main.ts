/**
 * `npm run sim` — a deterministic discrete-event simulator running the project's real router
 * (src/flood, through its RouterComponents/NeighbourLink seam; no libp2p) on a virtual clock.
 *
 * The model
 * - Time is virtual ms in a priority queue of events ordered by (time, insertion order); there
 *   is no fixed tick. An event is a unit arriving, a router flush or timer, a publish, or the
 *   failure. Routing work itself takes zero virtual time (CPU is not modelled).
 * - Graph: a ring (so it is connected) plus random edges up to `--degree` per node.
 * - Links: one per direction. A unit the router writes is serialised at `--bandwidth` Mbit/s
 *   behind whatever that direction is still sending (FIFO, as TCP), then arrives after the
 *   link's one-way latency (`--latency 50` fixed, or `--latency 10-100` drawn per link,
 *   uniformly). Over 256 KiB unsent, `write` returns false and the router's own bounded queue
 *   holds the rest until `drained` (when the link has sent everything).
 * - Loss: each unit (a Frame of one or more messages) is lost with probability `--loss`, for
 *   good: no retransmission. That is harsher than TCP (which delays instead) and stands for
 *   dropped or reset connections.
 * - Failure: `--fail F` stops ⌊F·N⌋ nodes, chosen by the seed, at the moment half the
 *   messages have been published: they neither send nor receive again, units they had not
 *   finished sending are lost, and neighbours are not told (`--detect MS` tells them after MS).
 *   Messages are published by nodes that never fail, one every `--interval` ms.
 * - Messages are real signed TMsgs (DATA, `--size` bytes, the router's default TTL as a node's — flood 7,
 *   plumtree 10 — or `--ttl`), every node subscribes to
 *   their target, so every first copy is a delivery. Each is signed once by its origin with a
 *   deterministic RFC 6979 signature; each delivery verifies it, through a per-process cache
 *   so one (id, signature) pair costs one real verification, not one per node.
 * - Each node's seen cache is bounded by the run (2·msgs + 16) rather than the real default
 *   (200,000), so nothing is ever evicted by size and every node's memory figure is its own.
 * - Left out: CPU time and event-loop contention, connection set-up and churn beyond the one
 *   failure, TCP congestion control and head-of-line blocking across a node's links, a shared
 *   uplink per node (bandwidth is per link), clock skew.
 * - Same seed, same options → the same stdout, byte for byte. Wall time and memory go to stderr.
 *
 * Figures: delivery ratio (over nodes that never failed), TMsg copies written per delivery,
 * RMR = copies/delivery − 1, last-delivery hop (per message; max and mean), latency p50/p99 of
 * deliveries, bytes written per node (frames incl. length prefix), seen-cache entries and an
 * estimate of its memory per node.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { DEFAULTS, ROUTER_FACTORIES, simulate } from './sim.ts'
import { DEFAULT_TTL } from '../wire/constants.ts'
import { PLUMTREE_DEFAULT_TTL } from '../flood/constants.ts'
import type { SimOptions, SimResult } from './sim.ts'

const USAGE = `usage: npm run sim -- [--nodes N] [--degree D] [--router ${Object.keys(ROUTER_FACTORIES).join('|')}] [--msgs M]
  [--fail F] [--loss L] [--latency MS|LO-HI] [--bandwidth MBIT] [--interval MS] [--size BYTES] [--ttl T]
  [--detect MS] [--seed S] [--json]
  npm run sim -- --table [--seed S] [--nodes N] [--ttl T] [--jobs J]   flood vs plumtree, N = 1,000 and 10,000 (or N),
    fail 0/10%, loss 0/1%: one child process per row, J at a time (default: one per core)`

function parseLatency (s: string): { lo: number, hi: number } {
  const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(s)
  if (m === null) throw new Error(`--latency takes MS or LO-HI, not '${s}'`)
  const lo = Number(m[1])
  const hi = m[2] === undefined ? lo : Number(m[2])
  if (hi < lo) throw new Error('--latency LO-HI needs LO <= HI')
  return { lo, hi }
}

function num (v: string | undefined, def: number, name: string, min = 0, max = Infinity): number {
  if (v === undefined) return def
  const x = Number(v)
  if (!Number.isFinite(x) || x < min || x > max) throw new Error(`--${name} must be a number in [${min}, ${max}]`)
  return x
}

export function parseOptions (argv: string[]): { opts: SimOptions, json: boolean, table: boolean, jobs: number } {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' }, degree: { type: 'string' }, router: { type: 'string' },
      msgs: { type: 'string' }, fail: { type: 'string' }, loss: { type: 'string' },
      latency: { type: 'string' }, bandwidth: { type: 'string' }, interval: { type: 'string' },
      size: { type: 'string' }, ttl: { type: 'string' }, detect: { type: 'string' }, seed: { type: 'string' },
      jobs: { type: 'string' }, json: { type: 'boolean' }, table: { type: 'boolean' }, help: { type: 'boolean' }
    }
  })
  if (values.help === true) {
    console.log(USAGE)
    process.exit(0)
  }
  const opts: SimOptions = {
    nodes: num(values.nodes, DEFAULTS.nodes, 'nodes', 2),
    degree: num(values.degree, DEFAULTS.degree, 'degree', 1),
    router: values.router ?? DEFAULTS.router,
    msgs: num(values.msgs, DEFAULTS.msgs, 'msgs', 1),
    fail: num(values.fail, DEFAULTS.fail, 'fail', 0, 0.99),
    loss: num(values.loss, DEFAULTS.loss, 'loss', 0, 1),
    latency: values.latency === undefined ? DEFAULTS.latency : parseLatency(values.latency),
    bandwidthMbps: num(values.bandwidth, DEFAULTS.bandwidthMbps, 'bandwidth', 0.001),
    seed: num(values.seed, DEFAULTS.seed, 'seed'),
    intervalMs: num(values.interval, DEFAULTS.intervalMs, 'interval'),
    payloadBytes: num(values.size, DEFAULTS.payloadBytes, 'size', 0, 16384),
    ttl: values.ttl === undefined ? undefined : num(values.ttl, 0, 'ttl', 1, 16),
    detectMs: num(values.detect, DEFAULTS.detectMs, 'detect')
  }
  if (ROUTER_FACTORIES[opts.router] === undefined) throw new Error(`unknown router '${opts.router}'\n${USAGE}`)
  return { opts, json: values.json === true, table: values.table === true, jobs: num(values.jobs, availableParallelism(), 'jobs', 1) }
}

export function formatResult (r: SimResult): string {
  const pct = (x: number): string => `${(100 * x).toFixed(2)}%`
  return [
    `router ${r.router}, ${r.nodes} nodes (mean degree ${r.meanDegree}), ${r.msgs} messages, fail ${pct(r.fail)}, loss ${pct(r.loss)}, ttl ${r.ttl}, seed ${r.seed}`,
    `delivery ratio        ${pct(r.deliveryRatio)} (${r.deliveries} deliveries)`,
    `copies per delivery   ${r.copiesPerDelivery} (RMR ${r.rmr}; control entries per delivery ${r.controlPerDelivery})`,
    `last-delivery hop     max ${r.ldhMax}, mean ${r.ldhMean}`,
    `latency (virtual)     p50 ${r.latencyP50} ms, p99 ${r.latencyP99} ms`,
    `bytes sent per node   mean ${r.bytesPerNode}, max ${r.bytesPerNodeMax} (units lost ${r.unitsLost})`,
    `seen cache per node   ${r.seenEntriesPerNode} entries, ~${(r.seenCacheBytesPerNode / 1024).toFixed(1)} KiB`,
    `virtual time          ${r.virtualMs} ms, ${r.events} events`
  ].join('\n')
}

function tableRow (r: SimResult): string {
  return `| ${r.router} | ${r.nodes.toLocaleString('en')} | ${r.fail * 100}% | ${r.loss * 100}% | ${(100 * r.deliveryRatio).toFixed(2)}% | ` +
    `${r.copiesPerDelivery.toFixed(2)} | ${r.rmr.toFixed(2)} | ${r.ldhMax} / ${r.ldhMean.toFixed(1)} | ` +
    `${r.latencyP50.toFixed(0)} / ${r.latencyP99.toFixed(0)} | ${Math.round(r.bytesPerNode / 1024)} |`
}

interface Row { nodes: number, router: string, fail: number, loss: number }

/**
 * The table: each row is its own run of this file in a child process (`--json`), `jobs` at a
 * time — the rows are independent, and one process per row also keeps one row's garbage out of
 * the next. The biggest rows start first; the rows print in table order whatever finishes first.
 */
async function runTable (seed: number, sizes: number[], ttl: number | undefined, jobs: number): Promise<void> {
  const routers = ['flood', 'plumtree'].filter(r => ROUTER_FACTORIES[r] !== undefined)
  const rows: Row[] = []
  for (const nodes of sizes) for (const router of routers) for (const fail of [0, 0.1]) for (const loss of [0, 0.01]) rows.push({ nodes, router, fail, loss })
  console.log(`seed ${seed}, degree 6, 100 messages of 100 B, ${ttl === undefined ? `TTL: each router's default (flood ${DEFAULT_TTL}, plumtree ${PLUMTREE_DEFAULT_TTL})` : `TTL ${ttl}`}, one every 100 ms, latency 10-100 ms per link, 100 Mbit/s`)
  console.log('| router | N | fail | loss | delivery | copies/delivery | RMR | last-delivery hop max / mean | latency p50 / p99 ms | KiB sent/node |')
  console.log('|---|---|---|---|---|---|---|---|---|---|')
  const started = performance.now()
  const results: Array<string | undefined> = rows.map(() => undefined)
  let printed = 0
  const running = new Set<number>()
  let peakTotalRss = 0
  // Memory of the rows running together, sampled from /proc (Linux): what the command needs.
  const sampler = setInterval(() => {
    let total = 0
    for (const pid of running) {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
        if (m !== null) total += Number(m[1]) * 1024
      } catch {}
    }
    peakTotalRss = Math.max(peakTotalRss, total)
  }, 250)
  const order = rows.map((_, i) => i).sort((a, b) => rows[b]!.nodes - rows[a]!.nodes || Number(rows[b]!.router === 'plumtree') - Number(rows[a]!.router === 'plumtree') || a - b)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < order.length) {
      const i = order[next++]!
      const row = rows[i]!
      const t0 = performance.now()
      const { result, rss, pid } = await runRow(row, seed, ttl, p => running.add(p))
      running.delete(pid)
      results[i] = tableRow(result)
      console.error(`  (${row.router} N=${row.nodes} fail=${row.fail} loss=${row.loss}: ${((performance.now() - t0) / 1000).toFixed(1)} s wall, peak rss ${Math.round(rss / 2 ** 20)} MB)`)
      while (printed < rows.length && results[printed] !== undefined) console.log(results[printed++])
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker))
  } finally {
    clearInterval(sampler)
  }
  if (!routers.includes('plumtree')) console.log('\nplumtree: not available in this build (pending).')
  console.error(`table: ${rows.length} runs, ${jobs} at a time, ${((performance.now() - started) / 1000).toFixed(1)} s wall, peak rss of the runs together ${Math.round(peakTotalRss / 2 ** 20)} MB`)
}

/** One row in a child process running this file with `--json`. */
function runRow (row: Row, seed: number, ttl: number | undefined, onStart: (pid: number) => void): Promise<{ result: SimResult, rss: number, pid: number }> {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--json', '--nodes', String(row.nodes), '--router', row.router,
    '--fail', String(row.fail), '--loss', String(row.loss), '--seed', String(seed), ...(ttl === undefined ? [] : ['--ttl', String(ttl)])]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    if (child.pid !== undefined) onStart(child.pid)
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${row.router} N=${row.nodes} fail=${row.fail} loss=${row.loss} exited with ${code}:\n${err}`))
        return
      }
      const peak = /peak rss (\d+) MB/.exec(err)
      resolve({ result: JSON.parse(out) as SimResult, rss: peak === null ? 0 : Number(peak[1]) * 2 ** 20, pid: child.pid ?? -1 })
    })
  })
}

async function main (): Promise<void> {
  let parsed
  try {
    parsed = parseOptions(process.argv.slice(2))
  } catch (err: unknown) {
    console.error((err as Error).message)
    process.exit(2)
  }
  if (parsed.table) {
    // --nodes with --table runs only that size (the two sizes can then run side by side)
    await runTable(parsed.opts.seed, process.argv.includes('--nodes') ? [parsed.opts.nodes] : [1000, 10_000], parsed.opts.ttl, parsed.jobs)
    return
  }
  const started = performance.now()
  const r = simulate(parsed.opts)
  console.log(parsed.json ? JSON.stringify(r) : formatResult(r))
  const mem = process.memoryUsage()
  console.error(`wall ${((performance.now() - started) / 1000).toFixed(1)} s, rss ${Math.round(mem.rss / 2 ** 20)} MB, heap ${Math.round(mem.heapUsed / 2 ** 20)} MB, peak rss ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`)
}

if (import.meta.main) await main()
