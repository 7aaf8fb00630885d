/**
 * The JSON-RPC surface (DESIGN §6) as one table. Each entry's zod schemas drive parameter
 * validation at dispatch, the OpenRPC document of `rpc.discover`, and the README's method
 * table — so the three cannot drift apart. Params are by name (an object).
 */
import { z } from 'zod'
import type { App } from '../app.ts'
import { parseTarget, rawTarget } from '../targets.ts'
import { Kind } from '../wire/tmsg.ts'
import { DEFAULT_TTL, MAX_TTL_PLUS_HOPS } from '../wire/constants.ts'
import { PLUMTREE_DEFAULT_TTL } from '../flood/constants.ts'
import { version } from '../version.ts'
import { RpcError } from './errors.ts'
import { BadAddressError } from '../node/node.ts'

/** Per-connection state of a WebSocket client (subscriptions live and die with it). */
export interface RpcSession {
  subscribe: (targets: Set<string> | undefined) => string
  /** channel_subscribe (every channel event, or one channel's) and wallet_subscribe. */
  subscribeLayer2: (kind: 'channel' | 'wallet', channelId?: string) => string
  unsubscribe: (id: string) => boolean
}

export interface RpcContext {
  app: App
  /** Present for WebSocket connections only. */
  session?: RpcSession
}

export interface MethodDef<P extends z.ZodType = z.ZodType> {
  name: string
  summary: string
  params: P
  result: z.ZodType
  /** Subscriptions need a connection to push notifications on. */
  websocketOnly?: boolean
  handler: (params: z.infer<P>, ctx: RpcContext) => unknown
}

/** Types a method's handler by its params schema, then files it in the common table type. */
export function defineMethod<P extends z.ZodType> (def: MethodDef<P>): MethodDef {
  return def
}

const noParams = z.strictObject({})
const hex = z.string().regex(/^[0-9a-f]*$/)
const targetText = z.string().min(1).max(200).describe('#room, @nick, acct:<address> or 32 hex characters')

/**
 * Every `*_unsubscribe` method: one session holds all of a client's subscriptions, so any of
 * them ends any subscription id (the names exist because DESIGN gives each family its own).
 */
export function unsubscribeMethod (name: string, summary: string): MethodDef {
  return defineMethod({
    name,
    summary,
    params: z.strictObject({ subscription: z.string().min(1).max(100) }),
    result: z.literal(true),
    websocketOnly: true,
    handler: ({ subscription }, { session }) => {
      if (!session!.unsubscribe(subscription)) throw new RpcError('NotFound', `no subscription ${subscription}`)
      return true
    }
  })
}

export const MessageSchema = z.object({
  msgId: hex,
  target: hex,
  targetName: z.string().optional(),
  kind: z.string(),
  payload: z.string(),
  encoding: z.enum(['utf8', 'base64']),
  sender: hex.optional(),
  account: z.string().optional(),
  nick: z.string().optional(),
  text: z.string().optional().describe('chat messages: the text'),
  action: z.boolean().optional().describe('chat messages: /me'),
  encrypted: z.boolean().optional().describe('direct messages: sealed end to end; text is what was inside'),
  peer: z.string().optional().describe('direct messages: the other party\'s account'),
  verified: z.boolean(),
  hops: z.number().int(),
  ttl: z.number().int(),
  timestamp: z.number().int(),
  receivedAt: z.number().int(),
  replyTo: hex.optional(),
  history: z.boolean().optional().describe('replayed from a neighbour\'s store (DESIGN §10) rather than heard live')
}).meta({ id: 'Message' })

const PeerSchema = z.object({
  peerId: z.string(),
  addresses: z.array(z.string()),
  direction: z.enum(['inbound', 'outbound']),
  messagesIn: z.number().int(),
  messagesOut: z.number().int(),
  queuedBytes: z.number().int(),
  neighbour: z.boolean().describe('speaks tmsg: the router sends to it')
})

