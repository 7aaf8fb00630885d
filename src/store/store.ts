/**
 * The one module that owns `<datadir>/tmsg.db`: its schema, its migrations and its queries.
 * Delivered messages (history, capped per target), subscriptions and joined rooms (they
 * survive a restart), and small settings such as the nick. Later layers add their tables
 * here, as new migrations.
 */
import { EventEmitter } from 'node:events'
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { openDatabase, relaxedTransaction, StoreError } from './sqlite.ts'
import type { Migration } from './sqlite.ts'
import type { TMsg } from '../wire/tmsg.ts'
import { TIMESTAMP_WINDOW_MS } from '../wire/constants.ts'
import { toMessage } from '../message.ts'
import type { Message } from '../message.ts'
import type { TargetKind } from '../targets.ts'

export { StoreError } from './sqlite.ts'

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE messages (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT, -- arrival order here
        msg_id      BLOB    NOT NULL,
        target      BLOB    NOT NULL,
        target_name TEXT,
        kind        INTEGER NOT NULL,
        payload     BLOB    NOT NULL,
        ttl         INTEGER NOT NULL,
        hops        INTEGER NOT NULL,
        reply_to    BLOB    NOT NULL,
        timestamp   INTEGER NOT NULL,
        nonce       BLOB    NOT NULL,
        sender      BLOB    NOT NULL,
        signature   BLOB    NOT NULL,
        verified    INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        UNIQUE (target, msg_id)
      );
      CREATE INDEX messages_by_target ON messages (target, seq);
      CREATE TABLE subscriptions (
        target     BLOB PRIMARY KEY,
        kind       TEXT NOT NULL,
        name       TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );`
  },
  {
    // Layer-2 (DESIGN §8): the wallet's coins, payment channels on both sides, offered services.
    version: 2,
    sql: `
      CREATE TABLE wallet_utxos (
        txid        TEXT    NOT NULL,
        vout        INTEGER NOT NULL,
        satoshis    INTEGER NOT NULL,
        reserved_by TEXT,            -- a funding transaction not broadcast yet uses it
        PRIMARY KEY (txid, vout)
      );
      CREATE TABLE channels (
        id             TEXT PRIMARY KEY,  -- txid of the first funding transaction
        role           TEXT    NOT NULL,  -- client | provider
        service        TEXT    NOT NULL,
        peer_id        TEXT    NOT NULL,
        peer_key       BLOB    NOT NULL,
        peer_account   TEXT    NOT NULL,
        peer_addresses TEXT    NOT NULL DEFAULT '[]', -- JSON: where to reach the provider after a restart
        state          TEXT    NOT NULL,  -- opening | funding | open | closing | closed | refunded
        expiry         INTEGER NOT NULL,  -- Unix seconds: the refunds' nLockTime
        window_seconds INTEGER NOT NULL,  -- the refund window the channel was opened with
        price_per_unit INTEGER NOT NULL,
        unit           TEXT    NOT NULL,
        fundings       TEXT    NOT NULL,  -- JSON [{txid, vout, satoshis}] confirmed funding outputs
        funding_txs    TEXT    NOT NULL,  -- JSON [hex]: raw funding transactions (client re-broadcasts)
        refunds        TEXT    NOT NULL,  -- JSON [hex]: fully signed refunds (client)
        pending        TEXT,              -- JSON: a funding in progress (open or top-up)
        sequence       INTEGER NOT NULL DEFAULT 0, -- last acknowledged (client) / accepted (provider)
        paid           INTEGER NOT NULL DEFAULT 0,
        last_update    BLOB,              -- provider: highest accepted update transaction
        last_signatures TEXT,             -- provider: JSON [hex] the client's signatures on it
        budget         INTEGER,
        alerts         TEXT    NOT NULL DEFAULT '[]',
        units_served   INTEGER NOT NULL DEFAULT 0, -- metered file: chunks served (provider) / received (client)
        content_root   TEXT,              -- metered file: the merkle root committed in TERMS (client)
        chunk_count    INTEGER,
        close_txid     TEXT,
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL
      );
      CREATE TABLE payments (              -- client: each payment as signed, before it is sent
        channel_id TEXT    NOT NULL,
        sequence   INTEGER NOT NULL,
        paid       INTEGER NOT NULL,
        update_tx  BLOB    NOT NULL,
        signatures TEXT    NOT NULL,
        acked      INTEGER NOT NULL DEFAULT 0, -- 0 not yet, 1 acknowledged, 2 refused (never sent again)
        PRIMARY KEY (channel_id, sequence)
      );
      CREATE TABLE offers (
        service        TEXT PRIMARY KEY,
        price_per_unit INTEGER NOT NULL,
        unit           TEXT    NOT NULL,
        min_deposit    INTEGER NOT NULL,
        window_seconds INTEGER NOT NULL,
        file           TEXT,
        active         INTEGER NOT NULL DEFAULT 1,
        created_at     INTEGER NOT NULL
      );`
  },
  {
    // Direct messages (DESIGN §9): which keys were heard signing as which nick, the public key
    // of every account heard (a DM is sealed for a key, and an address is only its hash), and
    // the conversations, kept in clear here (this node sealed or opened them).
    version: 3,
    sql: `
      CREATE TABLE keys (
        account    TEXT PRIMARY KEY,
        public_key BLOB    NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL
      );
      CREATE TABLE nick_keys (
        nick       TEXT    NOT NULL,  -- lower-cased
        account    TEXT    NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL,
        PRIMARY KEY (nick, account)
      );
      CREATE INDEX nick_keys_by_seen ON nick_keys (last_seen);
      CREATE TABLE direct_messages (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        msg_id      BLOB    NOT NULL UNIQUE,
        peer        TEXT    NOT NULL,  -- the other party's account
        outgoing    INTEGER NOT NULL,  -- 1: sent by this node
        target      BLOB    NOT NULL,
        sender      BLOB    NOT NULL,
        payload     BLOB    NOT NULL,  -- the sealed payload as it went on the wire
        nick        TEXT    NOT NULL,
        text        TEXT    NOT NULL,
        action      INTEGER NOT NULL,
        verified    INTEGER NOT NULL,
        ttl         INTEGER NOT NULL,
        hops        INTEGER NOT NULL,
        timestamp   INTEGER NOT NULL,
        received_at INTEGER NOT NULL
      );
      CREATE INDEX direct_messages_by_peer ON direct_messages (peer, seq);`
  },
  {
    // Peer-to-peer payments (DESIGN §8a "gift of cash"): each one this node sent or took, by
    // txid, with the BEEF it travelled as, so a gift shows once and can be shown again.
    version: 4,
    sql: `
      CREATE TABLE peer_payments (
        txid        TEXT    PRIMARY KEY,
        outgoing    INTEGER NOT NULL,  -- 1: paid by this node
        peer        TEXT    NOT NULL,  -- the other party's account
        amount      INTEGER NOT NULL,  -- satoshis to the payee
        memo        TEXT    NOT NULL,
        beef        BLOB    NOT NULL,
        at          INTEGER NOT NULL
      );
      CREATE INDEX peer_payments_by_time ON peer_payments (at);`
  },
  {
    // Store and forward (DESIGN §10): the signed originals of every message this node saw —
    // its own, delivered and relayed, sealed DMs for others too — kept for a day or 64 MiB,
    // whichever is smaller, to answer `/tmsg/history/1.0.0` requests.
    version: 5,
    sql: `
      CREATE TABLE originals (
        seq         INTEGER PRIMARY KEY,  -- arrival order here: same-ms lines keep their order
        msg_id      BLOB    NOT NULL UNIQUE,
        target      BLOB    NOT NULL,
        timestamp   INTEGER NOT NULL,  -- the sender's, as signed
        received_at INTEGER NOT NULL,
        tmsg        BLOB    NOT NULL   -- the TMsg as received (encoded)
      );
      CREATE INDEX originals_by_target ON originals (target, timestamp);
      CREATE INDEX originals_by_time ON originals (timestamp);`
  }
]

/** Signed originals are kept this long (by their timestamp) for store and forward... */
export const DEFAULT_ORIGINALS_MAX_AGE_MS = 24 * 60 * 60 * 1000
/** ...and at most this many bytes, counted as encoded TMsg + ROW_OVERHEAD; the oldest go first. */
export const DEFAULT_ORIGINALS_MAX_BYTES = 64 * 1024 * 1024
/** What a row costs beyond its TMsg: the id, target and timestamps again in the indexes. */
const ROW_OVERHEAD = 64
/** Expired originals are deleted at most this often (ms): a DELETE per flush would cost more. */
const AGE_PRUNE_EVERY_MS = 60_000

/** Messages kept per target; older ones are pruned. */
export const DEFAULT_HISTORY_PER_TARGET = 10_000
/** Pruning runs after this many inserts into one target. */
const PRUNE_EVERY = 200
/**
 * A failed history write is retried after these delays (ms), the batch kept in memory; when
 * the last retry fails too the store gives up loudly ('fatal'), never silently.
 */
export const FLUSH_RETRY_DELAYS_MS = [100, 500, 1000, 2000, 5000]
/** Messages held in memory while the disk refuses them; beyond this, give up at once. */
export const MAX_UNSAVED = 100_000

export interface StoredSubscription {
  target: Uint8Array
  kind: TargetKind
  name: string
}

interface Row {
  msg_id: Uint8Array
  target: Uint8Array
  target_name: string | null
  kind: number
  payload: Uint8Array
  ttl: number
  hops: number
  reply_to: Uint8Array
  timestamp: number
  nonce: Uint8Array
  sender: Uint8Array
  signature: Uint8Array
  verified: number
  received_at: number
}

/** One message of a direct conversation, as kept in `direct_messages`. */
export interface DirectRow {
  msgId: Uint8Array
  /** The other party's account. */
  peer: string
  outgoing: boolean
  target: Uint8Array
  sender: Uint8Array
  /** The sealed payload, as on the wire. */
  payload: Uint8Array
  nick: string
  text: string
  action: boolean
  verified: boolean
  ttl: number
  hops: number
  timestamp: number
  receivedAt: number
}

interface DirectDbRow {
  msg_id: Uint8Array
  peer: string
  outgoing: number
  target: Uint8Array
  sender: Uint8Array
  payload: Uint8Array
  nick: string
  text: string
  action: number
  verified: number
  ttl: number
  hops: number
  timestamp: number
  received_at: number
}

interface Pending {
  msg: TMsg
  verified: boolean
  receivedAt: number
  targetName?: string
}

/** A signed original waiting to be written (DESIGN §10). */
interface PendingOriginal {
  msgId: Uint8Array
  target: Uint8Array
  timestamp: number
  receivedAt: number
  /** The encoded TMsg: a copy, safe to keep. */
  tmsg: Uint8Array
}

export interface StoreInit {
  historyPerTarget?: number
  /** @default 24 h */
  originalsMaxAgeMs?: number
  /** @default 64 MiB */
  originalsMaxBytes?: number
  /** Wall clock for expiring originals (tests). @default Date.now */
  now?: () => number
}

interface StoreEvents {
  /**
   * History could not be written after every retry: the node should stop. Without a
   * listener the error is thrown (the process dies loudly rather than losing data quietly).
   */
  fatal: [StoreError]
}

export class Store extends EventEmitter<StoreEvents> {
  readonly db: DatabaseSync
  private readonly path: string
  private readonly historyCap: number
  private readonly insert: StatementSync
  private readonly pending: Pending[] = []
  private readonly pendingOriginals: PendingOriginal[] = []
  private readonly insertOriginal: StatementSync
  private readonly selectOriginal: StatementSync
  private readonly selectMessage: StatementSync
  private readonly selectNewestOriginal: StatementSync
  private readonly originalsMaxAgeMs: number
  private readonly originalsMaxBytes: number
  /** Bytes the originals table holds, as counted for its cap. */
  private originalsBytes: number
  private lastAgePrune = 0
  private readonly now: () => number
  private flushScheduled = false
  private retryTimer: NodeJS.Timeout | undefined
  private failures = 0
  private failed = false
  private readonly sincePrune = new Map<string, number>()
  private closed = false

  constructor (path: string, opts: StoreInit = {}) {
    super()
    this.path = path
    this.db = openDatabase(path, MIGRATIONS)
    // SQLite's page cache (2 MB by default) buys a relay nothing: its writes are appends and
    // random index inserts, its reads history pages the OS keeps cached anyway. 512 KiB: 1.4 MB
    // less resident after 300,000 originals at the memory bench's rate, in the same time.
    this.db.exec('PRAGMA cache_size = -512')
    this.historyCap = opts.historyPerTarget ?? DEFAULT_HISTORY_PER_TARGET
    this.originalsMaxAgeMs = opts.originalsMaxAgeMs ?? DEFAULT_ORIGINALS_MAX_AGE_MS
    this.originalsMaxBytes = opts.originalsMaxBytes ?? DEFAULT_ORIGINALS_MAX_BYTES
    this.now = opts.now ?? Date.now
    this.originalsBytes = (this.db.prepare(`SELECT COALESCE(SUM(length(tmsg)), 0) + COUNT(*) * ${ROW_OVERHEAD} AS b FROM originals`).get() as { b: number }).b
    this.selectOriginal = this.db.prepare('SELECT 1 FROM originals WHERE msg_id = ?')
    this.selectMessage = this.db.prepare('SELECT 1 FROM messages WHERE target = ? AND msg_id = ?')
    // A message counts as held from when it was received if its timestamp is later (a sender's
    // clock ahead, up to the flood's window): asking since a future timestamp after a time
    // away would skip what was said meanwhile. Only the last window's rows can be the newest
    // by that rule (a row is received at most a window before its timestamp), so the index
    // still bounds the read.
    this.selectNewestOriginal = this.db.prepare(`SELECT MAX(MIN(timestamp, received_at)) AS t FROM originals
      WHERE target = :target AND timestamp >= (SELECT MAX(timestamp) FROM originals WHERE target = :target) - ${TIMESTAMP_WINDOW_MS}`)
    this.insertOriginal = this.db.prepare('INSERT OR IGNORE INTO originals (msg_id, target, timestamp, received_at, tmsg) VALUES (?, ?, ?, ?, ?)')
    this.insert = this.db.prepare(`INSERT OR IGNORE INTO messages
      (msg_id, target, target_name, kind, payload, ttl, hops, reply_to, timestamp, nonce, sender, signature, verified, received_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  }

  // ---- history ----------------------------------------------------------------------------

  /**
   * Queues a delivered message for the history. Writes are batched into one transaction per
   * event-loop turn; `flush()` forces them (reads flush first, so they always see them).
   */
  addMessage (p: Pending): void {
    if (this.failed) return // already reported as fatal, with the count of what was lost
    this.pending.push(p)
    this.queued()
  }

  private queued (): void {
    if (this.unsaved > MAX_UNSAVED && this.failures > 0) {
      this.giveUp(new Error(`${this.unsaved} messages waiting for a disk that keeps failing`))
      return
    }
    if (!this.flushScheduled && this.retryTimer === undefined) {
      this.flushScheduled = true
      setImmediate(() => { this.flush() })
    }
  }

  /** Messages delivered or seen but not yet on disk. */
  get unsaved (): number {
    return this.pending.length + this.pendingOriginals.length
  }

  // ---- signed originals (store and forward, DESIGN §10) ------------------------------------

  /**
   * Queues the signed original of a message this node saw, written with the history in the
   * same batch. `tmsg` is the encoded message and must not change afterwards.
   */
  keepOriginal (msgId: Uint8Array, target: Uint8Array, timestamp: number, receivedAt: number, tmsg: Uint8Array): void {
    if (this.failed) return
    this.pendingOriginals.push({ msgId, target, timestamp, receivedAt, tmsg })
    this.queued()
  }

  /** Whether the original of `msgId` is kept (queued ones included). */
  hasOriginal (msgId: Uint8Array): boolean {
    this.flush()
    return this.selectOriginal.get(msgId) !== undefined
  }

  /** Ids of the originals with a timestamp at or after `since`, newest first, at most `limit`. */
  recentOriginalIds (since: number, limit: number): Uint8Array[] {
    this.flush()
    const rows = this.db.prepare('SELECT msg_id FROM originals WHERE timestamp >= ? ORDER BY timestamp DESC LIMIT ?').all(since, limit) as Array<{ msg_id: Uint8Array }>
    return rows.map(r => r.msg_id)
  }

  /** Timestamp of the newest original kept for `target`. */
  newestOriginal (target: Uint8Array): number | undefined {
    this.flush()
    const r = this.selectNewestOriginal.get({ target }) as { t: number | null }
    return r.t ?? undefined
  }

  /**
   * Encoded originals for `targets` with timestamp >= `since`, oldest first: at most `limit`,
   * and no more than `maxBytes` of them (the first one always, however large).
   */
  originalsSince (targets: readonly Uint8Array[], since: number, limit: number, maxBytes: number): Uint8Array[] {
    this.flush()
    if (targets.length === 0) return []
    const rows = this.db.prepare(`SELECT tmsg FROM originals WHERE target IN (${targets.map(() => '?').join(',')}) AND timestamp >= ?
      ORDER BY timestamp, seq LIMIT ?`).iterate(...targets, since, limit) as Iterable<{ tmsg: Uint8Array }>
    const out: Uint8Array[] = []
    let bytes = 0
    for (const r of rows) {
      bytes += r.tmsg.length
      if (bytes > maxBytes && out.length > 0) break
      out.push(r.tmsg)
    }
    return out
  }

  /** Originals kept and the bytes they count for (`node_stats`, benchmarks). */
  originalsStats (): { count: number, bytes: number } {
    this.flush()
    const r = this.db.prepare('SELECT COUNT(*) AS n FROM originals').get() as { n: number }
    return { count: r.n, bytes: this.originalsBytes }
  }

  private writeOriginals (): void {
    for (const o of this.pendingOriginals) {
      if (this.insertOriginal.run(o.msgId, o.target, o.timestamp, o.receivedAt, o.tmsg).changes > 0) this.originalsBytes += o.tmsg.length + ROW_OVERHEAD
    }
    const now = this.now()
    if (now - this.lastAgePrune >= AGE_PRUNE_EVERY_MS) {
      this.lastAgePrune = now
      this.pruneOriginals('timestamp < ?', now - this.originalsMaxAgeMs)
    }
    if (this.originalsBytes > this.originalsMaxBytes) {
      // Free a tenth more than needed, so a full store prunes once per many inserts, not each.
      let excess = this.originalsBytes - this.originalsMaxBytes * 0.9
      let cut: number | undefined
      for (const r of this.db.prepare('SELECT timestamp, length(tmsg) AS n FROM originals ORDER BY timestamp').iterate() as Iterable<{ timestamp: number, n: number }>) {
        cut = r.timestamp
        excess -= r.n + ROW_OVERHEAD
        if (excess <= 0) break
      }
      if (cut !== undefined) this.pruneOriginals('timestamp <= ?', cut)
    }
  }

  private pruneOriginals (where: string, value: number): void {
    const r = this.db.prepare(`SELECT COALESCE(SUM(length(tmsg)), 0) + COUNT(*) * ${ROW_OVERHEAD} AS b FROM originals WHERE ${where}`).get(value) as { b: number }
    if (r.b === 0) return
    this.db.prepare(`DELETE FROM originals WHERE ${where}`).run(value)
    this.originalsBytes -= r.b
  }

  /**
   * Writes the queued history in one transaction. A batch leaves memory only once it is
   * committed; on an error (disk full, I/O) it stays queued and is retried with backoff.
   */
  flush (): void {
    this.flushScheduled = false
    // While a retry is scheduled, callers that force a flush wait for it rather than
    // hammering a failing disk (and using up the retries in a burst).
    if (this.unsaved === 0 || this.closed || this.failed || this.retryTimer !== undefined) return
    const n = this.pending.length
    const bytesBefore = this.originalsBytes
    try {
      relaxedTransaction(this.db, () => {
        // One writer for both: originals ride in the history's batch and transaction.
        this.writeOriginals()
        // Nothing can be added while this synchronous transaction runs: all n are written.
        for (const { msg: m, verified, receivedAt, targetName } of this.pending) {
          this.insert.run(m.msgId, m.target, targetName ?? null, m.kind, m.payload, m.ttl, m.hops, m.replyTo, m.timestamp,
            m.nonce, m.sender, m.signature, verified ? 1 : 0, receivedAt)
          const key = Buffer.from(m.target).toString('hex')
          const count = (this.sincePrune.get(key) ?? 0) + 1
          this.sincePrune.set(key, count)
          if (count >= PRUNE_EVERY) {
            this.prune(m.target)
            this.sincePrune.set(key, 0)
          }
        }
      })
    } catch (err: unknown) {
      this.originalsBytes = bytesBefore // rolled back
      this.failures++
      const delay = FLUSH_RETRY_DELAYS_MS[this.failures - 1]
      if (delay === undefined) {
        this.giveUp(err as Error)
      } else if (this.retryTimer === undefined) {
        this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.flush() }, delay)
      }
      return
    }
    this.pending.splice(0, n)
    this.pendingOriginals.length = 0
    this.failures = 0
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer)
      this.retryTimer = undefined
    }
  }

  private giveUp (cause: Error): void {
    if (this.failed) return
    this.failed = true
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    const err = new StoreError(`cannot write message history to ${this.path} (${cause.message}); ` +
      `${this.unsaved} received messages are not saved; stopping — free disk space or check the disk, then restart`)
    if (this.listenerCount('fatal') === 0) throw err
    this.emit('fatal', err)
  }

  private prune (target: Uint8Array): void {
    this.db.prepare(`DELETE FROM messages WHERE target = ? AND seq <=
      (SELECT seq FROM messages WHERE target = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`).run(target, target, this.historyCap)
  }

  /**
   * The last `limit` messages of a target, oldest first (newest last); with `before`, those
   * that arrived before that message. Undefined when `before` is not in this target's history.
   */
  history (target: Uint8Array, limit: number, before?: Uint8Array): Message[] | undefined {
    this.flush()
    let rows: Row[]
    if (before === undefined) {
      rows = this.db.prepare('SELECT * FROM messages WHERE target = ? ORDER BY seq DESC LIMIT ?').all(target, limit) as unknown as Row[]
    } else {
      const anchor = this.db.prepare('SELECT seq FROM messages WHERE target = ? AND msg_id = ?').get(target, before) as { seq: number } | undefined
      if (anchor === undefined) return undefined
      rows = this.db.prepare('SELECT * FROM messages WHERE target = ? AND seq < ? ORDER BY seq DESC LIMIT ?').all(target, anchor.seq, limit) as unknown as Row[]
    }
    return rows.reverse().map(rowToMessage)
  }

  /**
   * Whether the history of `target` holds this message on disk. Queued ones are not looked at
   * (no flush, so a replay keeps its batch): they were delivered in this session, and the
   * router's seen cache stops a second delivery of those.
   */
  hasMessage (target: Uint8Array, msgId: Uint8Array): boolean {
    return this.selectMessage.get(target, msgId) !== undefined
  }

  // ---- direct messages --------------------------------------------------------------------

  /** Keeps one message of a conversation (sent or received); false if it was kept before. */
  addDirect (d: DirectRow): boolean {
    const r = this.db.prepare(`INSERT OR IGNORE INTO direct_messages
      (msg_id, peer, outgoing, target, sender, payload, nick, text, action, verified, ttl, hops, timestamp, received_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(d.msgId, d.peer, d.outgoing ? 1 : 0, d.target, d.sender, d.payload, d.nick,
      d.text, d.action ? 1 : 0, d.verified ? 1 : 0, d.ttl, d.hops, d.timestamp, d.receivedAt)
    if (r.changes === 0) return false
    // Capped per conversation like the history per target: one sender cannot fill the disk.
    const key = 'dm ' + d.peer
    const n = (this.sincePrune.get(key) ?? 0) + 1
    this.sincePrune.set(key, n)
    if (n >= PRUNE_EVERY) {
      this.db.prepare(`DELETE FROM direct_messages WHERE peer = ? AND seq <=
        (SELECT seq FROM direct_messages WHERE peer = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`).run(d.peer, d.peer, this.historyCap)
      this.sincePrune.set(key, 0)
    }
    return true
  }

  /**
   * The last `limit` messages with `peer`, oldest first; with `before`, those kept before
   * that message. Undefined when `before` is not in this conversation.
   */
  directHistory (peer: string, limit: number, before?: Uint8Array): DirectRow[] | undefined {
    let rows: DirectDbRow[]
    if (before === undefined) {
      rows = this.db.prepare('SELECT * FROM direct_messages WHERE peer = ? ORDER BY seq DESC LIMIT ?').all(peer, limit) as unknown as DirectDbRow[]
    } else {
      const anchor = this.db.prepare('SELECT seq FROM direct_messages WHERE peer = ? AND msg_id = ?').get(peer, before) as { seq: number } | undefined
      if (anchor === undefined) return undefined
      rows = this.db.prepare('SELECT * FROM direct_messages WHERE peer = ? AND seq < ? ORDER BY seq DESC LIMIT ?').all(peer, anchor.seq, limit) as unknown as DirectDbRow[]
    }
    return rows.reverse().map(r => ({
      msgId: r.msg_id, peer: r.peer, outgoing: r.outgoing === 1, target: r.target, sender: r.sender, payload: r.payload, nick: r.nick,
      text: r.text, action: r.action === 1, verified: r.verified === 1, ttl: r.ttl, hops: r.hops, timestamp: r.timestamp, receivedAt: r.received_at
    }))
  }

  /** Accounts this node has a conversation with, most recently active first. */
  directPeers (limit = 100): string[] {
    return (this.db.prepare('SELECT peer FROM direct_messages GROUP BY peer ORDER BY MAX(seq) DESC LIMIT ?').all(limit) as Array<{ peer: string }>).map(r => r.peer)
  }

  // ---- subscriptions ----------------------------------------------------------------------

  subscriptions (): StoredSubscription[] {
    return (this.db.prepare('SELECT target, kind, name FROM subscriptions ORDER BY created_at, name').all() as unknown as StoredSubscription[])
  }

  addSubscription (s: StoredSubscription): void {
    this.db.prepare('INSERT OR IGNORE INTO subscriptions (target, kind, name, created_at) VALUES (?, ?, ?, ?)').run(s.target, s.kind, s.name, Date.now())
  }

  removeSubscription (target: Uint8Array): void {
    this.db.prepare('DELETE FROM subscriptions WHERE target = ?').run(target)
  }

  // ---- settings ---------------------------------------------------------------------------

  getSetting (key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined)?.value
  }

  setSetting (key: string, value: string): void {
    this.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value)
  }

  /** Writes what is queued (one last try) and closes; unsaved messages are reported as fatal. */
  close (): void {
    if (this.closed) return
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    this.flush()
    if (this.unsaved > 0 && !this.failed) this.giveUp(new Error('the last write failed at shutdown'))
    this.closed = true
    this.db.close()
  }
}

function rowToMessage (r: Row): Message {
  const msg: TMsg = {
    msgId: r.msg_id, target: r.target, payload: r.payload, ttl: r.ttl, hops: r.hops, kind: r.kind, replyTo: r.reply_to,
    timestamp: r.timestamp, nonce: r.nonce, sender: r.sender, signature: r.signature
  }
  return toMessage(msg, { verified: r.verified === 1, receivedAt: r.received_at, targetName: r.target_name ?? undefined })
}
