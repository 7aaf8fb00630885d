/**
 * Channel state in tmsg.db (tables in src/store/store.ts, migration 2). Every change is one
 * SQLite transaction, committed before the message that depends on it is sent: a `kill -9`
 * at any point loses no signed state.
 */
import type { DatabaseSync } from 'node:sqlite'
import { Transaction } from '@bsv/sdk/transaction'
import { transaction } from '../../store/sqlite.ts'
import type { Outpoint } from '../chain/tx.ts'

export type Role = 'client' | 'provider'
/**
 * opening  the provider has not signed the refund yet (client), or the funding is not seen (provider)
 * funding  the client holds the fully signed refund and broadcasts the funding
 * open     both sides agree the funding is on the ledger: payments flow
 * closing  settlement asked for; or nothing to settle, waiting for the refund to mature
 * closed   settled by the provider; refunded: the client's refund went through; failed: never funded
 */
export type ChannelState = 'opening' | 'funding' | 'open' | 'closing' | 'closed' | 'refunded' | 'failed'
export type Alert = 'warn-80' | 'warn-95' | 'exhausted'

/** A funding transaction in progress (the open, or a top-up): its refund and signatures. */
export interface PendingFunding {
  fundingTx: string
  refundTx: string
  clientRefundSig: string
  providerRefundSig?: string
  /** Provider side: the funding as the client's BEEF (hex), learned once the client says it is broadcast. */
  fundingBeef?: string
}

export interface ChannelRecord {
  id: string
  role: Role
  service: string
  peerId: string
  peerKey: Uint8Array
  peerAccount: string
  /** Multiaddrs of the provider (client side): a restarted node must find it again. */
  peerAddresses: string[]
  state: ChannelState
  expiry: number
  windowSeconds: number
  pricePerUnit: number
  unit: string
  fundings: Outpoint[]
  fundingTxs: string[]
  refunds: string[]
  pending?: PendingFunding
  sequence: number
  paid: number
  lastUpdate?: Uint8Array
  lastSignatures?: string[]
  budget?: number
  alerts: Alert[]
  unitsServed: number
  contentRoot?: string
  chunkCount?: number
  closeTxid?: string
  createdAt: number
  updatedAt: number
}

/** A payment the client signed: kept before it is sent, so it is never signed for another amount. */
export interface SignedPayment {
  channelId: string
  sequence: number
  paid: number
  updateTx: Uint8Array
  signatures: string[]
  acked: boolean
}

/**
 * How long before expiry a channel stops taking payments: the provider must still be able to
 * settle before the client's refund matures. A quarter of the window, within 1 s .. 1 h.
 */
export function settleMargin (ch: Pick<ChannelRecord, 'windowSeconds'>): number {
  return Math.min(3600, Math.max(1, Math.floor(ch.windowSeconds / 4)))
}

export interface Offer {
  service: string
  pricePerUnit: number
  unit: string
  minDeposit: number
  windowSeconds: number
  file?: string
  active: boolean
}

interface ChannelRow {
  id: string, role: Role, service: string, peer_id: string, peer_key: Uint8Array, peer_account: string, peer_addresses: string, state: ChannelState
  expiry: number, window_seconds: number, price_per_unit: number, unit: string, fundings: string, funding_txs: string, refunds: string, pending: string | null
  sequence: number, paid: number, last_update: Uint8Array | null, last_signatures: string | null, budget: number | null
  alerts: string, units_served: number, content_root: string | null, chunk_count: number | null, close_txid: string | null
  created_at: number, updated_at: number
}

function fromRow (r: ChannelRow): ChannelRecord {
  return {
    id: r.id,
    role: r.role,
    service: r.service,
    peerId: r.peer_id,
    peerKey: r.peer_key,
    peerAccount: r.peer_account,
    peerAddresses: JSON.parse(r.peer_addresses) as string[],
    state: r.state,
    expiry: r.expiry,
    windowSeconds: r.window_seconds,
    pricePerUnit: r.price_per_unit,
    unit: r.unit,
    fundings: JSON.parse(r.fundings) as Outpoint[],
    fundingTxs: JSON.parse(r.funding_txs) as string[],
    refunds: JSON.parse(r.refunds) as string[],
    ...(r.pending !== null ? { pending: JSON.parse(r.pending) as PendingFunding } : {}),
    sequence: r.sequence,
    paid: r.paid,
    ...(r.last_update !== null ? { lastUpdate: r.last_update } : {}),
    ...(r.last_signatures !== null ? { lastSignatures: JSON.parse(r.last_signatures) as string[] } : {}),
    ...(r.budget !== null ? { budget: r.budget } : {}),
    alerts: JSON.parse(r.alerts) as Alert[],
    unitsServed: r.units_served,
    ...(r.content_root !== null ? { contentRoot: r.content_root } : {}),
    ...(r.chunk_count !== null ? { chunkCount: r.chunk_count } : {}),
    ...(r.close_txid !== null ? { closeTxid: r.close_txid } : {}),
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }
}

const COLUMNS: Record<keyof Omit<ChannelRecord, 'id' | 'createdAt'>, string> = {
  role: 'role', service: 'service', peerId: 'peer_id', peerKey: 'peer_key', peerAccount: 'peer_account', peerAddresses: 'peer_addresses', state: 'state',
  expiry: 'expiry', windowSeconds: 'window_seconds', pricePerUnit: 'price_per_unit', unit: 'unit', fundings: 'fundings', fundingTxs: 'funding_txs',
  refunds: 'refunds', pending: 'pending', sequence: 'sequence', paid: 'paid', lastUpdate: 'last_update',
  lastSignatures: 'last_signatures', budget: 'budget', alerts: 'alerts', unitsServed: 'units_served', contentRoot: 'content_root',
  chunkCount: 'chunk_count', closeTxid: 'close_txid',
  updatedAt: 'updated_at'
}
const JSON_FIELDS = new Set(['peerAddresses', 'fundings', 'fundingTxs', 'refunds', 'pending', 'lastSignatures', 'alerts'])

