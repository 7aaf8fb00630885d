/** A `tmsg node` process with its RPC on a known port, and clients for it. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import jayson from 'jayson/promise/index.js'
import { WebSocket } from 'ws'
import { freePort, spawnTmsg, stopProcess, tempDatadir } from './proc.ts'
import type { NodeProcess, Ready } from './proc.ts'
import { waitFor } from './wait.ts'
import { rawDataText } from '../../src/rpc/ws.ts'

export interface RpcNode {
  proc: NodeProcess
  ready: Ready
  datadir: string
  port: number
  secret: string
  http: jayson.HttpClient
  /** Calls a method; returns the result or throws the JSON-RPC error object. */
  call: <T = any>(method: string, params?: Record<string, unknown>) => Promise<T>
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

export async function startRpcNode (args: string[] = [], datadir = tempDatadir(), port?: number, env: NodeJS.ProcessEnv = {}): Promise<RpcNode> {
  let rpcPort: number
  let proc: NodeProcess
  let ready: Ready
  for (let attempt = 1; ; attempt++) {
    rpcPort = port ?? await freePort()
    proc = spawnTmsg(['node', '--datadir', datadir, '--port', '0', '--rpc-port', String(rpcPort), ...args], env)
    try {
      ready = await proc.ready
      break
    } catch (err: unknown) {
      // freePort() only says the port was free a moment ago: another process (a node listening
      // on port 0, a client's ephemeral port) may take it before this node binds it.
      if (port !== undefined || attempt >= 3 || !/already in use|EADDRINUSE/.test(proc.stderr()) || !proc.stderr().includes(String(rpcPort))) throw err
    }
  }
  const secret = readFileSync(join(datadir, 'rpc.cookie'), 'utf8').trim().split(':')[1]!
  const http = jayson.Client.http({ host: '127.0.0.1', port: rpcPort, headers: { authorization: `Bearer ${secret}` } })
  const call = async <T>(method: string, params: Record<string, unknown> = {}): Promise<T> => {
    const r = await http.request(method, params)
    if (r.error !== undefined) throw Object.assign(new Error(r.error.message), r.error)
    return r.result as T
  }
  return { proc, ready, datadir, port: rpcPort, secret, http, call, stop: async (signal = 'SIGTERM') => await stopProcess(proc, signal) }
}

export interface WsClient {
  ws: WebSocket
  notifications: any[]
  /** channel_subscription notifications' params, in arrival order. */
  channelEvents: any[]
  /** wallet_subscription notifications' params, in arrival order. */
  walletEvents: any[]
  request: (method: string, params?: Record<string, unknown>) => Promise<any>
  close: () => void
}

export async function openWs (node: RpcNode): Promise<WsClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${node.port}/`, { headers: { authorization: `Bearer ${node.secret}` } })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  const notifications: any[] = []
  const channelEvents: any[] = []
  const walletEvents: any[] = []
  const pending = new Map<number, (r: any) => void>()
  let id = 0
  ws.on('message', data => {
    const m = JSON.parse(rawDataText(data))
    if (m.method === 'msg_subscription') notifications.push(m.params)
    else if (m.method === 'channel_subscription') channelEvents.push(m.params)
    else if (m.method === 'wallet_subscription') walletEvents.push(m.params)
    else pending.get(m.id)?.(m)
  })
  return {
    ws,
    notifications,
    channelEvents,
    walletEvents,
    request: async (method, params = {}) => await new Promise(resolve => {
      const i = ++id
      pending.set(i, resolve)
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: i, method, params }))
    }),
    close: () => { ws.close() }
  }
}

/** Connects a to b over P2P and waits until each floods to the other (not just connected). */
export async function connectNodes (a: RpcNode, b: RpcNode): Promise<void> {
  await a.call('peers_connect', { address: b.ready.p2p })
  const floodsTo = async (x: RpcNode, y: RpcNode): Promise<boolean> => (await x.call<any[]>('peers_list')).some(p => p.peerId === y.ready.peerId && p.neighbour === true)
  await waitFor(async () => await floodsTo(a, b) && await floodsTo(b, a), 'peers to be each other\'s flood neighbours', 30_000)
}
