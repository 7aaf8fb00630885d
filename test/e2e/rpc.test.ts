/**
 * JSON-RPC against real `tmsg node` processes: every method over HTTP with a third-party
 * client (jayson), WebSocket subscriptions across two nodes, history across a restart, and
 * bad input of every kind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'node:http'
import { WebSocket } from 'ws'
import { connectNodes, openWs, startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode } from '../helpers/rpc-node.ts'
import { waitFor } from '../helpers/wait.ts'
import { RPC_METHODS as METHODS } from '../../src/rpc/api.ts'

/** Raw HTTP, for what a well-behaved client library would never send. */
async function raw (port: number, body: string | Buffer, headers: Record<string, string> = {}, method = 'POST', path = '/'): Promise<{ status: number, body: string, headers: Record<string, unknown> }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', ...headers } }, res => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', d => { data += d })
      res.on('end', () => { resolve({ status: res.statusCode!, body: data, headers: res.headers }) })
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Every result is checked against the method table's own result schema: docs cannot lie. */
function checkResult (method: string, result: unknown): void {
  const def = METHODS.find(m => m.name === method)
  if (def === undefined) return
  const r = def.result.safeParse(result)
  expect(r.success, `${method} result matches its schema: ${JSON.stringify(r.error?.issues)}`).toBe(true)
}