type SqlValue = string | number | Uint8Array | null

function toColumn (field: string, value: unknown): SqlValue {
  if (value === undefined || value === null) return null
  if (JSON_FIELDS.has(field)) return JSON.stringify(value)
  return value as SqlValue
}

export class ChannelStore {
  private readonly db: DatabaseSync

  constructor (db: DatabaseSync) {
    this.db = db
  }

  get (id: string): ChannelRecord | undefined {
    const r = this.db.prepare('SELECT * FROM channels WHERE id = ?').get(id) as ChannelRow | undefined
    return r === undefined ? undefined : fromRow(r)
  }

  list (role?: Role): ChannelRecord[] {
    const rows = role === undefined
      ? this.db.prepare('SELECT * FROM channels ORDER BY created_at').all()
      : this.db.prepare('SELECT * FROM channels WHERE role = ? ORDER BY created_at').all(role)
    return (rows as unknown as ChannelRow[]).map(fromRow)
  }

  insert (c: ChannelRecord): void {
    const fields = Object.keys(COLUMNS) as Array<keyof typeof COLUMNS>
    const cols = ['id', 'created_at', ...fields.map(f => COLUMNS[f])]
    const values: SqlValue[] = [c.id, c.createdAt, ...fields.map(f => toColumn(f, c[f]))]
    this.db.prepare(`INSERT INTO channels (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...values)
  }

  /** Updates some fields (and `updatedAt`) in one statement. */
  update (id: string, patch: Partial<Omit<ChannelRecord, 'id' | 'createdAt'>>): void {
    const entries = Object.entries({ ...patch, updatedAt: Date.now() }) as Array<[keyof typeof COLUMNS, unknown]>
    this.db.prepare(`UPDATE channels SET ${entries.map(([f]) => `${COLUMNS[f]} = ?`).join(', ')} WHERE id = ?`)
      .run(...entries.map(([f, v]) => toColumn(f, v)), id)
  }

  /** Runs several writes as one transaction. */
  atomically<T> (fn: () => T): T {
    return transaction(this.db, fn)
  }

  // ---- the client's signed payments -------------------------------------------------------

  savePayment (p: SignedPayment): void {
    this.db.prepare('INSERT INTO payments (channel_id, sequence, paid, update_tx, signatures, acked) VALUES (?, ?, ?, ?, ?, ?)')
      .run(p.channelId, p.sequence, p.paid, p.updateTx, JSON.stringify(p.signatures), p.acked ? 1 : 0)
  }

  /** The newest payment the provider has not acknowledged, to be sent again as it is. */
  unackedPayment (channelId: string): SignedPayment | undefined {
    const r = this.db.prepare('SELECT * FROM payments WHERE channel_id = ? AND acked = 0 ORDER BY sequence DESC LIMIT 1').get(channelId) as
      { channel_id: string, sequence: number, paid: number, update_tx: Uint8Array, signatures: string, acked: number } | undefined
    return r === undefined ? undefined : { channelId: r.channel_id, sequence: r.sequence, paid: r.paid, updateTx: r.update_tx, signatures: JSON.parse(r.signatures) as string[], acked: false }
  }

  /** How many funding outputs the newest acknowledged payment spends (0 when none was). */
  lastAckedInputs (channelId: string): number {
    const r = this.db.prepare('SELECT update_tx FROM payments WHERE channel_id = ? AND acked = 1 ORDER BY sequence DESC LIMIT 1').get(channelId) as { update_tx: Uint8Array } | undefined
    return r === undefined ? 0 : Transaction.fromBinary([...r.update_tx]).inputs.length
  }

  /** The highest sequence ever signed for a channel (acknowledged or not). */
  lastSignedSequence (channelId: string): number {
    return (this.db.prepare('SELECT MAX(sequence) AS s FROM payments WHERE channel_id = ?').get(channelId) as { s: number | null }).s ?? 0
  }

  markAcked (channelId: string, sequence: number): void {
    this.db.prepare('UPDATE payments SET acked = 1 WHERE channel_id = ? AND sequence <= ? AND acked = 0').run(channelId, sequence)
  }

  /** The provider refused this payment: it is never sent again (its sequence stays used). */
  markRefused (channelId: string, sequence: number): void {
    this.db.prepare('UPDATE payments SET acked = 2 WHERE channel_id = ? AND sequence = ?').run(channelId, sequence)
  }

  // ---- the provider's offers --------------------------------------------------------------

  offers (): Offer[] {
    return (this.db.prepare('SELECT * FROM offers ORDER BY created_at').all() as unknown as Array<{ service: string, price_per_unit: number, unit: string, min_deposit: number, window_seconds: number, file: string | null, active: number }>)
      .map(r => ({ service: r.service, pricePerUnit: r.price_per_unit, unit: r.unit, minDeposit: r.min_deposit, windowSeconds: r.window_seconds, ...(r.file !== null ? { file: r.file } : {}), active: r.active === 1 }))
  }

  saveOffer (o: Offer): void {
    this.db.prepare(`INSERT INTO offers (service, price_per_unit, unit, min_deposit, window_seconds, file, active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (service) DO UPDATE SET price_per_unit = excluded.price_per_unit, unit = excluded.unit, min_deposit = excluded.min_deposit,
        window_seconds = excluded.window_seconds, file = excluded.file, active = excluded.active`)
      .run(o.service, o.pricePerUnit, o.unit, o.minDeposit, o.windowSeconds, o.file ?? null, o.active ? 1 : 0, Date.now())
  }
}
