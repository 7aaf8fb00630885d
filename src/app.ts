/**
 * Assembles a running tmsg node from its settings: datadir, identity, logging, store, node,
 * chat and layer-2. Front ends (the RPC server, the TUI) are started on top of it by the
 * commands (src/cli/serve.ts). Data flows one way: node → app (store, listeners) → rpc / tui.
 */
import { EventEmitter } from 'node:events'
import { isIPv6 } from 'node:net'
import { loadOrCreateIdentity } from './identity.ts'
import type { NodeConfig } from './config.ts'
import { lockDatadir, prepareDatadir } from './node/datadir.ts'
import type { Datadir } from './node/datadir.ts'
import { choosePort, PortInUseError } from './node/ports.ts'
import { TmsgNode } from './node/node.ts'
import type { Delivery, SendOptions, SendResult } from './node/node.ts'
import { createLogger } from './log.ts'
import type { Logger } from './log.ts'
import { accountTarget, channelTarget, nickTarget, rawTarget } from './targets.ts'
import type { Target, TargetKind } from './targets.ts'
import { Store } from './store/store.ts'
import type { StoreError } from './store/store.ts'
import { toMessage } from './message.ts'
import type { Message } from './message.ts'
import { ChatService } from './chat/chat.ts'
import { NickBook } from './chat/nicks.ts'
import { DirectMessages } from './chat/direct.ts'
import { decodeChat } from './chat/codec.ts'
import { encodeTMsg, Kind } from './wire/tmsg.ts'
import type { HistoryBackend } from './node/history-service.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { Layer2 } from './layer2/layer2.ts'
import { CHANNEL_SERVICE, channelStream } from './layer2/channels/stream.ts'
import { join } from 'node:path'
import type { Metrics, MetricsServer } from './metrics.ts'

export interface AppInit {
  /** Write human-readable logs to stderr (headless); the TUI shows them itself. */
  logToStderr: boolean
  /** Receives warnings and errors as human-readable lines (the TUI's system buffer). */
  onLog?: (line: string) => void
}

/** A key started signing as a nick that other keys used before (DESIGN §9). */
export interface NickKeyEvent {
  nick: string
  /** The new key's account. */
  account: string
  /** Accounts heard with this nick before. */
  others: string[]
  /** Those of `others` this node has a direct conversation with. */
  talking: string[]
}

interface AppEvents {
  /** Every hit, after it was queued for the history; own direct messages too. */
  message: [Message, Delivery]
  /** The store gave up (disk full, I/O error): the app has stopped itself; say why and exit. */
  fatal: [StoreError]
  'nick-key': [NickKeyEvent]
}

export class App extends EventEmitter<AppEvents> {
  readonly config: NodeConfig
  readonly datadir: Datadir
  readonly node: TmsgNode
  readonly store: Store
  readonly chat: ChatService
  /** Which keys signed as which nick, and the key behind each account heard. */
  readonly nicks: NickBook
  readonly direct: DirectMessages
  readonly log: Logger
  /** Notes for the user about choices made for them (e.g. a port moved because it was taken). */
  readonly notices: string[]
  /** Prometheus metrics, when --metrics-port is set. */
  metrics?: Metrics
  metricsServer?: MetricsServer
  /** Balances, wallet and payment channels (DESIGN §8). */
  layer2?: Layer2
  private stopped = false
  private readonly unlock: () => void

  private constructor (config: NodeConfig, datadir: Datadir, node: TmsgNode, store: Store, log: Logger, notices: string[], unlock: () => void) {
    super()
    this.unlock = unlock
    this.config = config
    this.datadir = datadir
    this.node = node
    this.store = store
    this.log = log
    this.notices = notices
    // A disk that refuses writes after every retry stops the node cleanly, with the reason,
    // instead of running on while the history silently goes missing.
    store.on('fatal', err => {
      log.fatal(err.message)
      this.stop().catch(() => {}).finally(() => { this.emit('fatal', err) })
    })
    this.nicks = new NickBook(store.db)
    this.direct = new DirectMessages({ identity: node.identity, nicks: this.nicks, store, send: o => this.send(o) })
    node.on('delivery', d => { this.deliver(d) })
    // A peer's id is its identity key: knowing it lets us seal DMs to its account.
    node.on('peer:connect', id => {
      const key = peerIdFromString(id).publicKey
      if (key?.type === 'secp256k1') this.nicks.learnKey(key.raw)
    })
    for (const s of store.subscriptions()) node.subscribe(targetFromStored(s.kind, s.name))
    // A node always hears what is addressed to its account.
    node.subscribe(accountTarget(node.identity.account))
    this.chat = new ChatService({
      subscribe: (t, persist, historyFrom) => this.subscribe(t, persist, historyFrom),
      unsubscribe: t => this.unsubscribe(t),
      subscriptions: () => node.subscriptions(),
      send: o => this.send(o),
      sendDirect: (to, nick, text, action) => this.sendDirect(to, nick, text, action),
      getSetting: k => store.getSetting(k),
      setSetting: (k, v) => { store.setSetting(k, v) }
    }, config.nick)
  }

