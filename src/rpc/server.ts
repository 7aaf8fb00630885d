/**
 * The JSON-RPC 2.0 server (DESIGN §6): HTTP `POST /` and a WebSocket endpoint on the same
 * port, loopback by default, cookie auth, Host/Origin checks against DNS rebinding, no CORS.
 * Dispatch, batches and notifications are json-rpc-2.0's; the methods come from methods.ts.
 * `GET /` serves the web chat (DESIGN §12, web.ts), which logs in to the same RPC by cookie.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { isIPv6 } from 'node:net'
import { rmSync, writeFileSync } from 'node:fs'
import { JSONRPCServer } from 'json-rpc-2.0'
import type { JSONRPCResponse } from 'json-rpc-2.0'
import type { WebSocket, WebSocketServer } from 'ws'
import type { App } from '../app.ts'
import type { Message } from '../message.ts'
import type { ChannelEvent } from '../layer2/channels/events.ts'
import type { WalletEvent } from '../layer2/context.ts'
import { authorized, removeCookie, writeCookie } from './cookie.ts'
import { errorNameOf, RpcError, toRpcError } from './errors.ts'
import { RPC_METHODS } from './api.ts'
import { hasSession, loginUrl, webPages } from './web.ts'
import { rawDataText } from './ws.ts'
import type { RpcContext, RpcSession } from './methods.ts'
import { z } from 'zod'
import { LRUCache } from 'lru-cache'
import { TokenBucket } from '../flood/token-bucket.ts'

export interface RpcServerInit {
  host: string
  port: number
  allowRemote: boolean
  cookiePath: string
  /** Where the URL is written for clients (the port may have moved off the default). */
  urlPath?: string
  /** @default 1 MiB */
  maxBodyBytes?: number
  /** A WebSocket client with more than this waiting to be sent is too slow: dropped. @default 4 MiB */
  maxWsBufferedBytes?: number
  /** JSON-RPC calls per second per client address (HTTP and WebSocket together). @default 5000 */
  callsPerSecond?: number
  /** Calls a client may make at once before the per-second rate applies. @default 10000 */
  callBurst?: number
  /** Open WebSocket sessions, all clients together. @default 64 */
  maxWsSessions?: number
  /** Open HTTP/WebSocket connections, all clients together. @default 256 */
  maxConnections?: number
}

/**
 * Defaults well above what a UI or script does (the bench's msg_send loop makes ~2,000
 * calls/s) and low enough that one client cannot take the node's CPU or memory.
 */
export const RPC_CALLS_PER_SECOND = 5000
export const RPC_CALL_BURST = 10_000
export const RPC_MAX_WS_SESSIONS = 64
export const RPC_MAX_CONNECTIONS = 256

