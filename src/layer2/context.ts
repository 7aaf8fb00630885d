/** What the layer-2 services share: the node, the key, the ledger, the wallet, channel state, events. */
import type { EventEmitter } from 'node:events'
import type { Transaction } from '@bsv/sdk'
import type { Identity } from '../identity.ts'
import type { TmsgNode } from '../node/node.ts'
import type { Logger } from '../log.ts'
import type { Target } from '../targets.ts'
import type { Ledger } from './chain/ledger.ts'
import type { ChannelStream } from './channels/stream.ts'
import type { Wallet } from './wallet/wallet.ts'
import type { Alert, ChannelRecord, ChannelStore } from './channels/store.ts'
import type { ChannelEvent } from './channels/events.ts'

/** What `wallet_subscription` pushes and the chat shows: a payment this node sent or received. */
export interface WalletEvent {
  type: 'received' | 'sent'
  txid: string
  amount: number
  /** The other party's account. */
  peer: string
  memo: string
  at: number
}

export interface Layer2Events {
  /** A channel changed state (opened, settled, refunded, ...). */
  channel: [ChannelRecord]
  /** Provider side: a payment was banked. */
  earned: [{ channelId: string, service: string, amount: number, paid: number }]
  /** Client side: a payment was acknowledged. */
  paid: [{ channelId: string, sequence: number, paid: number }]
  /** Client side: a budget threshold was crossed ("battery indicator"). */
  alert: [{ channelId: string, alert: Alert, paid: number, budget: number }]
  /** Every channel event, for channel_subscribe and `tmsg watch --channels`. */
  event: [ChannelEvent]
  /** A peer-to-peer payment sent or received (wallet_subscription, the chat line). */
  wallet: [WalletEvent]
}

export interface Layer2Context {
  node: TmsgNode
  identity: Identity
  ledger: Ledger
  wallet: Wallet
  channels: ChannelStore
  /** The channel stream service: links to providers. */
  stream: ChannelStream
  log: Logger
  events: EventEmitter<Layer2Events>
  /** Unix seconds by the ledger clock (lock times are judged by it). */
  now: () => number
  /** Listens to a target for this run (derived from channel state, so not persisted). */
  subscribe: (target: Target) => void
  /** Broadcasts; a ledger refusal becomes ChannelError LEDGER_REJECTED. */
  broadcast: (tx: Transaction) => Promise<string>
}
