import { afterAll, describe, expect, it } from 'vitest'
import { connectNodes, startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode } from '../helpers/rpc-node.ts'
import { freePort } from '../helpers/proc.ts'
import { waitFor } from '../helpers/wait.ts'
import { resolveConfig, ConfigError } from '../../src/config.ts'

/** The value of one sample line, e.g. `tmsg_peers` or `tmsg_rpc_calls_total{method="x",code="0"}`. */
function sample (text: string, name: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(name + ' '))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

describe('--metrics-port', () => {
  const nodes: RpcNode[] = []
  afterAll(async () => { await Promise.all(nodes.map(async n => await n.stop())) })

  it('is off by default and loopback-only unless allowed', () => {
    expect(resolveConfig({}, {}).metricsPort).toBe(0)
    expect(() => resolveConfig({ metricsHost: '0.0.0.0' }, {})).toThrow(ConfigError)
    expect(resolveConfig({ metricsHost: '0.0.0.0', metricsAllowRemote: true }, {}).metricsHost).toBe('0.0.0.0')
  })

  it('serves Prometheus text with the router counters, drops by reason, queues, latency and RPC calls', async () => {
    const mport = await freePort()
    const a = await startRpcNode(['--no-mdns', '--metrics-port', String(mport)])
    nodes.push(a)
    const b = await startRpcNode(['--no-mdns'])
    nodes.push(b)
    await connectNodes(a, b)
    await a.call('chat_join', { room: '#metrics' })
    await b.call('chat_join', { room: '#metrics' })
    await b.call('chat_send', { to: '#metrics', text: 'hello metrics' })
    await waitFor(async () => (await a.call<{ delivered: number }>('node_stats')).delivered >= 1, 'delivery at a', 30_000)
    // `delivered` counts the router's hand-over, before the signature check off the loop; the
    // latency histogram (below) is fed only once the app has the message.
    await waitFor(async () => (await a.call<any[]>('msg_history', { target: '#metrics' })).some(m => m.text === 'hello metrics'), 'the app to have it', 30_000)
    await expect(a.call('no_such_method')).rejects.toMatchObject({ code: -32601 })
    const garbage = await fetch(`http://127.0.0.1:${a.port}/`, { method: 'POST', body: '{not json', headers: { authorization: `Bearer ${a.secret}` } })
    expect(((await garbage.json()) as { error: { code: number } }).error.code).toBe(-32700)

    const stats = await a.call<{ delivered: number, received: number, seenCacheSize: number }>('node_stats')
    const res = await fetch(`http://127.0.0.1:${mport}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    expect(sample(text, 'tmsg_messages_delivered_total')).toBe(stats.delivered)
    expect(sample(text, 'tmsg_messages_received_total')).toBe(stats.received)
    expect(sample(text, 'tmsg_seen_cache_entries')).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'tmsg_peers')).toBe(1)
    for (const reason of ['rateLimited', 'queueOverflow', 'unknownReply', 'banned']) {
      expect(sample(text, `tmsg_messages_dropped_by_reason_total{reason="${reason}"}`)).toBe(0)
    }
    expect(sample(text, `tmsg_neighbour_queue_bytes{peer="${b.ready.peerId}"}`)).toBeGreaterThanOrEqual(0)
    expect(sample(text, 'tmsg_delivery_latency_seconds_count')).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'tmsg_rpc_calls_total{method="node_stats",code="0"}')).toBeGreaterThanOrEqual(2)
    expect(sample(text, 'tmsg_rpc_calls_total{method="unknown",code="-32601"}')).toBe(1)
    expect(sample(text, 'tmsg_rpc_calls_total{method="invalid",code="-32700"}')).toBe(1)
    expect(sample(text, 'tmsg_process_resident_memory_bytes')).toBeGreaterThan(10_000_000)
    // libp2p's own side (@libp2p/prometheus-metrics): connections and protocol streams.
    expect(sample(text, 'libp2p_connection_manager_connections{libp2p_connection_manager_connections="outbound"}')).toBe(1)
    expect(sample(text, 'libp2p_protocol_streams_total{protocol="outbound /tmsg/flood/1.0.0"}')).toBe(1)
    expect((await fetch(`http://127.0.0.1:${mport}/other`)).status).toBe(404)
  }, 60_000)
})
