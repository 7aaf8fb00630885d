/**
 * The RPC client behind `tmsg send/info/peers/rpc/watch`: finds the node through the
 * datadir (its cookie, and the URL it wrote), speaks JSON-RPC over HTTP or WebSocket.
 */
import { readFileSync } from 'node:fs'
import { JSONRPCClient } from 'json-rpc-2.0'
import { WebSocket } from 'ws'
import type { NodeConfig } from '../config.ts'
import { COOKIE_USER, readCookie } from '../rpc/cookie.ts'
import { UsageError } from './errors.ts'
import { datadirPaths } from '../node/datadir.ts'
import { rawDataText } from '../rpc/ws.ts'

/** An error the node answered with. */
export class RemoteError extends Error {
  static name = 'RemoteError'
  override name = 'RemoteError'
  readonly code: number
  readonly data: unknown
  constructor (code: number, message: string, data: unknown) {
    super(message)
    this.code = code
    this.data = data
  }
}

export interface Endpoint {
  url: string
  secret: string
}

/** The node's RPC URL: an explicit --rpc-port/--rpc-host, else what the node wrote, else the default. */
export function findEndpoint (config: NodeConfig): Endpoint {
  const paths = datadirPaths(config.datadir)
  const secret = readCookie(paths.rpcCookie)
  if (secret === undefined) {
    throw new UsageError(`no RPC cookie in ${config.datadir}: is a node running with this --datadir (and its RPC on)?`)
  }
  let url = `http://${config.rpcHost.includes(':') ? `[${config.rpcHost}]` : config.rpcHost}:${config.rpcPort}/`
  if (!config.rpcPortExplicit) {
    try {
      url = readFileSync(paths.rpcUrl, 'utf8').trim()
    } catch {}
  }
  return { url, secret }
}

export class RpcClient {
  readonly endpoint: Endpoint
  private readonly client: JSONRPCClient
  private nextId = 1

  constructor (endpoint: Endpoint) {
    this.endpoint = endpoint
    const auth = 'Basic ' + Buffer.from(`${COOKIE_USER}:${endpoint.secret}`).toString('base64')
    this.client = new JSONRPCClient(async (request) => {
      let res: Response
      try {
        res = await fetch(endpoint.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify(request) })
      } catch (err: unknown) {
        throw new UsageError(`no node answering at ${endpoint.url} (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}): start one with \`tmsg node\`, or pass --rpc-port`)
      }
      if (res.status === 401) throw new UsageError(`the node at ${endpoint.url} refused the cookie: is it the node of this --datadir?`)
      if (res.status === 200) this.client.receive(await res.json() as Parameters<JSONRPCClient["receive"]>[0])
      else if (request.id !== undefined) throw new UsageError(`HTTP ${res.status} from ${endpoint.url}: ${await res.text()}`)
    })
  }

  async call<T = unknown> (method: string, params: Record<string, unknown> = {}): Promise<T> {
    const r = await this.client.requestAdvanced({ jsonrpc: '2.0', id: this.nextId++, method, params })
    if (r.error !== undefined && r.error !== null) throw new RemoteError(r.error.code, r.error.message, r.error.data)
    return r.result as T
  }

  /**
   * Opens a WebSocket and subscribes (`msg_subscribe` or `channel_subscribe`); calls
   * `onReady` once the node confirmed the subscription, then `onMessage` for each
   * notification, until the socket closes or `signal` aborts.
   */
  async watch (sub: { method: 'msg_subscribe' | 'channel_subscribe', params: Record<string, unknown> }, onReady: () => void, onMessage: (m: Record<string, unknown>) => void, signal?: AbortSignal): Promise<void> {
    const notification = sub.method.replace(/_subscribe$/, '_subscription')
    const ws = new WebSocket(this.endpoint.url.replace(/^http/, 'ws'), { headers: { authorization: `Bearer ${this.endpoint.secret}` } })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', (err: Error) => { reject(new UsageError(`cannot open a WebSocket to ${this.endpoint.url}: ${err.message}`)) })
    })
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: sub.method, params: sub.params }))
    await new Promise<void>((resolve, reject) => {
      ws.on('message', data => {
        const msg = JSON.parse(rawDataText(data)) as { id?: number, error?: { code: number, message: string, data: unknown }, method?: string, params?: { result: Record<string, unknown> } }
        if (msg.id === 1) {
          if (msg.error !== undefined) reject(new RemoteError(msg.error.code, msg.error.message, msg.error.data))
          else onReady()
        }
        if (msg.method === notification && msg.params !== undefined) onMessage(msg.params.result)
      })
      ws.once('close', () => { resolve() })
      signal?.addEventListener('abort', () => { ws.close() }, { once: true })
    })
  }
}
