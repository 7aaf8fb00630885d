/**
 * Every channel event on this node, one shape for all (DESIGN §8a "watching the money
 * move"): `channel_subscribe` pushes them and `tmsg watch --channels` prints them. Amounts
 * are satoshis; `txid` is set where a transaction is the event.
 */
import type { ChannelRecord } from './store.ts'
import { depositOf } from './transactions.ts'

export type ChannelEventType = 'offer' | 'open' | 'funding' | 'payment' | 'ack' | 'topup' | 'close' | 'settlement' | 'refund'

export interface ChannelEvent {
  type: ChannelEventType
  /** Absent only for `offer` (a service, not a channel yet). */
  channelId?: string
  role: 'client' | 'provider'
  service: string
  /** The other side: its PeerId (absent for `offer`). */
  peer?: string
  /** What this event moves: the payment's increment, the top-up, the deposit. */
  amount?: number
  /** Running total paid through the channel after this event. */
  paid?: number
  /** The channel's deposit after this event. */
  deposit?: number
  sequence?: number
  txid?: string
  /** Whether the event is done (`true`) or a claim that is still being checked; e.g. a settlement the ledger has not shown yet. */
  confirmed?: boolean
  /** Milliseconds since the epoch. */
  at: number
}

/** An event about `ch`, with its running figures; `extra` says what this event moved. */
export function eventOf (type: ChannelEventType, ch: ChannelRecord, extra: Partial<ChannelEvent> = {}): ChannelEvent {
  return { type, channelId: ch.id, role: ch.role, service: ch.service, peer: ch.peerId, paid: ch.paid, deposit: depositOf(ch.fundings), at: Date.now(), ...extra }
}