describe('JSON-RPC over HTTP and WebSocket', () => {
  let a: RpcNode
  let b: RpcNode
  const auth = (n: RpcNode): Record<string, string> => ({ authorization: `Bearer ${n.secret}` })

  beforeAll(async () => {
    [a, b] = await Promise.all([startRpcNode(['--nick', 'alice']), startRpcNode()])
    await connectNodes(a, b)
  })
  afterAll(async () => { await Promise.all([a?.stop(), b?.stop()]) })

  it('answers every method of the table with the documented shape', async () => {
    const call = async (method: string, params: Record<string, unknown> = {}): Promise<any> => {
      const r = await a.call(method, params)
      checkResult(method, r)
      return r
    }
    expect(await call('node_info')).toMatchObject({ peerId: a.ready.peerId, account: a.ready.account, nick: 'alice', router: 'flood' })
    expect(await call('node_stats')).toMatchObject({ peers: 1, invalid: 0 })
    expect(await call('peers_list')).toEqual([expect.objectContaining({ peerId: b.ready.peerId, direction: 'outbound', neighbour: true })])
    expect(await call('chat_join', { room: '#Alpha' })).toBe(true)
    expect(await call('chat_nick', { nick: 'alice2' })).toBe(true)
    expect(await call('targets_subscribe', { target: '00112233445566778899aabbccddeeff' })).toBe(true)
    expect(await call('targets_list')).toEqual(expect.arrayContaining(['#alpha', '@alice2', `acct:${a.ready.account}`, '00112233445566778899aabbccddeeff']))
    expect(await call('targets_list')).not.toContain('@alice')
    const { msgId } = await call('chat_send', { to: '#alpha', text: 'hi there', action: true })
    const sent = await call('msg_send', { target: '00112233445566778899aabbccddeeff', payload: 'AAEC/w==', encoding: 'base64' })
    const history = await call('msg_history', { target: '#alpha' })
    expect(history).toEqual([expect.objectContaining({ msgId, nick: 'alice2', text: 'hi there', action: true, kind: 'chat', verified: true, targetName: '#alpha' })])
    expect(await call('msg_history', { target: '00112233445566778899aabbccddeeff' })).toEqual([expect.objectContaining({ msgId: sent.msgId, payload: 'AAEC/w==', encoding: 'base64', kind: 'data' })])
    expect(await call('msg_history', { target: '#alpha', before: msgId })).toEqual([])
    expect(await call('targets_unsubscribe', { target: '00112233445566778899aabbccddeeff' })).toBe(true)
    expect(await call('chat_part', { room: '#alpha' })).toBe(true)
    const doc = await call('rpc.discover')
    expect(doc.openrpc).toMatch(/^1\./)
    expect(doc.methods.map((m: { name: string }) => m.name).sort()).toEqual(METHODS.map(m => m.name).sort())
    expect(await call('peers_disconnect', { peerId: b.ready.peerId })).toBe(true)
    await waitFor(async () => (await a.call<any[]>('peers_list')).length === 0, 'disconnect')
    expect((await call('peers_connect', { address: b.ready.p2p })).peerId).toBe(b.ready.peerId)
  })

  it('delivers msg_send on one node to a msg_subscribe client on the other, and keeps it in the history across a restart', async () => {
    await b.call('targets_subscribe', { target: '#beta' })
    const ws = await openWs(b)
    const sub = await ws.request('msg_subscribe', { targets: ['#beta'] })
    expect(sub.result).toMatch(/^s\d+$/)
    const { msgId } = await a.call('msg_send', { target: '#beta', payload: 'over the wire' })
    await waitFor(() => ws.notifications.length > 0, 'the notification')
    expect(ws.notifications[0]).toEqual({ subscription: sub.result, result: expect.objectContaining({ msgId, payload: 'over the wire', encoding: 'utf8', targetName: '#beta', verified: true, account: a.ready.account, hops: 0 }) })
    checkResult('msg_history', [ws.notifications[0].result])
    expect((await ws.request('msg_unsubscribe', { subscription: sub.result })).result).toBe(true)
    expect((await ws.request('msg_unsubscribe', { subscription: sub.result })).error.data.name).toBe('NotFound')
    ws.close()

    expect(await b.stop()).toBe(0)
    b = await startRpcNode([], b.datadir, b.port)
    expect(await b.call('targets_list')).toContain('#beta') // the subscription survived too
    expect((await b.call<any[]>('msg_history', { target: '#beta' })).map(m => m.msgId)).toEqual([msgId])
    await connectNodes(a, b)
  })

  it('lists the conversations and resolves @nick to the key heard signing it (chat_conversations, chat_resolve)', async () => {
    const call = async (method: string, params: Record<string, unknown> = {}): Promise<any> => {
      const r = await a.call(method, params)
      checkResult(method, r)
      return r
    }
    await expect(a.call('chat_resolve', { to: '@carol' })).rejects.toMatchObject({ code: -32002 }) // nobody heard as carol
    await a.call('chat_join', { room: '#gamma' })
    await b.call('chat_nick', { nick: 'carol' })
    await b.call('chat_join', { room: '#gamma' })
    await b.call('chat_send', { to: '#gamma', text: 'carol here' })
    await waitFor(async () => (await a.call<any[]>('msg_history', { target: '#gamma' })).some(m => m.text === 'carol here'), 'alice to hear carol')
    expect(await call('chat_resolve', { to: '@Carol' })).toEqual({ account: b.ready.account, nick: 'carol' })
    expect(await call('chat_resolve', { to: `acct:${b.ready.account}` })).toMatchObject({ account: b.ready.account })
    await expect(a.call('chat_resolve', { to: 'nonsense' })).rejects.toMatchObject({ code: -32602 })
    await a.call('chat_send', { to: '@carol', text: 'just us' })
    const list = await call('chat_conversations')
    expect(list.rooms).toContain('#gamma')
    expect(list.rooms.every((r: string) => r.startsWith('#'))).toBe(true)
    expect(list.direct[0]).toEqual({ account: b.ready.account, nick: 'carol' }) // most recent first
  })

  it('answers batches, and nothing for notifications', async () => {
    const r = await raw(a.port, JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'node_info' },
      { jsonrpc: '2.0', method: 'node_stats' },
      { jsonrpc: '2.0', id: 2, method: 'nope' }
    ]), auth(a))
    const body = JSON.parse(r.body)
    expect(body.map((x: { id: number }) => x.id)).toEqual([1, 2])
    expect(body[1].error).toMatchObject({ code: -32601, data: { name: 'MethodNotFound' } })
    const n = await raw(a.port, JSON.stringify({ jsonrpc: '2.0', method: 'node_info' }), auth(a))
    expect([n.status, n.body]).toEqual([204, ''])
  })

  it.each([
    ['invalid JSON', '{"jsonrpc": "2.0", "id": 1, "method": ', -32700, 'ParseError'],
    ['wrong jsonrpc version', '{"jsonrpc":"1.0","id":1,"method":"node_info"}', -32600, 'InvalidRequest'],
    ['unknown method', '{"jsonrpc":"2.0","id":1,"method":"node_rm_rf"}', -32601, 'MethodNotFound'],
    ['wrong param type', '{"jsonrpc":"2.0","id":1,"method":"msg_history","params":{"target":"#x","limit":"ten"}}', -32602, 'InvalidParams'],
    ['unknown param', '{"jsonrpc":"2.0","id":1,"method":"chat_join","params":{"room":"#x","rom":1}}', -32602, 'InvalidParams'],
    ['params by position', '{"jsonrpc":"2.0","id":1,"method":"chat_join","params":["#x"]}', -32602, 'InvalidParams'],
    ['unknown target syntax', '{"jsonrpc":"2.0","id":1,"method":"msg_send","params":{"target":"lobby","payload":"x"}}', -32602, 'TargetSyntaxError'],
    ['bad base64', '{"jsonrpc":"2.0","id":1,"method":"msg_send","params":{"target":"#x","payload":"***","encoding":"base64"}}', -32602, 'InvalidParams'],
    ['payload too large', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'msg_send', params: { target: '#x', payload: 'x'.repeat(16_385) } }), -32004, 'PayloadTooLargeError'],
    ['subscribe over HTTP', '{"jsonrpc":"2.0","id":1,"method":"msg_subscribe"}', -32600, 'InvalidRequest'],
    ['unknown history anchor', '{"jsonrpc":"2.0","id":1,"method":"msg_history","params":{"target":"#x","before":"00112233445566778899aabbccddeeff"}}', -32002, 'NotFound'],
    ['not a multiaddr', '{"jsonrpc":"2.0","id":1,"method":"peers_connect","params":{"address":"192.168.1.5:4004"}}', -32602, 'BadAddressError'],
    ['a multiaddr with a bad IPv4 address', '{"jsonrpc":"2.0","id":1,"method":"peers_connect","params":{"address":"/ip4/1.2.3/tcp/4004"}}', -32602, 'BadAddressError']
  ])('%s → %i %s, and the node keeps serving', async (_what, body, code, name) => {
    const r = await raw(a.port, body, auth(a))
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body).error).toMatchObject({ code, data: { name } })
    expect((await a.call('node_info')).peerId).toBe(a.ready.peerId)
  })

  it('refuses an oversize body with 413', async () => {
    const r = await raw(a.port, Buffer.alloc(1024 * 1024 + 1, 0x20), auth(a))
    expect(r.status).toBe(413)
    expect(JSON.parse(r.body).error.code).toBe(-32600)
    expect((await a.call('node_info')).peerId).toBe(a.ready.peerId)
  })

  it('requires the cookie: 401 without it or with a wrong one, Basic and Bearer both work', async () => {
    const body = '{"jsonrpc":"2.0","id":1,"method":"node_info"}'
    expect((await raw(a.port, body)).status).toBe(401)
    expect((await raw(a.port, body, { authorization: 'Bearer ' + '0'.repeat(64) })).status).toBe(401)
    expect((await raw(a.port, body, { authorization: 'Basic ' + Buffer.from(`__cookie__:${'1'.repeat(64)}`).toString('base64') })).status).toBe(401)
    expect((await raw(a.port, body, { authorization: 'Basic ' + Buffer.from(`__cookie__:${a.secret}`).toString('base64') })).status).toBe(200)
    const unauth = await raw(a.port, body)
    expect(unauth.headers['www-authenticate']).toMatch(/Basic/)
    expect(JSON.parse(unauth.body).error).toMatchObject({ code: -32001, data: { name: 'Unauthorized' } })
    await expect(new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${a.port}/`)
      ws.once('open', () => { reject(new Error('opened without a cookie')) })
      ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode) })
      ws.once('error', () => {})
    })).resolves.toBe(401)
  })

  it('refuses foreign Host and Origin headers (DNS rebinding) and sends no CORS header', async () => {
    const body = '{"jsonrpc":"2.0","id":1,"method":"node_info"}'
    expect((await raw(a.port, body, { ...auth(a), host: 'attacker.example:4003' })).status).toBe(403)
    expect((await raw(a.port, body, { ...auth(a), origin: 'http://attacker.example' })).status).toBe(403)
    const ok = await raw(a.port, body, { ...auth(a), origin: `http://127.0.0.1:${a.port}` })
    expect(ok.status).toBe(200)
    expect(ok.headers['access-control-allow-origin']).toBeUndefined()
    expect((await raw(a.port, '', auth(a), 'PUT')).status).toBe(405) // GET / is the web chat (web.test.ts)
  })

  it('drops a WebSocket client that never reads, and only that client', async () => {
    await a.call('targets_subscribe', { target: '#flood' })
    const slow = await openWs(a)
    const healthy = await openWs(a)
    await slow.request('msg_subscribe', { targets: ['#flood'] })
    await healthy.request('msg_subscribe', { targets: ['#flood'] })
    const socket = (slow.ws as unknown as { _socket: { pause: () => void, resume: () => void } })._socket
    socket.pause() // stops reading: the server's send buffer fills up
    const big = 'x'.repeat(16_000)
    await waitFor(async () => {
      await Promise.all(Array.from({ length: 20 }, async () => await a.call('msg_send', { target: '#flood', payload: big })))
      return a.proc.stderr().includes('dropping a WebSocket client that does not read')
    }, 'the node to drop the slow client', 45_000, 0)
    let closed = false
    slow.ws.once('close', () => { closed = true })
    socket.resume()
    await waitFor(() => closed, 'the slow client to see its connection closed')
    expect(healthy.notifications.length).toBeGreaterThan(20)
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN)
    expect((await a.call('node_info')).peerId).toBe(a.ready.peerId)
    healthy.close()
  })
})
