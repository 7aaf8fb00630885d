/**
 * Layer-2 on a running node: the ledger, the wallet, channels on both sides, balance
 * queries, and the periodic care that settles and refunds channels on time.
 *
 * One room per concern, each importing only the rooms before it:
 *   chain/      the ledger interface and its backends (dev, test/main via ARC), BEEF, tx parts
 *   wallet/     this node's coins, and peer-to-peer payments (gifts)
 *   terms/      service discovery: TERMS_REQUEST / TERMS
 *   channels/   client, provider, their transactions, the checks (pure), state, events, stream
 *   balances/   balance queries and their proofs
 * Here, beside this assembly: the shared context and errors, the schema, flooded
 * request/response helpers and the crash points of the kill -9 tests. The RPC methods are
 * in src/rpc/layer2-methods.ts.
 */
import { EventEmitter } from 'node:events'
import type { DatabaseSync } from 'node:sqlite'
import type { Transaction } from '@bsv/sdk'
import type { TmsgNode, Delivery } from '../node/node.ts'
import type { Logger } from '../log.ts'
import type { Target } from '../targets.ts'
import { accountTarget } from '../targets.ts'
import { DevLedger } from './chain/dev-ledger.ts'
import { RemoteChain } from './chain/remote-chain.ts'
import { LedgerRejectedError } from './chain/ledger.ts'
import type { ChainKind, Ledger } from './chain/ledger.ts'
import { Wallet } from './wallet/wallet.ts'
import { ChannelStore } from './channels/store.ts'
import { ChannelError } from './errors.ts'
import { Provider } from './channels/provider.ts'
import { ChannelClient } from './channels/client.ts'
import { BalanceService } from './balances/balance.ts'
import { PaymentService } from './wallet/payments.ts'
import { CHANNEL_SERVICE, ChannelStream } from './channels/stream.ts'
import type { Layer2Context, Layer2Events } from './context.ts'

export interface Layer2Init {
  node: TmsgNode
  db: DatabaseSync
  log: Logger
  /** The development ledger's file (shared by local nodes with --ledger). */
  ledgerPath: string
  /** The chain (DESIGN §8a). @default dev */
  chain?: { kind: ChainKind, arcUrl?: string, arcKey?: string, headersUrl?: string, walletUrl?: string }
  /** Where metered files are written. */
  downloads: string
  /** How often channels are checked for settlement, refunds and unsent payments. @default 2 s */
  maintainEveryMs?: number
  /** Longest refund window this node accepts as a client. @default 7 days */
  maxWindowSeconds?: number
  /** Ledger clock in Unix seconds (tests). */
  now?: () => number
}

/** The ledger for `--chain`: the embedded dev chain, or this node's view of test/main through ARC and headers. */
function openChain (init: Layer2Init): Ledger {
  const c = init.chain ?? { kind: 'dev' }
  const now = init.now === undefined ? {} : { now: init.now }
  if (c.kind === 'dev') return new DevLedger(init.ledgerPath, now)
  if (c.arcUrl === undefined) throw new Error(`--chain ${c.kind} needs --arc-url (the ARC endpoint to broadcast through)`)
  return new RemoteChain({ kind: c.kind, path: init.ledgerPath, arcUrl: c.arcUrl, ...(c.arcKey !== undefined ? { arcKey: c.arcKey } : {}), ...(c.headersUrl !== undefined ? { headersUrl: c.headersUrl } : {}), ...(c.walletUrl !== undefined ? { walletUrl: c.walletUrl } : {}), ...now })
}

export class Layer2 {
  readonly events = new EventEmitter<Layer2Events>()
  readonly ledger: Ledger
  readonly wallet: Wallet
  readonly channels: ChannelStore
  readonly provider: Provider
  readonly client: ChannelClient
  readonly balance: BalanceService
  readonly payments: PaymentService
  private readonly node: TmsgNode
  private readonly log: Logger
  private readonly maintainEveryMs: number
  private readonly stream: ChannelStream
  private timer?: NodeJS.Timeout
  /** The maintenance round under way, if any (one at a time; stop waits for it). */
  private maintaining?: Promise<void>
  private readonly onDelivery = (d: Delivery): void => {
    // A request replayed from store and forward (DESIGN §10) was asked long ago, of whoever
    // was online then: answering it again floods stale answers nobody waits for. A payment
    // made while this node was away is still worth taking.
    if (d.history !== true) {
      this.provider.onDelivery(d)
      this.balance.onDelivery(d)
    }
    this.payments.onDelivery(d)
  }

  constructor (init: Layer2Init) {
    this.node = init.node
    this.log = init.log
    const stream = init.node.service(CHANNEL_SERVICE)
    if (!(stream instanceof ChannelStream)) throw new Error(`layer-2 needs the channel stream among the node's services (${CHANNEL_SERVICE}: channelStream())`)
    this.stream = stream
    this.ledger = openChain(init)
    this.wallet = new Wallet(init.node.identity, this.ledger, init.db)
    this.channels = new ChannelStore(init.db)
    const ledger = this.ledger
    const ctx: Layer2Context = {
      node: init.node,
      identity: init.node.identity,
      ledger,
      wallet: this.wallet,
      channels: this.channels,
      stream,
      log: init.log,
      events: this.events,
      now: () => ledger.now(),
      subscribe: (t: Target) => { init.node.subscribe(t) },
      broadcast: async (tx: Transaction) => {
        try {
          return await ledger.broadcast(tx)
        } catch (err: unknown) {
          if (err instanceof LedgerRejectedError) throw new ChannelError('LEDGER_REJECTED', `ledger refused ${tx.id('hex')}: ${err.message}`)
          throw err
        }
      }
    }
    this.provider = new Provider(ctx)
    this.client = new ChannelClient(ctx, init.downloads, init.maxWindowSeconds)
    this.balance = new BalanceService(ctx)
    this.payments = new PaymentService(ctx, init.db)
    this.maintainEveryMs = init.maintainEveryMs ?? 2000
  }

  async start (): Promise<void> {
    this.stream.serve(async (peer, req) => await this.provider.handle(peer, req))
    this.node.on('delivery', this.onDelivery)
    this.provider.start()
    // Hear balance requests about the accounts we hold channel state with.
    for (const ch of this.channels.list('client')) this.node.subscribe(accountTarget(ch.peerAccount))
    await this.wallet.sync()
    await this.maintain()
    this.timer = setInterval(() => { void this.maintain() }, this.maintainEveryMs)
    this.timer.unref()
  }

  /** Finishes what a crash interrupted, settles what is due, refunds what expired. */
  async maintain (): Promise<void> {
    if (this.maintaining !== undefined) return
    this.maintaining = this.maintainOnce().finally(() => { this.maintaining = undefined })
    await this.maintaining
  }

  private async maintainOnce (): Promise<void> {
    try {
      await this.client.maintain()
      await this.provider.settleDue()
      await this.payments.retry()
    } catch (err: unknown) {
      this.log.error({ err }, 'layer-2 maintenance failed')
    }
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.node.off('delivery', this.onDelivery)
    this.stream.unserve()
    // A maintenance round still running uses the ledger: it finishes before the ledger closes.
    await this.maintaining
    this.ledger.close()
  }
}