  static async start (config: NodeConfig, init: AppInit): Promise<App> {
    const datadir = prepareDatadir(config.datadir)
    // Before anything is written: a second process would share the identity and overwrite the cookie.
    const unlock = lockDatadir(datadir)
    let store: Store | undefined
    let node: TmsgNode | undefined
    let created: App | undefined
    try {
      const log = createLogger({ level: config.logLevel, dir: datadir.logs, stderr: init.logToStderr, sink: init.onLog })
      const identity = loadOrCreateIdentity(datadir.identityKey)
      store = new Store(datadir.database)
      const notices: string[] = []
      // prom-client and @libp2p/prometheus-metrics are loaded only when metrics are on: a
      // node without them (the default) does not keep their code and objects resident.
      const metricsModule = config.metricsPort !== 0 ? await import('./metrics.ts') : undefined
      const registry = metricsModule?.metricsRegistry()
      const port = await choosePort(config.host, config.port, config.portExplicit, '--port')
      if (port !== config.port && config.port !== 0) notices.push(`P2P port ${config.port} is taken; using ${port}`)
      node = await TmsgNode.create({
        identity,
        router: config.router,
        listen: [`/${isIPv6(config.host) ? 'ip6' : 'ip4'}/${config.host}/tcp/${port}`],
        bootstrap: config.bootstrap,
        mdns: config.mdns,
        minPeers: config.minPeers,
        maxPeers: config.maxPeers,
        logger: log,
        libp2pMetrics: registry?.libp2p,
        services: { [CHANNEL_SERVICE]: channelStream() },
        history: keptOriginals(store)
      })
      try {
        await node.start()
      } catch (err: unknown) {
        if (/EADDRINUSE/.test(String((err as Error).message))) throw new PortInUseError(`--port ${port}: port ${port} on ${config.host} is already in use`)
        throw err
      }
      const app = new App(config, datadir, node, store, log, notices, unlock)
      created = app
      app.layer2 = new Layer2({
        node,
        db: store.db,
        log: log.child({ component: 'layer2' }),
        ledgerPath: config.ledger ?? join(datadir.root, config.chain === 'dev' ? 'ledger.db' : `chain-${config.chain}.db`),
        chain: { kind: config.chain, ...(config.arcUrl !== undefined ? { arcUrl: config.arcUrl } : {}), ...(config.arcKey !== undefined ? { arcKey: config.arcKey } : {}), ...(config.headersUrl !== undefined ? { headersUrl: config.headersUrl } : {}), ...(config.walletUrl !== undefined ? { walletUrl: config.walletUrl } : {}) },
        maxWindowSeconds: config.maxWindow,
        downloads: join(datadir.root, 'downloads')
      })
      await app.layer2.start()
      if (metricsModule !== undefined) { // --metrics-port 0 = metrics off
        const { Metrics, startMetricsServer } = metricsModule
        const metrics = new Metrics(node.router, registry?.registry)
        app.metrics = metrics
        app.on('message', (_m, d) => { if (d.from !== 'self') metrics.observeDelivery(d.msg.timestamp, d.receivedAt) })
        try {
          app.metricsServer = await startMetricsServer(metrics, config.metricsHost, config.metricsPort)
        } catch (err: unknown) {
          if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(`--metrics-port ${config.metricsPort}: port ${config.metricsPort} on ${config.metricsHost} is already in use`)
          throw err
        }
        log.info({ url: app.metricsServer.url }, 'metrics listening')
      }
      for (const n of notices) log.warn(n)
      return app
    } catch (err: unknown) {
      await created?.metricsServer?.close()
      await node?.stop().catch(() => {})
      store?.close()
      unlock()
      throw err
    }
  }