export interface RpcServer {
  url: string
  port: number
  /** The web chat's login URL (DESIGN §12): holds the secret, so it is shown to the owner only. */
  loginUrl: string
  close: () => Promise<void>
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

export async function startRpcServer (app: App, init: RpcServerInit): Promise<RpcServer> {
  const maxBody = init.maxBodyBytes ?? 1024 * 1024
  const maxBuffered = init.maxWsBufferedBytes ?? 4 * 1024 * 1024
  const log = app.log.child({ component: 'rpc' })
  const maxWsSessions = init.maxWsSessions ?? RPC_MAX_WS_SESSIONS
  // One bucket per client address; the LRU bounds the map against many addresses.
  const buckets = new LRUCache<string, TokenBucket>({ max: 4096 })
  const allow = (req: IncomingMessage, calls: number): boolean => {
    const key = req.socket.remoteAddress ?? '?'
    let b = buckets.get(key)
    if (b === undefined) {
      b = new TokenBucket(init.callsPerSecond ?? RPC_CALLS_PER_SECOND, init.callBurst ?? RPC_CALL_BURST, Date.now())
      buckets.set(key, b)
    }
    return b.take(Date.now(), calls)
  }

  const rpc = new JSONRPCServer<RpcContext>()
  rpc.mapErrorToJSONRPCErrorResponse = (id, error: unknown) => {
    const e = toRpcError(error)
    if (e.code === -32603) log.error({ err: error }, 'RPC method failed')
    return { jsonrpc: '2.0', id, error: { code: e.code, message: e.message, data: e.data } }
  }
  // RPC calls by method and code, for the metrics; unknown names are one label (bounded).
  const known = new Set(RPC_METHODS.map(m => m.name))
  rpc.applyMiddleware(async (next, request, ctx) => {
    const response = await next(request, ctx)
    app.metrics?.observeRpc(known.has(request.method) ? request.method : 'unknown', response?.error?.code ?? 0)
    return response
  })
  for (const m of RPC_METHODS) {
    rpc.addMethod(m.name, async (params, ctx) => {
      if (m.websocketOnly === true && ctx.session === undefined) throw new RpcError('InvalidRequest', `${m.name} needs a WebSocket connection (ws://…/)`)
      if (Array.isArray(params)) throw new RpcError('InvalidParams', 'params must be an object (by name)')
      const parsed = m.params.safeParse(params ?? {})
      if (!parsed.success) {
        throw new RpcError('InvalidParams', `${m.name}: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`, { issues: parsed.error.issues.map(i => ({ path: i.path.join('.'), message: i.message })) })
      }
      return await m.handler(parsed.data, ctx)
    })
  }

  const boundPort = { value: init.port }
  const hostOk = (req: IncomingMessage): boolean => {
    if (init.allowRemote) return true
    const host = req.headers.host
    if (host === undefined) return false
    const name = host.replace(/:\d+$/, '').toLowerCase()
    return LOOPBACK_HOSTS.has(name)
  }
  // Browsers send Origin; a page elsewhere must never drive this node (no CORS either). The
  // node's own page is the one origin allowed: with --rpc-allow-remote, whatever Host it was
  // reached by.
  const originOk = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin
    if (origin === undefined) return true
    try {
      const u = new URL(origin)
      // Remote: https too, for a TLS proxy in front that passes the Host header through.
      if (init.allowRemote) return (u.protocol === 'http:' || u.protocol === 'https:') && u.host === req.headers.host
      if (u.protocol !== 'http:') return false
      return LOOPBACK_HOSTS.has(u.hostname === '::1' ? '[::1]' : u.hostname) && Number(u.port) === boundPort.value
    } catch {
      return false
    }
  }
  // The §6 header, or the web page's session cookie. A cookie is sent by the browser on its
  // own, so it counts only with the Origin a browser always sends on POST and WebSocket,
  // which originOk has checked is this node's page.
  const authed = (req: IncomingMessage): boolean =>
    authorized(req.headers.authorization, secret) || (req.headers.origin !== undefined && hasSession(req, secret, boundPort.value))
  const web = webPages({ secret: () => secret, port: () => boundPort.value })

  const handle = async (body: string, ctx: RpcContext): Promise<string | undefined> => {
    const response = await rpc.receiveJSON(body, ctx)
    if (response === null) return undefined
    if (!Array.isArray(response) && (response.error?.code === -32700 || response.error?.code === -32600)) app.metrics?.observeRpc('invalid', response.error.code)
    return JSON.stringify(Array.isArray(response) ? response.map(withErrorName) : withErrorName(response))
  }

  const server = createServer({ keepAliveTimeout: 30_000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    serveHttp(req, res).catch((err: unknown) => {
      log.error({ err }, 'HTTP handler failed')
      if (!res.headersSent) reply(res, 500, { error: 'internal error' })
    })
  })
  // Connections beyond this are closed at once: a client opening sockets in a loop cannot
  // use up the node's file descriptors.
  server.maxConnections = init.maxConnections ?? RPC_MAX_CONNECTIONS

