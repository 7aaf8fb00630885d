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
 * - Messages are real signed TMsgs (DATA, `--size` bytes, TTL 7), every node subscribes to
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
import { parseArgs } from 'node:util'
import { DEFAULTS, ROUTER_FACTORIES, simulate } from './sim.ts'
import type { SimOptions, SimResult } from './sim.ts'

const USAGE = `usage: npm run sim -- [--nodes N] [--degree D] [--router ${Object.keys(ROUTER_FACTORIES).join('|')}] [--msgs M]
  [--fail F] [--loss L] [--latency MS|LO-HI] [--bandwidth MBIT] [--interval MS] [--size BYTES] [--ttl T]
  [--detect MS] [--seed S] [--json]
  npm run sim -- --table [--seed S] [--nodes N] [--ttl T]   flood vs plumtree, N = 1,000 and 10,000 (or N), fail 0/10%, loss 0/1%`

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

export function parseOptions (argv: string[]): { opts: SimOptions, json: boolean, table: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' }, degree: { type: 'string' }, router: { type: 'string' },
      msgs: { type: 'string' }, fail: { type: 'string' }, loss: { type: 'string' },
      latency: { type: 'string' }, bandwidth: { type: 'string' }, interval: { type: 'string' },
      size: { type: 'string' }, ttl: { type: 'string' }, detect: { type: 'string' }, seed: { type: 'string' },
      json: { type: 'boolean' }, table: { type: 'boolean' }, help: { type: 'boolean' }
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
    ttl: num(values.ttl, DEFAULTS.ttl, 'ttl', 1, 16),
    detectMs: num(values.detect, DEFAULTS.detectMs, 'detect')
  }
  if (ROUTER_FACTORIES[opts.router] === undefined) throw new Error(`unknown router '${opts.router}'\n${USAGE}`)
  return { opts, json: values.json === true, table: values.table === true }
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

function runTable (seed: number, sizes: number[], ttl: number): void {
  const routers = ['flood', 'plumtree'].filter(r => ROUTER_FACTORIES[r] !== undefined)
  console.log(`seed ${seed}, degree 6, 100 messages of 100 B, TTL ${ttl}, one every 100 ms, latency 10-100 ms per link, 100 Mbit/s`)
  console.log('| router | N | fail | loss | delivery | copies/delivery | RMR | last-delivery hop max / mean | latency p50 / p99 ms | KiB sent/node |')
  console.log('|---|---|---|---|---|---|---|---|---|---|')
  for (const nodes of sizes) {
    for (const router of routers) {
      for (const fail of [0, 0.1]) {
        for (const loss of [0, 0.01]) {
          const started = performance.now()
          const r = simulate({ ...DEFAULTS, nodes, router, fail, loss, seed, ttl })
          console.log(tableRow(r))
          console.error(`  (${router} N=${nodes} fail=${fail} loss=${loss}: ${((performance.now() - started) / 1000).toFixed(1)} s wall)`)
        }
      }
    }
  }
  if (!routers.includes('plumtree')) console.log('\nplumtree: not available in this build (pending).')
}

function main (): void {
  let parsed
  try {
    parsed = parseOptions(process.argv.slice(2))
  } catch (err: unknown) {
    console.error((err as Error).message)
    process.exit(2)
  }
  if (parsed.table) {
    // --nodes with --table runs only that size (the two sizes can then run side by side)
    runTable(parsed.opts.seed, process.argv.includes('--nodes') ? [parsed.opts.nodes] : [1000, 10_000], parsed.opts.ttl)
    return
  }
  const started = performance.now()
  const r = simulate(parsed.opts)
  console.log(parsed.json ? JSON.stringify(r) : formatResult(r))
  const mem = process.memoryUsage()
  console.error(`wall ${((performance.now() - started) / 1000).toFixed(1)} s, rss ${Math.round(mem.rss / 2 ** 20)} MB, heap ${Math.round(mem.heapUsed / 2 ** 20)} MB`)
}

if (import.meta.main) main()