  /**
   * Listens to a target; persisted (restored at the next start) unless `persist` is false.
   * `historyFrom`: see Node.subscribe.
   */
  subscribe (target: Target, persist = true, historyFrom?: number): boolean {
    if (persist) this.store.addSubscription({ target: target.id, kind: target.kind, name: target.name })
    const added = this.node.subscribe(target, historyFrom)
    if (added) this.node.replayKept(target.id)
    return added
  }

  unsubscribe (target: Target): boolean {
    this.store.removeSubscription(target.id)
    return this.node.unsubscribe(target)
  }

  /**
   * Deliveries become Messages once, here: stored, then handed to every listener. Signed
   * chat teaches the nick book who uses which nick; DIRECT payloads are opened (or dropped).
   */
  private deliver (d: Delivery): void {
    const { msg } = d
    if (msg.kind === Kind.DIRECT) {
      const message = this.direct.receive(msg, d.verified, d.receivedAt)
      if (message === undefined) return
      if (d.history === true) message.history = true
      if (message.nick !== undefined) this.hearNick(message.nick, msg.sender, d.receivedAt)
      this.emit('message', message, d)
      return
    }
    if (d.verified && msg.kind === Kind.CHAT) {
      const nick = decodeChat(msg.payload)?.nick
      if (nick !== undefined && nick !== '') this.hearNick(nick, msg.sender, d.receivedAt)
    }
    const subscribed = this.node.subscription(msg.target)
    // Replayed history shows once, also when it was delivered before a restart or a rejoin.
    if (d.history === true && subscribed !== undefined && this.store.hasMessage(msg.target, msg.msgId)) return
    const message = toMessage(msg, { verified: d.verified, receivedAt: d.receivedAt, targetName: subscribed?.short })
    if (d.history === true) message.history = true
    // History is per subscribed target; replies to our own requests are answers, not history.
    if (subscribed !== undefined) this.store.addMessage({ msg, verified: d.verified, receivedAt: d.receivedAt, targetName: message.targetName })
    this.emit('message', message, d)
  }

  /** Records a verified (nick, key) pair; a second key on a nick is news worth telling. */
  private hearNick (nick: string, key: Uint8Array, at: number): void {
    const h = this.nicks.heard(nick, key, at)
    if (!h.newPair || h.others.length === 0) return
    const account = this.nicks.learnKey(key, at)!
    const talking = new Set(this.store.directPeers(1000))
    this.emit('nick-key', { nick: nick.toLowerCase(), account, others: h.others, talking: h.others.filter(a => talking.has(a)) })
  }

  /** `@nick`, `acct:<address>` or an address → the account a direct message goes to (DESIGN §9). */
  resolveRecipient (to: string): string {
    return this.nicks.resolve(to)
  }

  /** Seals and sends a direct message; it is kept and shown to listeners like a received one. */
  sendDirect (to: string, nick: string, text: string, action: boolean): SendResult {
    const { result, message } = this.direct.send(to, nick, text, action)
    this.emit('message', message, { msg: result.msg, from: 'self', verified: true, account: this.node.identity.account, receivedAt: message.receivedAt })
    return result
  }

  /** Sends, and makes sure the history holds our own message before the caller is told. */
  send (o: SendOptions): SendResult {
    const r = this.node.send(o)
    this.store.flush()
    return r
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await this.metricsServer?.close()
    await this.layer2?.stop()
    await this.node.stop()
    try {
      this.store.close()
    } finally {
      this.log.flush()
      this.unlock()
    }
  }
}

/** The store as the node's store-and-forward backend (DESIGN §10): originals kept as encoded. */
export function keptOriginals (store: Store): HistoryBackend {
  return {
    // A fresh encoding: the received message's fields may be views into a frame buffer.
    keep: (msg, at) => { store.keepOriginal(msg.msgId.slice(), msg.target.slice(), msg.timestamp, at, encodeTMsg(msg)) },
    has: id => store.hasOriginal(id),
    recentIds: (since, limit) => store.recentOriginalIds(since, limit),
    newest: t => store.newestOriginal(t),
    since: (targets, since, limit, maxBytes) => store.originalsSince(targets, since, limit, maxBytes)
  }
}

function targetFromStored (kind: TargetKind, name: string): Target {
  switch (kind) {
    case 'channel': return channelTarget(name.slice('chan:'.length))
    case 'nick': return nickTarget(name.slice('nick:'.length))
    case 'account': return accountTarget(name)
    case 'raw': return rawTarget(name)
  }
}
