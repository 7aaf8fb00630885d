/**
 * Prometheus metrics (`--metrics-port`, off by default; loopback unless allowed): every
 * node_stats counter, drops and invalid messages by reason, queue depths, the seen cache,
 * delivery latency, RPC calls by method and code, and the process (RSS, heap, event loop).
 * Router counters are read when scraped, so the hot path pays nothing for them.
 */
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { isIPv6 } from 'node:net'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { Libp2pInit } from 'libp2p'
import type { RouterStats, NeighbourStats } from './routing.ts'

export interface MetricsSource {
  stats: () => RouterStats
  neighbourStats: () => NeighbourStats[]
}

/** The router's monotonically increasing counters, as `tmsg_<name>_total`. */
const ROUTER_COUNTERS = ['received', 'delivered', 'forwarded', 'sent', 'duplicates', 'reforwarded', 'expired', 'invalid', 'dropped'] as const

/**
 * The registry, created before the node so libp2p can report into it too (connections,
 * streams, bytes per protocol: `libp2p_*`, from @libp2p/prometheus-metrics).
 */
export function metricsRegistry (): { registry: Registry, libp2p: Libp2pInit['metrics'] } {
  const registry = new Registry()
  return { registry, libp2p: prometheusMetrics({ registry, collectDefaultMetrics: false, preserveExistingMetrics: true }) }
}

export class Metrics {
  readonly registry: Registry
  private readonly latency: Histogram
  private readonly rpcCalls: Counter<'method' | 'code'>

  constructor (source: MetricsSource, registry = new Registry()) {
    this.registry = registry
    const r = this.registry
    collectDefaultMetrics({ register: r, prefix: 'tmsg_' })
    // Counters owned by the router are copied at scrape time; prom-client counters only go
    // up, so each is reset and set to the router's value (which itself only goes up).
    for (const key of ROUTER_COUNTERS) {
      new Counter({
        name: `tmsg_messages_${key}_total`,
        help: `node_stats.${key}`,
        registers: [r],
        collect () { this.reset(); this.inc(source.stats()[key]) }
      })
    }
    new Counter({
      name: 'tmsg_messages_dropped_by_reason_total',
      help: 'messages not forwarded or delivered, by reason (node_stats.drops)',
      labelNames: ['reason'],
      registers: [r],
      collect () {
        this.reset()
        for (const [reason, n] of Object.entries(source.stats().drops)) this.inc({ reason }, n)
      }
    })
    new Counter({
      name: 'tmsg_messages_invalid_by_reason_total',
      help: 'invalid messages, by validation failure (node_stats.invalidReasons)',
      labelNames: ['reason'],
      registers: [r],
      collect () {
        this.reset()
        for (const [reason, n] of Object.entries(source.stats().invalidReasons)) this.inc({ reason }, n)
      }
    })
    const gauge = (name: string, help: string, read: (s: RouterStats) => number): void => {
      new Gauge({ name, help, registers: [r], collect () { this.set(read(source.stats())) } })
    }
    gauge('tmsg_seen_cache_entries', 'message ids in the seen cache', s => s.seenCacheSize)
    gauge('tmsg_peers', 'flood neighbours / gossipsub peers', s => s.peers)
    gauge('tmsg_banned_peers', 'peers banned right now', s => s.banned)
    // Per-peer labels stay bounded: a node keeps at most --max-peers connections.
    new Gauge({
      name: 'tmsg_neighbour_queue_bytes',
      help: 'bytes waiting in each neighbour\'s outbound queue',
      labelNames: ['peer'],
      registers: [r],
      collect () {
        this.reset()
        for (const n of source.neighbourStats()) this.set({ peer: n.peerId }, n.queuedBytes)
      }
    })
    new Gauge({
      name: 'tmsg_neighbour_queue_messages',
      help: 'messages waiting in each neighbour\'s outbound queue',
      labelNames: ['peer'],
      registers: [r],
      collect () {
        this.reset()
        for (const n of source.neighbourStats()) this.set({ peer: n.peerId }, n.queuedMessages)
      }
    })
    this.latency = new Histogram({
      name: 'tmsg_delivery_latency_seconds',
      help: 'arrival time here minus the origin\'s timestamp, for messages from others (includes clock skew)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [r]
    })
    this.rpcCalls = new Counter({
      name: 'tmsg_rpc_calls_total',
      help: 'JSON-RPC calls by method and result code (0 = success)',
      labelNames: ['method', 'code'],
      registers: [r]
    })
  }

  /** A message from another node was delivered here. */
  observeDelivery (timestamp: number, receivedAt: number): void {
    this.latency.observe(Math.max(0, receivedAt - timestamp) / 1000)
  }

  /** `method` must come from the fixed method list (or 'unknown'): labels stay bounded. */
  observeRpc (method: string, code: number): void {
    this.rpcCalls.inc({ method, code: String(code) })
  }

  async text (): Promise<string> {
    return await this.registry.metrics()
  }
}

export interface MetricsServer {
  url: string
  close: () => Promise<void>
}

/** Serves `GET /metrics` (Prometheus text format). */
export async function startMetricsServer (metrics: Metrics, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n')
      return
    }
    metrics.text().then(body => {
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body)
    }, (err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`)
    })
  })
  server.headersTimeout = 10_000
  server.requestTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const bound = (server.address() as { port: number }).port
  return {
    url: `http://${isIPv6(host) ? `[${host}]` : host}:${bound}/metrics`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}
