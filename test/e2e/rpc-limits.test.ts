import { afterAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { connect } from 'node:net'
import { WebSocket } from 'ws'
import { startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode } from '../helpers/rpc-node.ts'
import { freePort, tempDatadir } from '../helpers/proc.ts'
import { waitFor } from '../helpers/wait.ts'
import { App } from '../../src/app.ts'
import { resolveConfig } from '../../src/config.ts'
import { startRpcServer } from '../../src/rpc/server.ts'
import { rawDataText } from '../../src/rpc/ws.ts'

const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

const BAD_BODIES = [
  '{not json', '[]', '[1,2,3]', '{"jsonrpc":"2.0"}', '{"jsonrpc":"2.0","id":1,"method":"no_such"}',
  '{"jsonrpc":"2.0","id":1,"method":"chat_join","params":["#x"]}', '{"jsonrpc":"2.0","id":1,"method":"msg_history","params":{"target":"zz","limit":99999}}',
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'msg_send', params: { target: 'x'.repeat(5000), payload: 'y' } }), '\u0000\u0001\u0002', '"str"'
]

async function post (agent: Agent, port: number, secret: string | undefined, body: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: { 'content-type': 'application/json', ...(secret !== undefined ? { authorization: `Bearer ${secret}` } : {}) } }, res => {
      res.resume()
      res.on('end', () => { resolve(res.statusCode ?? 0) })
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** One WebSocket connect, one call, close. 'refused' when the server is at its session cap. */
async function wsRound (port: number, secret: string): Promise<string> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${secret}` } })
  try {
    const opened = await new Promise<boolean>((resolve, reject) => {
      ws.once('open', () => { resolve(true) })
      ws.once('unexpected-response', (_req, res) => { if (res.statusCode === 503) resolve(false); else reject(new Error(`HTTP ${res.statusCode}`)) })
      ws.once('error', reject)
    })
    if (!opened) return 'refused'
    const answer = new Promise<string>(resolve => ws.once('message', d => { resolve(rawDataText(d)) }))
    ws.send('{"jsonrpc":"2.0","id":7,"method":"node_info"}{garbage')
    return await answer
  } finally {
    ws.terminate()
  }
}

describe('JSON-RPC under abuse', () => {
  const nodes: RpcNode[] = []
  afterAll(async () => { await Promise.all(nodes.map(async n => await n.stop())) })

  it('10,000 malformed requests and 1,000 WebSocket connects leave the node alive with memory flat', async () => {
    const mport = await freePort()
    const node = await startRpcNode(['--no-mdns', '--metrics-port', String(mport)])
    const heap = async (): Promise<number> => Number(/^tmsg_nodejs_heap_size_used_bytes (\S+)$/m.exec(await (await fetch(`http://127.0.0.1:${mport}/metrics`)).text())![1])
    const heaps: number[] = []
    nodes.push(node)
    const pid = node.proc.proc.pid!
    const agent = new Agent({ keepAlive: true, maxSockets: 16 })
    const statuses = new Map<number, number>()
    const burst = async (n: number, from: number): Promise<void> => {
      for (let i = from; i < from + n; i += 50) {
        const codes = await Promise.all(Array.from({ length: 50 }, async (_, j) => await post(agent, node.port, (i + j) % 10 === 9 ? undefined : node.secret, BAD_BODIES[(i + j) % BAD_BODIES.length]!)))
        for (const c of codes) statuses.set(c, (statuses.get(c) ?? 0) + 1)
      }
    }
    // RSS after each quarter: a leak grows with every request; V8's heap settles after a while.
    const rss: number[] = [rssOf(pid)]
    for (let q = 0; q < 4; q++) {
      await burst(2500, q * 2500)
      rss.push(rssOf(pid))
      heaps.push(await heap())
    }
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(10_000) // every one answered
    expect(statuses.get(401)).toBe(1000)
    for (const code of statuses.keys()) expect([200, 204, 401, 429]).toContain(code)
    agent.destroy()

    let refused = 0
    for (let i = 0; i < 1000; i += 25) {
      const answers = await Promise.all(Array.from({ length: 25 }, async () => await wsRound(node.port, node.secret)))
      for (const a of answers) {
        if (a === 'refused') refused++ // the session cap, while the server has not yet seen earlier closes
        else expect(JSON.parse(a)).toMatchObject({ jsonrpc: '2.0' })
      }
    }
    expect(refused).toBeLessThan(500)
    // Sessions are released: a new client gets in again.
    await waitFor(async () => await wsRound(node.port, node.secret) !== 'refused', 'a WebSocket session to be free again', 10_000, 100)
    rss.push(rssOf(pid))
    heaps.push(await heap())
    const info = await node.call<{ peerId: string }>('node_info')
    expect(info.peerId).toBe(node.ready.peerId)
    expect(node.proc.proc.exitCode).toBeNull()
    // Flat: the second half of the requests (5,000) and the 1,000 WebSocket clients add less
    // than 20 MB; a leak of 4 KiB per request or socket would add more.
    expect(rss[4]! - rss[2]!).toBeLessThan(20 * 1024 * 1024)
    expect(rss[5]! - rss[2]!).toBeLessThan(20 * 1024 * 1024)
    expect(heaps[4]! - heaps[1]!).toBeLessThan(20 * 1024 * 1024) // live heap, from the node's own metrics
    // The metrics' RPC counter stays bounded: bad method names share one label.
    const text = await (await fetch(`http://127.0.0.1:${mport}/metrics`)).text()
    expect(text.split('\n').filter(l => l.startsWith('tmsg_rpc_calls_total{')).length).toBeLessThan(20)
  }, 120_000)

  it('survives WebSocket upgrades whose clients reset the connection at once', async () => {
    const node = await startRpcNode(['--no-mdns'])
    nodes.push(node)
    // Refused (no credentials) and accepted (with them) upgrades, each reset right after its
    // request: the server then writes to, or reads from, a socket the client has torn down.
    const upgrade = async (auth: boolean): Promise<void> => await new Promise(resolve => {
      const s = connect(node.port, '127.0.0.1', () => {
        s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
          (auth ? `Authorization: Bearer ${node.secret}\r\n` : '') + '\r\n', () => { s.resetAndDestroy(); resolve() })
      })
      s.on('error', () => { resolve() })
    })
    for (let i = 0; i < 200; i++) await Promise.all([upgrade(false), upgrade(true)])
    const info = await node.call<{ peerId: string }>('node_info')
    expect(info.peerId).toBe(node.ready.peerId)
    expect(node.proc.proc.exitCode).toBeNull()
  })

  it('limits calls per client and open WebSocket sessions', async () => {
    const datadir = tempDatadir()
    const app = await App.start(resolveConfig({ datadir, port: 0, rpcPort: 0, mdns: false, host: '127.0.0.1' }, {}), { logToStderr: false })
    try {
      const port = await freePort()
      const rpc = await startRpcServer(app, { host: '127.0.0.1', port, allowRemote: false, cookiePath: `${datadir}/rpc.cookie`, callsPerSecond: 0.01, callBurst: 20, maxWsSessions: 3 })
      const secret = readFileSync(`${datadir}/rpc.cookie`, 'utf8').trim().split(':')[1]!
      const agent = new Agent({ keepAlive: true, maxSockets: 1 })
      const codes: number[] = []
      for (let i = 0; i < 40; i++) codes.push(await post(agent, port, secret, '{"jsonrpc":"2.0","id":1,"method":"node_info"}'))
      expect(codes.filter(c => c === 200).length).toBeGreaterThanOrEqual(20)
      expect(codes.filter(c => c === 200).length).toBeLessThan(30) // refill is one per 100 s: none during the loop
      expect(codes.filter(c => c === 429).length).toBeGreaterThan(10)
      agent.destroy()
      const open = await Promise.all(Array.from({ length: 3 }, async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${secret}` } })
        await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
        return ws
      }))
      const fourth = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${secret}` } })
      const refused = await new Promise<string>(resolve => {
        fourth.once('unexpected-response', (_req, res) => { resolve(String(res.statusCode)) })
        fourth.once('open', () => { resolve('open') })
        fourth.once('error', e => { resolve(e.message) })
      })
      expect(refused).toMatch(/503/)
      // The rate limit covers WebSocket calls too (same client address, bucket empty).
      const limited = await new Promise<string>(resolve => {
        open[0]!.once('message', d => { resolve(rawDataText(d)) })
        open[0]!.send('{"jsonrpc":"2.0","id":1,"method":"node_info"}')
      })
      expect(JSON.parse(limited)).toMatchObject({ error: { code: -32005 } })
      for (const ws of open) ws.terminate()
      await rpc.close()
    } finally {
      await app.stop()
    }
  }, 60_000)
})
