/**
 * TmsgNode: the libp2p host (TCP or in-memory, Noise, Yamux, identify, ping, mDNS), one of
 * the two routers, the node's subscriptions, and delivery of hits to the applications above.
 */
import { EventEmitter } from 'node:events'
import { createLibp2p } from 'libp2p'
import type { Libp2pInit, ServiceFactoryMap } from 'libp2p'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import type { GossipSub } from '@libp2p/gossipsub'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Identity } from '../identity.ts'
import { verifySignature, verifySignatureOffLoop, accountOf } from '../identity.ts'
import { FloodRouter } from '../flood/router.ts'
import { PlumtreeRouter } from '../flood/plumtree.ts'
import type { PlumtreeRouterInit } from '../flood/plumtree.ts'
import { floodService } from './flood-service.ts'
import type { GossipRouter } from './gossip-router.ts'
import { NeighbourKeeper } from './keeper.ts'
import { installHalfWindowUpdates } from './yamux-window.ts'
import { loopLagging } from './loop-lag.ts'
import { DEFAULT_HISTORY_MAX_AGE_MS, HISTORY_MAX_ANSWER_BYTES, historyService } from './history-service.ts'
import { HISTORY_MAX_LIMIT } from '../wire/history.ts'
import type { HistoryBackend, HistoryService, HistoryStats } from './history-service.ts'
import type { Router, RouterComponents, RouterName, RouterStats } from '../routing.ts'
import { buildTMsg } from '../wire/build.ts'
import { decodeTMsg, idBytes, idKey, toHex } from '../wire/tmsg.ts'
import type { TMsg } from '../wire/tmsg.ts'
import { DEFAULT_MAX_PAYLOAD, MAX_TTL_PLUS_HOPS, TIMESTAMP_WINDOW_MS } from '../wire/constants.ts'
import { DEFAULT_SEEN_PER_NEIGHBOUR } from '../flood/constants.ts'
import { PayloadTooLargeError } from '../wire/errors.ts'
import type { Target } from '../targets.ts'
import { createLogger } from '../log.ts'
import type { Logger } from '../log.ts'

/**
 * Signature checks of hits on libuv's thread pool at once (see deliverHit): 1,024 is about a
 * third of a second of a core's verifies, far more than a chat node ever has waiting.
 */
const MAX_CHECKS_IN_FLIGHT = 1024
/** A yamux stream's receive window, fixed at yamux's initial size (see the muxer's setup). */
const YAMUX_WINDOW_BYTES = 256 * 1024

/** Every neighbour's queue for this node's own messages is full: the caller should slow down. */
export class BackpressureError extends Error {
  static name = 'BackpressureError'
  override name = 'BackpressureError'
}

/** An address that is not a multiaddr this node can dial: the caller's mistake, not the network's. */
export class BadAddressError extends Error {
  static name = 'BadAddressError'
  override name = 'BadAddressError'
}

export interface NodeOptions {
  identity: Identity
  /** @default 'flood' */
  router?: RouterName
  /** `memory` runs the full Noise + Yamux stack in-process (tests). @default 'tcp' */
  transport?: 'tcp' | 'memory'
  /** Listen multiaddrs. @default ['/ip4/0.0.0.0/tcp/4004'] */
  listen?: string[]
  bootstrap?: string[]
  /** @default true */
  mdns?: boolean
  /** @default 4 */
  minPeers?: number
  /** @default 8 */
  maxPeers?: number
  logger?: Logger
  /** Flood router tuning (rate limits, queue sizes, cache sizes; plumtree timeouts). */
  flood?: Omit<PlumtreeRouterInit, 'onBan' | 'log'>
  /** Drop unsigned or badly signed hits instead of delivering them marked unverified. */
  dropUnverified?: boolean
  /** Signature checks on the thread pool at once; past it they run on the loop. @default 1024 */
  maxChecksInFlight?: number
  /** @default 16384 */
  maxPayload?: number
  /** TTL of messages this node sends. @default the router's (7; plumtree 10) */
  defaultTtl?: number
  /** Wall clock (tests). @default Date.now */
  now?: () => number
  /** libp2p's own metrics (connections, streams, bytes), e.g. @libp2p/prometheus-metrics. */
  libp2pMetrics?: Libp2pInit['metrics']
  /**
   * Store and forward (DESIGN §10): where the signed originals of every message seen are
   * kept. With it the node answers and asks `/tmsg/history/1.0.0`; without it, neither.
   */
  history?: HistoryBackend
  /** How far back store and forward reaches. @default 24 h */
  historyMaxAgeMs?: number
  /**
   * The protocols of the applications above (layer-2's channel stream), registered as
   * libp2p services next to identify, ping and flood; reach them with `service(name)`.
   */
  services?: ServiceFactoryMap
}