const msgIdResult = z.object({ msgId: hex })

/** Decodes `payload` per `encoding`, refusing text that does not decode exactly. */
function decodePayload (payload: string, encoding: 'utf8' | 'base64' | 'hex'): Uint8Array {
  if (encoding === 'utf8') return Buffer.from(payload, 'utf8')
  const re = encoding === 'hex' ? /^(?:[0-9a-fA-F]{2})*$/ : /^[A-Za-z0-9+/]*={0,2}$/
  if (!re.test(payload)) throw new RpcError('InvalidParams', `payload is not valid ${encoding}`)
  return Buffer.from(payload, encoding)
}

function targetParam (text: string): ReturnType<typeof parseTarget> {
  return parseTarget(text) // TargetSyntaxError → InvalidParams
}

export const METHODS: MethodDef[] = [
  defineMethod({
    name: 'node_info',
    summary: 'Who this node is and where it listens.',
    params: noParams,
    result: z.object({ peerId: z.string(), account: z.string(), nick: z.string().nullable(), addresses: z.array(z.string()), router: z.enum(['flood', 'plumtree', 'gossipsub']), version: z.string(), uptimeMs: z.number().int() }),
    handler: (_p, { app }) => ({
      peerId: app.node.peerId,
      account: app.node.identity.account,
      nick: app.chat.nick ?? null,
      addresses: app.node.addresses(),
      router: app.node.router.name,
      version,
      uptimeMs: app.node.uptimeMs
    })
  }),
  defineMethod({
    name: 'node_stats',
    summary: 'Router counters since start: received, delivered, forwarded, drops by reason.',
    params: noParams,
    result: z.object({
      received: z.number().int(), delivered: z.number().int(), forwarded: z.number().int(), duplicates: z.number().int(),
      invalid: z.number().int(), dropped: z.number().int(), seenCacheSize: z.number().int(), peers: z.number().int(),
      sent: z.number().int(), reforwarded: z.number().int(), expired: z.number().int(), banned: z.number().int(),
      invalidReasons: z.record(z.string(), z.number().int()), drops: z.record(z.string(), z.number().int()),
      sealedDropped: z.number().int().describe('direct messages that reached this node and did not open (not for us, altered, junk)'),
      history: z.object({
        kept: z.number().int(), keptBytes: z.number().int(), requestsServed: z.number().int(), requestsRefused: z.number().int(),
        messagesServed: z.number().int(), bytesServed: z.number().int(), syncs: z.number().int(), syncsDone: z.number().int(), messagesReceived: z.number().int(), bytesReceived: z.number().int()
      }).optional().describe('store and forward (DESIGN §10): signed originals kept, history requests served and asked')
    }),
    handler: (_p, { app }) => {
      const h = app.node.historyStats()
      const kept = app.store.originalsStats()
      return { ...app.node.stats(), sealedDropped: app.direct.unopened, ...(h !== undefined ? { history: { kept: kept.count, keptBytes: kept.bytes, ...h } } : {}) }
    }
  }),
  defineMethod({
    name: 'peers_list',
    summary: 'Connected peers, with flood traffic counters and queued bytes.',
    params: noParams,
    result: z.array(PeerSchema),
    handler: (_p, { app }) => app.node.peers()
  }),
  defineMethod({
    name: 'peers_connect',
    summary: 'Dials a peer by multiaddr, waits until it is a neighbour, and keeps it connected (redialled if it goes away).',
    params: z.strictObject({ address: z.string().min(1).max(500).describe('multiaddr, e.g. /ip4/192.168.1.5/tcp/4004/p2p/16Uiu2…') }),
    result: z.object({ peerId: z.string() }),
    handler: async ({ address }, { app }) => {
      let peerId: string
      try {
        peerId = await app.node.connect(address)
      } catch (err: unknown) {
        if (err instanceof BadAddressError) throw err // → InvalidParams (errors.ts)
        // libp2p's own errors, by class name: a dial that timed out, or a multiaddr it cannot dial.
        const e = err as Error
        if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new RpcError('Timeout', `no answer from ${address}`)
        if (e.name === 'InvalidMultiaddrError' || e.name === 'InvalidParametersError') throw new RpcError('InvalidParams', `cannot dial "${address}": ${e.message}`)
        throw new RpcError('NotFound', `cannot connect to ${address}: ${e.message}`, { name: e.name })
      }
      app.node.keep(address)
      await app.node.waitForNeighbour(peerId)
      return { peerId }
    }
  }),
  defineMethod({
    name: 'peers_disconnect',
    summary: 'Closes the connections to a peer and stops redialling it.',
    params: z.strictObject({ peerId: z.string().min(1).max(200) }),
    result: z.literal(true),
    handler: async ({ peerId }, { app }) => {
      if (!app.node.peers().some(p => p.peerId === peerId)) throw new RpcError('NotFound', `not connected to ${peerId}`)
      app.node.forget(peerId)
      await app.node.disconnect(peerId)
      return true
    }
  }),
  defineMethod({
    name: 'msg_send',
    summary: `Floods a signed message to any target (\`ttl\` default: the router's — ${DEFAULT_TTL}; ${PLUMTREE_DEFAULT_TTL} for plumtree).`,
    params: z.strictObject({
      target: targetText,
      payload: z.string().max(4 * 16_384),
      encoding: z.enum(['utf8', 'base64', 'hex']).default('utf8'),
      kind: z.enum(['data', 'chat']).default('data'),
      ttl: z.number().int().min(1).max(MAX_TTL_PLUS_HOPS).optional()
    }),
    result: msgIdResult,
    handler: ({ target, payload, encoding, kind, ttl }, { app }) => {
      const t = targetParam(target)
      const { msgId } = app.send({ target: t.id, payload: decodePayload(payload, encoding), kind: kind === 'chat' ? Kind.CHAT : Kind.DATA, ttl })
      return { msgId }
    }
  }),
  defineMethod({
    name: 'chat_send',
    summary: 'Sends a chat line to a #room, or a direct message sealed for the key of @nick or acct:<address>.',
    params: z.strictObject({ to: z.string().min(1).max(200).describe('#room, @nick (one key heard signing as it) or acct:<address>'), text: z.string().min(1).max(8_000), action: z.boolean().default(false) }),
    result: msgIdResult,
    handler: ({ to, text, action }, { app }) => ({ msgId: app.chat.send(to, text, action).msgId })
  }),
  defineMethod({
    name: 'chat_join',
    summary: 'Joins a room: listens to it from now on, also after a restart.',
    params: z.strictObject({ room: z.string().min(1).max(60) }),
    result: z.literal(true),
    handler: ({ room }, { app }) => { app.chat.join(room); return true }
  }),
  defineMethod({
    name: 'chat_part',
    summary: 'Leaves a room.',
    params: z.strictObject({ room: z.string().min(1).max(60) }),
    result: z.literal(true),
    handler: ({ room }, { app }) => {
      if (!app.chat.part(room)) throw new RpcError('NotFound', `not in ${room}`)
      return true
    }
  }),
  defineMethod({
    name: 'chat_nick',
    summary: 'Sets this node\'s nick (and listens to @nick); remembered across restarts.',
    params: z.strictObject({ nick: z.string().min(1).max(40) }),
    result: z.literal(true),
    handler: ({ nick }, { app }) => { app.chat.setNick(nick); return true }
  }),
  defineMethod({
    name: 'chat_whois',
    summary: 'The keys (accounts) heard signing as a nick, first heard first.',
    params: z.strictObject({ nick: z.string().min(1).max(40) }),
    result: z.array(z.object({ account: z.string(), firstSeen: z.number().int(), lastSeen: z.number().int() })),
    handler: ({ nick }, { app }) => app.nicks.keysOf(nick).map(k => ({ account: k.account, firstSeen: k.firstSeen, lastSeen: k.lastSeen }))
  }),
  defineMethod({
    name: 'chat_resolve',
    summary: 'The account a direct message to @nick or acct:<address> goes to (the key heard signing as the nick).',
    params: z.strictObject({ to: z.string().min(1).max(200).describe('@nick or acct:<address>') }),
    result: z.object({ account: z.string(), nick: z.string().optional().describe('the nick last heard from that key') }),
    handler: ({ to }, { app }) => {
      const account = app.resolveRecipient(to)
      const nick = app.nicks.nicksOf(account)[0]
      return { account, ...(nick !== undefined ? { nick } : {}) }
    }
  }),
  defineMethod({
    name: 'chat_conversations',
    summary: 'What a chat window lists: the rooms joined, and the direct conversations, most recent first.',
    params: z.strictObject({ limit: z.number().int().min(1).max(1000).default(100).describe('direct conversations at most') }),
    result: z.object({
      rooms: z.array(z.string()).describe('#room names, in the order they were joined'),
      direct: z.array(z.object({ account: z.string(), nick: z.string().optional() }))
    }),
    handler: ({ limit }, { app }) => ({
      rooms: app.chat.rooms().map(t => t.short),
      direct: app.store.directPeers(limit).map(account => {
        const nick = app.nicks.nicksOf(account)[0]
        return { account, ...(nick !== undefined ? { nick } : {}) }
      })
    })
  }),
  defineMethod({
    name: 'targets_subscribe',
    summary: 'Listens to any target (delivered as hits, kept in the history).',
    params: z.strictObject({ target: targetText }),
    result: z.literal(true),
    handler: ({ target }, { app }) => { app.subscribe(targetParam(target)); return true }
  }),
  defineMethod({
    name: 'targets_unsubscribe',
    summary: 'Stops listening to a target.',
    params: z.strictObject({ target: targetText }),
    result: z.literal(true),
    handler: ({ target }, { app }) => {
      if (!app.unsubscribe(targetParam(target))) throw new RpcError('NotFound', `not subscribed to ${target}`)
      return true
    }
  }),
  defineMethod({
    name: 'targets_list',
    summary: 'Every target this node listens to, by name (hex for raw targets).',
    params: noParams,
    result: z.array(z.string()),
    handler: (_p, { app }) => app.node.subscriptions().map(t => t.short)
  }),
  defineMethod({
    name: 'msg_history',
    summary: 'Stored messages of a target, newest last; for acct:<another account>, the direct conversation with it.',
    params: z.strictObject({
      target: targetText,
      limit: z.number().int().min(1).max(1000).default(50),
      before: hex.length(32).optional().describe('msgId: return messages that arrived before it')
    }),
    result: z.array(MessageSchema),
    handler: ({ target, limit, before }, { app }) => {
      const t = targetParam(target)
      const anchor = before === undefined ? undefined : rawTarget(before).id
      const peer = t.kind === 'account' ? t.name.slice('acct:'.length) : undefined
      const rows = peer !== undefined && peer !== app.node.identity.account ? app.direct.history(peer, limit, anchor) : app.store.history(t.id, limit, anchor)
      if (rows === undefined) throw new RpcError('NotFound', `message ${before ?? ''} is not in the history of ${target}`)
      return rows
    }
  }),
  defineMethod({
    name: 'msg_subscribe',
    summary: 'WebSocket only: pushes every hit (or those of the given targets) as msg_subscription notifications.',
    params: z.strictObject({ targets: z.array(targetText).max(1000).optional() }),
    result: z.string().describe('subscription id'),
    websocketOnly: true,
    handler: ({ targets }, { session }) => session!.subscribe(targets === undefined ? undefined : new Set(targets.map(t => targetParam(t).hex)))
  }),
  unsubscribeMethod('msg_unsubscribe', 'WebSocket only: ends a subscription.')
]