  const serveHttp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostOk(req) || !originOk(req)) return reply(res, 403, { error: 'forbidden host or origin' })
    if (web.serve(req, res)) return
    if ((req.url ?? '/') !== '/') return reply(res, 404, { error: 'not found: POST / (JSON-RPC), a WebSocket on /, or the web chat at GET /' })
    if (req.method !== 'POST') return reply(res, 405, { error: 'use POST / with a JSON-RPC 2.0 body' }, { allow: 'POST, GET' })
    if (!authed(req)) {
      // No Basic challenge for a browser's page: it would pop up a password dialog.
      return reply(res, 401, rpcErrorBody('Unauthorized', 'missing or wrong cookie: see <datadir>/rpc.cookie, or log in with the URL `tmsg web` prints'), req.headers.origin === undefined ? { 'www-authenticate': 'Basic realm="tmsg"' } : {})
    }
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > maxBody) return tooLarge(req, res, maxBody, true)
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    // Read to the end even past the limit (leaving the loop early would destroy the request
    // and reset the connection); tooLarge bounds how long that goes on.
    try {
      for await (const chunk of req) {
        if (over) continue
        size += (chunk as Buffer).length
        if (size > maxBody) {
          over = true
          chunks.length = 0
          tooLarge(req, res, maxBody, false)
        } else {
          chunks.push(chunk as Buffer)
        }
      }
    } catch (err: unknown) {
      if (over) return // cut after the linger: the client had its answer
      throw err
    }
    if (over) return
    if (!allow(req, 1)) {
      app.metrics?.observeRpc('limited', -32005)
      return reply(res, 429, rpcErrorBody('RateLimited', 'too many JSON-RPC calls from this client: slow down'), { 'retry-after': '1' })
    }
    const out = await handle(Buffer.concat(chunks).toString('utf8'), { app })
    if (out === undefined) {
      res.writeHead(204).end() // only notifications: no response body (JSON-RPC 2.0 §6)
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(out)
  }

  // ---- WebSocket --------------------------------------------------------------------------
  // `ws` is loaded with the first WebSocket client (the web chat, `tmsg listen`): ~1.2 MB of
  // heap a node that only relays, or answers HTTP calls, never needs.
  let wss: Promise<WebSocketServer> | undefined
  let closing = false
  const sessions = new Set<WsSession>()
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands an upgrade's socket over with no 'error' listener: until ws adds its own, a
    // client resetting the connection (after a refusal, or while ws loads) would throw an
    // uncaught ECONNRESET and take the node down.
    const onSocketError = (): void => { socket.destroy() }
    socket.on('error', onSocketError)
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
    }
    if (!hostOk(req) || !originOk(req)) return refuse(403, 'Forbidden')
    if ((req.url ?? '/') !== '/') return refuse(404, 'Not Found')
    if (!authed(req)) return refuse(401, 'Unauthorized')
    if (closing || sessions.size >= maxWsSessions) return refuse(503, 'Service Unavailable')
    wss ??= import('ws').then(({ WebSocketServer }) => new WebSocketServer({ noServer: true, maxPayload: maxBody }))
    wss.then(w => {
      // Others may have been accepted, or the server closed, while the module loaded.
      if (closing || sessions.size >= maxWsSessions) refuse(503, 'Service Unavailable')
      else {
        socket.off('error', onSocketError) // ws handles the socket's errors from here
        accept(w, req, socket, head)
      }
    }, (err: unknown) => {
      log.error({ err }, 'WebSocket server failed to load')
      wss = undefined // the next client tries again
      refuse(500, 'Internal Server Error')
    }).catch((err: unknown) => {
      log.error({ err }, 'WebSocket upgrade failed')
      socket.destroy()
    })
  })
  const accept = (wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    wss.handleUpgrade(req, socket, head, ws => {
      const session = new WsSession(ws, maxBuffered, log)
      sessions.add(session)
      ws.on('close', () => sessions.delete(session))
      ws.on('error', () => ws.terminate())
      ws.on('message', (data, isBinary) => {
        if (!allow(req, 1)) {
          app.metrics?.observeRpc('limited', -32005)
          session.send(JSON.stringify(rpcErrorBody('RateLimited', 'too many JSON-RPC calls from this client: slow down')))
          return
        }
        const text = isBinary ? '' : rawDataText(data)
        handle(text, { app, session }).then(out => { if (out !== undefined) session.send(out) }, (err: unknown) => { log.error({ err }, 'WebSocket handler failed') })
      })
    })
  }
  const onMessage = (m: Message): void => {
    for (const s of sessions) s.notify(m)
  }
  app.on('message', onMessage)
  const onChannelEvent = (e: ChannelEvent): void => {
    for (const s of sessions) s.notifyLayer2('channel', e)
  }
  const onWalletEvent = (e: WalletEvent): void => {
    for (const s of sessions) s.notifyLayer2('wallet', e)
  }
  app.layer2?.events.on('event', onChannelEvent)
  app.layer2?.events.on('wallet', onWalletEvent)

  const unhook = (): void => {
    app.off('message', onMessage)
    app.layer2?.events.off('event', onChannelEvent)
    app.layer2?.events.off('wallet', onWalletEvent)
  }
  const secret = writeCookie(init.cookiePath)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(init.port, init.host, () => { server.off('error', reject); resolve() })
    })
  } catch (err: unknown) {
    // Not listening (e.g. the port was taken): leave the app as it was, so a caller may try another port.
    unhook()
    throw err
  }
  const port = (server.address() as { port: number }).port
  boundPort.value = port
  const url = `http://${isIPv6(init.host) ? `[${init.host}]` : init.host}:${port}/`
  if (init.urlPath !== undefined) writeFileSync(init.urlPath, url + '\n')
  log.info({ url }, 'JSON-RPC listening')
  return {
    url,
    port,
    loginUrl: loginUrl(url, secret),
    close: async () => {
      unhook()
      // No upgrade is accepted from here on; one waiting for ws to load is refused once it has.
      closing = true
      const w = await wss?.catch(() => undefined)
      for (const s of sessions) s.ws.terminate()
      w?.close()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
      removeCookie(init.cookiePath)
      if (init.urlPath !== undefined) rmSync(init.urlPath, { force: true })
    }
  }
}