/** A hit handed to the applications. */
export interface Delivery {
  /** The message, with its own copies of the bytes: safe to keep. */
  msg: TMsg
  /** Neighbour it arrived from; `self` for this node's own messages. */
  from: string
  /** Signed, and the signature checks out against `sender`. */
  verified: boolean
  /** BSV address of `sender`, when there is one. */
  account?: string
  receivedAt: number
  /** Came in a history answer (DESIGN §10), not through the flood: a replay of the past. */
  history?: boolean
}

export interface SendOptions {
  target: Uint8Array
  payload?: Uint8Array
  kind: number
  ttl?: number
  replyTo?: Uint8Array
}

export interface SendResult {
  msg: TMsg
  msgId: string
  /** Neighbours it was queued for. */
  neighbours: number
}

export interface PeerSummary {
  peerId: string
  addresses: string[]
  direction: 'inbound' | 'outbound'
  messagesIn: number
  messagesOut: number
  queuedBytes: number
  /** Whether the peer speaks tmsg (is a flood neighbour or gossipsub peer). */
  neighbour: boolean
}

interface NodeEvents {
  delivery: [Delivery]
  'peer:connect': [string]
  'peer:disconnect': [string]
}

type Services = { identify: unknown, ping: Ping, pubsub?: GossipSub, history?: HistoryService }

export class TmsgNode extends EventEmitter<NodeEvents> {
  readonly identity: Identity
  readonly libp2p: Libp2p<Services>
  readonly router: Router
  readonly log: Logger
  private readonly keeper: NeighbourKeeper
  /** Set when the node runs gossipsub: its router needs starting and stopping with the node. */
  private gossipRouter?: GossipRouter
  private readonly subs = new Map<string, Target>()
  /** Per subscription, when it has one: history older than this is not its own (subscribe). */
  private readonly historyFroms = new Map<string, number>()
  private readonly dropUnverified: boolean
  /** The delivery chain: hits wait here for their signature check, in order (see deliverHit). */
  private deliveries: Promise<void> = Promise.resolve()
  private checksInFlight = 0
  private readonly maxChecksInFlight: number
  /** Largest payload this node sends or accepts (bytes). */
  readonly maxPayload: number
  private readonly defaultTtl: number
  private readonly now: () => number
  private readonly startedAt: number
  private readonly history?: HistoryBackend
  private readonly historyMaxAgeMs: number

  private constructor (opts: NodeOptions, libp2p: Libp2p<Services>, router: Router, log: Logger, now: () => number) {
    super()
    this.identity = opts.identity
    this.libp2p = libp2p
    this.router = router
    this.log = log
    this.now = now
    this.dropUnverified = opts.dropUnverified ?? false
    this.maxChecksInFlight = opts.maxChecksInFlight ?? MAX_CHECKS_IN_FLIGHT
    this.maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD
    this.defaultTtl = opts.defaultTtl ?? router.defaultTtl
    this.history = opts.history
    this.historyMaxAgeMs = opts.historyMaxAgeMs ?? DEFAULT_HISTORY_MAX_AGE_MS
    this.startedAt = now()
    this.keeper = new NeighbourKeeper(libp2p, { bootstrap: opts.bootstrap ?? [], minPeers: opts.minPeers ?? 4 }, log.child({ component: 'keeper' }))
    libp2p.addEventListener('peer:connect', evt => {
      log.info({ peer: evt.detail.toString() }, 'peer connected')
      this.emit('peer:connect', evt.detail.toString())
    })
    libp2p.addEventListener('peer:disconnect', evt => {
      log.info({ peer: evt.detail.toString() }, 'peer disconnected')
      this.emit('peer:disconnect', evt.detail.toString())
    })
  }

  /** Builds the node (not yet listening: call `start`). */
  static async create (opts: NodeOptions): Promise<TmsgNode> {
    installHalfWindowUpdates()
    const log = opts.logger ?? createLogger({ level: 'silent', stderr: false })
    const now = opts.now ?? Date.now
    const routerName = opts.router ?? 'flood'
    // The router is needed inside libp2p's service factory and calls back into the node,
    // which exists only after libp2p: late-bound through this holder.
    const late: { node?: TmsgNode } = {}
    const components: RouterComponents = {
      now,
      isSubscribed: target => late.node?.isSubscribed(target) ?? false,
      deliver: (msg, from, history) => { late.node?.deliverHit(msg, from, history === true) },
      ...(opts.history !== undefined
        ? {
            accepted: (msg: TMsg) => { opts.history!.keep(msg, now()) }
          }
        : {})
    }
    let flood: FloodRouter | undefined
    const onBan = (peerId: string, until: number): void => {
      log.warn({ peer: peerId, until: new Date(until).toISOString() }, 'banned peer for sending invalid data')
      late.node?.libp2p.hangUp(peerIdFromString(peerId)).catch(() => {})
    }
    // One measure of "this node is running late" for the router's penalties and the flood
    // service's inbound pauses (tests inject their own through opts.flood).
    const lagging = opts.flood?.lagging ?? loopLagging
    if (routerName !== 'gossipsub') {
      const init = { lagging, ...opts.flood, validation: { maxPayload: opts.maxPayload ?? DEFAULT_MAX_PAYLOAD, ...opts.flood?.validation }, onBan }
      flood = routerName === 'plumtree'
        ? new PlumtreeRouter(components, { selfId: peerIdFromPrivateKey(opts.identity.libp2pKey).toString(), ...init })
        : new FloodRouter(components, init)
    }
    const banned = (peerId: PeerId): boolean => late.node?.router.isBanned(peerId.toString()) ?? flood?.isBanned(peerId.toString()) ?? false
    const memory = opts.transport === 'memory' ? (await import('@libp2p/memory')).memory : undefined
    // Loaded only when used: a flood node (the default) never pays for gossipsub's code, nor
    // a node without LAN discovery for mDNS's (a few MB of RSS each).
    const gossip = routerName === 'gossipsub'
      ? { ...await import('@libp2p/gossipsub'), ...await import('./gossip-router.ts') }
      : undefined
    const mdns = opts.mdns === false || memory !== undefined ? undefined : (await import('@libp2p/mdns')).mdns
    const maxPeers = opts.maxPeers ?? 8
    const libp2p = await createLibp2p<Services>({
      start: false,
      privateKey: opts.identity.libp2pKey,
      ...(opts.libp2pMetrics !== undefined ? { metrics: opts.libp2pMetrics } : {}),
      addresses: { listen: opts.listen ?? ['/ip4/0.0.0.0/tcp/4004'] },
      transports: [memory !== undefined ? memory() : tcp()],
      connectionEncrypters: [noise()],
      // What a neighbour may send before we read it: a paused flood stream (see flood-service)
      // holds its whole window. Yamux grows windows to 16 MiB by default; kept at the initial
      // 256 KiB, 50 paused neighbours hold 12.5 MiB (at 1 MiB a relay's heap snapshot found
      // 20 MiB in paused streams), and one stream still carries 2.5 MB/s over a 100 ms path —
      // ~20,000 msg/s of 100 B, twenty times a neighbour's budget.
      streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: YAMUX_WINDOW_BYTES } })],
      peerDiscovery: mdns === undefined ? [] : [mdns()],
      connectionManager: {
        maxConnections: maxPeers,
        // libp2p allows 5 inbound connections/s per IP by default; a LAN full of nodes
        // restarting at once (or a test network on 127.0.0.1) needs more.
        inboundConnectionThreshold: 100
      },
      connectionGater: {
        denyDialPeer: banned,
        denyInboundEncryptedConnection: banned,
        denyOutboundEncryptedConnection: banned
      },
      services: {
        ...opts.services,
        identify: identify(),
        ping: ping(),
        ...(opts.history !== undefined
          ? {
              history: historyService({
                backend: opts.history,
                router: () => late.node?.router,
                targets: () => late.node?.subscriptions().map(t => t.id) ?? [],
                from: t => late.node?.historyFrom(t),
                now,
                ...(opts.historyMaxAgeMs !== undefined ? { maxAgeMs: opts.historyMaxAgeMs } : {})
              })
            }
          : {}),
        ...(gossip === undefined
          ? { flood: floodService({ router: flood!, lagging }) }
          : {
              pubsub: gossip.gossipsub({
                globalSignaturePolicy: 'StrictNoSign',
                msgIdFn: msg => gossip.gossipMsgId(msg.data),
                allowPublishToZeroTopicPeers: true,
                emitSelf: false
              })
            })
      }
    })
    const gossipRouter = gossip === undefined ? undefined : new gossip.GossipRouter(components, libp2p.services.pubsub!, { onBan, validation: { maxPayload: opts.maxPayload ?? DEFAULT_MAX_PAYLOAD } })
    late.node = new TmsgNode(opts, libp2p, flood ?? gossipRouter!, log, now)
    late.node.gossipRouter = gossipRouter
    return late.node
  }

  /** An application's service registered through `NodeOptions.services`. */
  service (name: string): unknown {
    return (this.libp2p.services as Record<string, unknown>)[name]
  }

  async start (): Promise<void> {
    // Before any neighbour can send: what was handled before a restart and may still be
    // flooded (inside the timestamp window) counts as seen. As many as one neighbour may own
    // in the flood's seen cache, the newest (a busy relay's whole window may not fit).
    const recent = this.history?.recentIds?.(this.now() - TIMESTAMP_WINDOW_MS, DEFAULT_SEEN_PER_NEIGHBOUR)
    if (recent !== undefined) this.router.rememberSeen(recent)
    await this.libp2p.start()
    this.gossipRouter?.start()
    this.keeper.start()
    this.log.info({ peerId: this.peerId, router: this.router.name, addresses: this.addresses() }, 'node started')
  }

  async stop (): Promise<void> {
    this.keeper.stop()
    this.gossipRouter?.stop()
    await this.libp2p.stop()
    // Hits already taken in are delivered (their ids are seen: a restart would not get them again).
    await this.deliveries
    this.log.info('node stopped')
  }

  /** Store-and-forward counters (DESIGN §10); undefined when the node keeps no history. */
  historyStats (): HistoryStats | undefined {
    return this.libp2p.services.history?.counters
  }

  /**
   * Delivers, as history, what this node kept of a target before it listened to it (it
   * relayed the room, say): a room joined late shows what passed through here too, not only
   * what neighbours answer. Returns how many were delivered.
   */
  replayKept (target: Uint8Array): number {
    if (this.history === undefined || !this.isSubscribed(target)) return 0
    const since = Math.max(this.now() - this.historyMaxAgeMs, this.historyFrom(target) ?? 0)
    let n = 0
    for (const bytes of this.history.since([target], since, HISTORY_MAX_LIMIT, HISTORY_MAX_ANSWER_BYTES)) {
      let msg: TMsg
      try {
        msg = decodeTMsg(bytes)
      } catch {
        continue // written by this node: cannot happen short of a damaged database
      }
      this.deliverHit(msg, 'store', true)
      n++
    }
    return n
  }

  /** Resolves once every history sync started so far has finished (tests, benchmarks). */
  async historyIdle (): Promise<void> {
    await this.libp2p.services.history?.idle()
    await this.deliveries // and what it took in has reached the applications
  }

  get peerId (): string {
    return this.libp2p.peerId.toString()
  }

  get uptimeMs (): number {
    return this.now() - this.startedAt
  }

  /** Every listen address, with /p2p/<id>. */
  addresses (): string[] {
    return this.libp2p.getMultiaddrs().map(a => a.toString())
  }

  /**
   * One address another process on this machine can dial: loopback when listening on all
   * interfaces (DESIGN §7 `p2p=`).
   */
  dialableAddress (): string {
    const all = this.libp2p.getMultiaddrs().map(a => a.toString())
    return all.find(a => a.startsWith('/ip4/127.0.0.1/')) ?? all.find(a => a.startsWith('/ip6/::1/')) ?? all[0] ?? ''
  }

  // ---- subscriptions ----------------------------------------------------------------------

  /**
   * Listens to a target; returns false if it was already subscribed. `historyFrom`: nothing
   * older is asked of neighbours or replayed from what this node kept (a nick is someone else's
   * before this node took it).
   */
  subscribe (target: Target, historyFrom?: number): boolean {
    const key = idKey(target.id)
    if (this.subs.has(key)) return false
    this.subs.set(key, target)
    if (historyFrom !== undefined) this.historyFroms.set(key, historyFrom)
    // A room joined late still shows its recent past (DESIGN §10).
    this.libp2p.services.history?.requestFromAll([target.id])
    return true
  }

  unsubscribe (target: Target): boolean {
    this.historyFroms.delete(idKey(target.id))
    return this.subs.delete(idKey(target.id))
  }

  /** The earliest time of a subscribed target's history worth having, if it has one. */
  historyFrom (target: Uint8Array): number | undefined {
    return this.historyFroms.get(idKey(target))
  }

  isSubscribed (target: Uint8Array): boolean {
    return target.length === 16 && this.subs.has(idKey(target))
  }

  /** The subscribed target for an id, if any (to name it in deliveries). */
  subscription (target: Uint8Array): Target | undefined {
    return target.length === 16 ? this.subs.get(idKey(target)) : undefined
  }

  subscriptions (): Target[] {
    return [...this.subs.values()]
  }

  // ---- sending and delivering -------------------------------------------------------------

  /** Signs and sends a message; delivers it here too when its target is subscribed. */
  send (o: SendOptions): SendResult {
    const payload = o.payload ?? new Uint8Array(0)
    if (payload.length > this.maxPayload) throw new PayloadTooLargeError(payload.length, this.maxPayload)
    const ttl = o.ttl ?? this.defaultTtl
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_PLUS_HOPS) throw new RangeError(`ttl must be an integer 1-${MAX_TTL_PLUS_HOPS}`)
    // Own messages are never dropped once queued, so refuse before: the caller can retry later.
    if (this.router.backlogged(payload.length + 256)) throw new BackpressureError('every neighbour\'s outbound queue is full: slow down and retry')
    const msg = buildTMsg({ target: o.target, payload, kind: o.kind, ttl, replyTo: o.replyTo, timestamp: this.now(), signer: this.identity })
    const { neighbours } = this.router.publish(msg)
    this.history?.keep(msg, msg.timestamp)
    if (this.isSubscribed(msg.target)) {
      this.emit('delivery', { msg, from: 'self', verified: true, account: this.identity.account, receivedAt: this.now() })
    }
    return { msg, msgId: toHex(msg.msgId), neighbours }
  }

  /**
   * Router callback for a hit: copy out of the frame buffer, verify, hand to applications.
   * The signature check (~0.3 ms of secp256k1) runs on libuv's thread pool, beside the event
   * loop that forwards for every neighbour; checks run in parallel, and deliveries still leave
   * in the order the router handed them over (each waits for the one before).
   */
  private deliverHit (received: TMsg, from: string, history: boolean): void {
    const receivedAt = this.now()
    const msg = copyTMsg(received)
    let check: boolean | Promise<boolean> = false
    if (msg.signature.length > 0) {
      // Bounded: past MAX_CHECKS_IN_FLIGHT the check runs here, on the loop, as it used to, so a
      // flood of signed hits slows the loop (whose lag pauses inbound streams) instead of
      // queueing without end while the loop stays idle.
      if (this.checksInFlight >= this.maxChecksInFlight) {
        check = verifySignature(msg.sender, idBytes(msg), msg.signature)
      } else {
        this.checksInFlight++
        check = verifySignatureOffLoop(msg.sender, idBytes(msg), msg.signature).finally(() => { this.checksInFlight-- })
      }
    }
    this.deliveries = this.deliveries.then(async () => {
      const verified = await check
      if (!verified && this.dropUnverified) return
      try {
        this.emit('delivery', {
          msg,
          from,
          verified,
          account: msg.sender.length === 33 ? safeAccount(msg.sender) : undefined,
          receivedAt,
          ...(history ? { history } : {})
        })
      } catch (err: unknown) {
        // A listener's bug must not stop every later delivery (the chain would stay rejected).
        this.log.error({ err }, 'delivery listener failed')
      }
    })
  }

  /** Resolves when every hit handed over so far has been delivered (or dropped unverified). */
  async settled (): Promise<void> {
    await this.deliveries
  }

  // ---- peers ------------------------------------------------------------------------------

  /** Dials a multiaddr; resolves to the peer id once connected. */
  async connect (address: string, timeoutMs = 10_000): Promise<string> {
    let ma: ReturnType<typeof multiaddr>
    try {
      ma = multiaddr(address)
    } catch (err: unknown) {
      throw new BadAddressError(`cannot dial "${address}": ${(err as Error).message}`)
    }
    const conn = await this.libp2p.dial(ma, { signal: AbortSignal.timeout(timeoutMs) })
    return conn.remotePeer.toString()
  }

  /** Keeps a peer connected from now on, like --bootstrap. */
  keep (address: string): void {
    this.keeper.keep(address)
  }

  /** True when the peer speaks tmsg and the router can send to it. */
  isNeighbour (peerId: string): boolean {
    return this.router.neighbourStats().some(n => n.peerId === peerId)
  }

  /**
   * Waits (bounded) until a freshly connected peer has become a router neighbour (identify
   * and the flood stream take a few round trips), so a message sent next reaches it.
   */
  async waitForNeighbour (peerId: string, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!this.isNeighbour(peerId)) {
      if (Date.now() > deadline || this.libp2p.getConnections(peerIdFromString(peerId)).length === 0) return false
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    return true
  }

  /** Stops redialling a peer kept by --bootstrap or `keep`. */
  forget (peerId: string): void {
    this.keeper.forget(peerId)
  }

  async disconnect (peerId: string): Promise<void> {
    await this.libp2p.hangUp(peerIdFromString(peerId))
  }

  peers (): PeerSummary[] {
    const stats = new Map(this.router.neighbourStats().map(s => [s.peerId, s]))
    const byPeer = new Map<string, PeerSummary>()
    for (const c of this.libp2p.getConnections()) {
      const id = c.remotePeer.toString()
      const prev = byPeer.get(id)
      if (prev !== undefined) {
        prev.addresses.push(c.remoteAddr.toString())
        continue
      }
      const s = stats.get(id)
      byPeer.set(id, {
        peerId: id,
        addresses: [c.remoteAddr.toString()],
        direction: c.direction,
        messagesIn: s?.messagesIn ?? 0,
        messagesOut: s?.messagesOut ?? 0,
        queuedBytes: s?.queuedBytes ?? 0,
        neighbour: s !== undefined
      })
    }
    return [...byPeer.values()]
  }

  stats (): RouterStats {
    return this.router.stats()
  }

  /** Round-trip time to a connected peer in ms. */
  async ping (peerId: string): Promise<number> {
    return await this.libp2p.services.ping.ping(peerIdFromString(peerId), { signal: AbortSignal.timeout(5000) })
  }
}

function copyTMsg (m: TMsg): TMsg {
  const c = (b: Uint8Array): Uint8Array => b.length === 0 ? b : Uint8Array.prototype.slice.call(b)
  return {
    msgId: c(m.msgId), target: c(m.target), payload: c(m.payload), ttl: m.ttl, hops: m.hops, kind: m.kind,
    replyTo: c(m.replyTo), timestamp: m.timestamp, nonce: c(m.nonce), sender: c(m.sender), signature: c(m.signature)
  }
}

function safeAccount (sender: Uint8Array): string | undefined {
  try {
    return accountOf(sender)
  } catch {
    return undefined // not a valid curve point
  }
}