/** A WebSocket client: its subscriptions, and a bound on what may wait to be sent to it. */
class WsSession implements RpcSession {
  readonly ws: WebSocket
  private readonly maxBuffered: number
  private readonly log: App['log']
  private readonly subs = new Map<string, Set<string> | undefined>()
  /** channel_subscribe / wallet_subscribe: subscription id → what it follows (one channel, or all). */
  private readonly layer2Subs = new Map<string, { kind: 'channel' | 'wallet', channelId?: string }>()
  private next = 1

  constructor (ws: WebSocket, maxBuffered: number, log: App['log']) {
    this.ws = ws
    this.maxBuffered = maxBuffered
    this.log = log
  }

  subscribe (targets: Set<string> | undefined): string {
    const id = `s${this.next++}`
    this.subs.set(id, targets)
    return id
  }

  subscribeLayer2 (kind: 'channel' | 'wallet', channelId?: string): string {
    const id = `${kind[0]!}${this.next++}`
    this.layer2Subs.set(id, { kind, ...(channelId !== undefined ? { channelId } : {}) })
    return id
  }

  unsubscribe (id: string): boolean {
    return this.subs.delete(id) || this.layer2Subs.delete(id)
  }

  notifyLayer2 (kind: 'channel' | 'wallet', e: ChannelEvent | WalletEvent): void {
    for (const [id, sub] of this.layer2Subs) {
      if (sub.kind !== kind || (sub.channelId !== undefined && (e as ChannelEvent).channelId !== sub.channelId)) continue
      this.send(JSON.stringify({ jsonrpc: '2.0', method: `${kind}_subscription`, params: { subscription: id, result: e } }))
    }
  }

  notify (m: Message): void {
    for (const [id, targets] of this.subs) {
      if (targets !== undefined && !targets.has(m.target)) continue
      this.send(JSON.stringify({ jsonrpc: '2.0', method: 'msg_subscription', params: { subscription: id, result: m } }))
    }
  }

  /** Sends, unless the client stopped reading: then it is dropped, never the node. */
  send (text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return
    if (this.ws.bufferedAmount > this.maxBuffered) {
      this.log.warn({ buffered: this.ws.bufferedAmount }, 'dropping a WebSocket client that does not read')
      this.ws.terminate()
      return
    }
    this.ws.send(text)
  }
}

function withErrorName (r: JSONRPCResponse): JSONRPCResponse {
  if (r.error === undefined) return r
  const data = r.error.data as { name?: string } | undefined
  if (data?.name !== undefined) return r
  return { ...r, error: { ...r.error, data: { ...(typeof data === 'object' && data !== null ? data : {}), name: errorNameOf(r.error.code) ?? 'Error' } } }
}

function rpcErrorBody (name: 'Unauthorized' | 'InvalidRequest' | 'RateLimited', message: string): unknown {
  const e = new RpcError(name, message)
  return { jsonrpc: '2.0', id: null, error: { code: e.code, message, data: e.data } }
}

/** How long an oversize body is read and discarded after the 413 before the connection is cut. */
const LINGER_MS = 2000

/**
 * 413, then a lingering close (as nginx does): what the client is still sending is read and
 * discarded for up to LINGER_MS, so it gets to read the answer; then the connection is cut.
 * Closing at once resets a connection the client is still writing to, and it sees EPIPE
 * instead of the 413 (a flaky test on a loaded machine).
 */
function tooLarge (req: IncomingMessage, res: ServerResponse, maxBody: number, drain: boolean): void {
  const socket = req.socket
  const cut = setTimeout(() => { socket.destroy() }, LINGER_MS)
  cut.unref()
  // Read to its end in time: the connection stays usable (keep-alive), as after any answer.
  req.once('end', () => { clearTimeout(cut) })
  req.once('error', () => { clearTimeout(cut) })
  if (drain) req.resume() // else the caller's read loop goes on discarding
  // Not `connection: close`: Node would destroy the socket as soon as the answer is written.
  reply(res, 413, rpcErrorBody('InvalidRequest', `request body over ${maxBody} bytes`))
}

function reply (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
}
