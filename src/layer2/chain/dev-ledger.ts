/**
 * The local development ledger: a SQLite UTXO set that accepts a transaction only as a
 * real node would — every input unspent, every script run by the SDK's `Spend` interpreter,
 * no value created, and lock-time finality by its clock. Several nodes on one machine can
 * share one file (`--ledger <path>`): SQLite serialises their writes.
 */
import { randomBytes } from 'node:crypto'
import type { DatabaseSync } from 'node:sqlite'
import { LockingScript, UnlockingScript } from '@bsv/sdk/script'
import { MerklePath, Transaction } from '@bsv/sdk/transaction'
import type { ChainTracker } from '@bsv/sdk'
import { openDatabase, transaction } from '../../store/sqlite.ts'
import type { Migration } from '../../store/sqlite.ts'
import { FINAL_SEQUENCE, LOCKTIME_THRESHOLD, TX_VERSION, outputOf, validateInput } from './tx.ts'
import { LedgerRejectedError } from './ledger.ts'
import type { ChainKind, Ledger, LedgerOutput } from './ledger.ts'
import type { VerifiedBeef } from './beef.ts'

const MIGRATIONS: readonly Migration[] = [{
  version: 1,
  sql: `
    CREATE TABLE outputs (
      txid     TEXT    NOT NULL,
      vout     INTEGER NOT NULL,
      satoshis INTEGER NOT NULL,
      script   TEXT    NOT NULL,
      spent_by TEXT,
      PRIMARY KEY (txid, vout)
    );
    CREATE INDEX outputs_unspent_by_script ON outputs (script) WHERE spent_by IS NULL;
    CREATE TABLE transactions (txid TEXT PRIMARY KEY, raw BLOB NOT NULL, accepted_at INTEGER NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`
}, {
  // Merkle paths of mined transactions (dev: the faucet's coinbases, each alone in its block;
  // learned: whatever a peer's BEEF proved), so this ledger can hand out BEEF of its coins.
  version: 2,
  sql: 'CREATE TABLE proofs (txid TEXT PRIMARY KEY, height INTEGER NOT NULL, path BLOB NOT NULL);'
}]

/** Ten minutes per virtual block, for height-based lock times. */
const BLOCK_SECONDS = 600

interface OutputRow { txid: string, vout: number, satoshis: number, script: string, spent_by: string | null }

/**
 * The dev chain's tracker trusts every merkle root: each node has its own dev ledger, so no
 * node can check another's dev blocks, and a dev root proves no more than the faucet does.
 * This is the one named shortcut of DESIGN §8a; `test`/`main` check roots against headers.
 */
export function devChainTracker (ledger: { height: () => number }): ChainTracker {
  return {
    isValidRootForHeight: async (root: string) => await Promise.resolve(/^[0-9a-f]{64}$/.test(root)),
    currentHeight: async () => await Promise.resolve(ledger.height())
  }
}

/**
 * The dev block a mint sits in, alone. BEEF holds one merkle path per height, so two mints may
 * never share a height — not on one ledger, nor on two separate ledgers whose coins meet in
 * one BEEF (a gift next to faucet coins). The height is drawn from the coinbase's txid (31
 * bits: a clash among a few hundred coins is a one-in-millions chance) and means no time.
 */
export function devBlockHeight (txid: string): number {
  return Number.parseInt(txid.slice(0, 8), 16) & 0x7fffffff
}

export interface DevLedgerInit {
  now?: () => number
  /** The chain this view is of; `dev` mints, the others only learn and broadcast. @default 'dev' */
  kind?: ChainKind
  tracker?: ChainTracker
}

export class DevLedger implements Ledger {
  readonly kind: ChainKind
  readonly now: () => number
  readonly tracker: ChainTracker
  private readonly db: DatabaseSync
  private readonly genesis: number

  constructor (path: string, opts: DevLedgerInit = {}) {
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000))
    this.kind = opts.kind ?? 'dev'
    this.tracker = opts.tracker ?? devChainTracker(this)
    this.db = openDatabase(path, MIGRATIONS)
    this.db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (\'genesis\', ?)').run(String(this.now()))
    this.genesis = Number((this.db.prepare('SELECT value FROM meta WHERE key = \'genesis\'').get() as { value: string }).value)
  }

  /** Virtual block height: one block per ten minutes of ledger clock since it was created. */
  height (): number {
    return Math.max(0, Math.floor((this.now() - this.genesis) / BLOCK_SECONDS))
  }

  async unspent (scriptHex: string): Promise<LedgerOutput[]> {
    const rows = this.db.prepare('SELECT * FROM outputs WHERE script = ? AND spent_by IS NULL ORDER BY rowid').all(scriptHex) as unknown as OutputRow[]
    return await Promise.resolve(rows.map(toOutput))
  }

  async output (txid: string, vout: number): Promise<LedgerOutput | undefined> {
    const row = this.db.prepare('SELECT * FROM outputs WHERE txid = ? AND vout = ?').get(txid, vout) as OutputRow | undefined
    return await Promise.resolve(row === undefined ? undefined : toOutput(row))
  }

  async broadcast (tx: Transaction): Promise<string> {
    // Judge the bytes that would go on the wire, re-parsed: the SDK caches serialisations, so
    // an object edited after it was serialised is not what it looks like.
    return await Promise.resolve(this.accept(Transaction.fromBinary(tx.toBinary())))
  }

  /**
   * Checks without applying: what a remote chain runs before it hands a transaction to the
   * network, so a refusal there leaves this view as it was.
   */
  async check (tx: Transaction): Promise<void> {
    const t = Transaction.fromBinary(tx.toBinary())
    if (this.db.prepare('SELECT 1 FROM transactions WHERE txid = ?').get(t.id('hex')) !== undefined) return
    this.checkTx(t, true)
    await Promise.resolve()
  }

  async known (txid: string): Promise<{ raw: Uint8Array, proof?: MerklePath } | undefined> {
    const row = this.db.prepare('SELECT t.raw AS raw, p.path AS path FROM transactions t LEFT JOIN proofs p ON p.txid = t.txid WHERE t.txid = ?').get(txid) as { raw: Uint8Array, path: Uint8Array | null } | undefined
    if (row === undefined) return await Promise.resolve(undefined)
    return { raw: Uint8Array.from(row.raw), ...(row.path !== null ? { proof: MerklePath.fromBinary([...row.path]) } : {}) }
  }

  async learn (beef: VerifiedBeef): Promise<void> {
    transaction(this.db, () => {
      for (const tx of beef.txs) {
        const txid = tx.id('hex')
        if (this.db.prepare('SELECT 1 FROM transactions WHERE txid = ?').get(txid) !== undefined) continue
        if (tx.merklePath !== undefined) {
          // Mined, and its root checked by our tracker: its outputs exist. Whether a mined
          // transaction spent them since is for the chain to say, as for any SPV wallet.
          this.record(tx, txid)
          // And what it spends is spent, whatever this view thought (a channel's funding
          // settled in a block must not look unspent, or its refund would be tried).
          const spend = this.db.prepare('UPDATE outputs SET spent_by = ? WHERE txid = ? AND vout = ?')
          for (const input of tx.inputs) spend.run(txid, input.sourceTXID!, input.sourceOutputIndex)
          this.db.prepare('INSERT OR IGNORE INTO proofs (txid, height, path) VALUES (?, ?, ?)').run(txid, tx.merklePath.blockHeight, Uint8Array.from(tx.merklePath.toBinary()))
        } else {
          // Scripts were run by verifyBeef; what only this view knows is what it already saw spent.
          this.apply(tx, txid, false)
        }
      }
    })
    await Promise.resolve()
  }

  /** Checks and applies in one write transaction, so two processes cannot both spend an output. */
  private accept (tx: Transaction): string {
    const txid = tx.id('hex')
    return transaction(this.db, () => {
      if (this.db.prepare('SELECT 1 FROM transactions WHERE txid = ?').get(txid) !== undefined) return txid
      this.apply(tx, txid, true)
      return txid
    })
  }

  private apply (tx: Transaction, txid: string, scripts: boolean): void {
    this.checkTx(tx, scripts)
    const spend = this.db.prepare('UPDATE outputs SET spent_by = ? WHERE txid = ? AND vout = ?')
    for (const input of tx.inputs) spend.run(txid, input.sourceTXID!, input.sourceOutputIndex)
    this.record(tx, txid)
  }

  /** Its outputs and its bytes. */
  private record (tx: Transaction, txid: string): void {
    const add = this.db.prepare('INSERT OR IGNORE INTO outputs (txid, vout, satoshis, script) VALUES (?, ?, ?, ?)')
    tx.outputs.forEach((o, vout) => add.run(txid, vout, o.satoshis!, o.lockingScript.toHex()))
    this.db.prepare('INSERT INTO transactions (txid, raw, accepted_at) VALUES (?, ?, ?)').run(txid, Uint8Array.from(tx.toBinary()), this.now())
  }

  private checkTx (tx: Transaction, scripts: boolean): void {
    if (tx.version < 1) throw new LedgerRejectedError('malformed', `version ${tx.version}`)
    if (tx.inputs.length === 0 || tx.outputs.length === 0) throw new LedgerRejectedError('malformed', 'a transaction needs inputs and outputs')
    const seen = new Set<string>()
    let valueIn = 0
    const sources: OutputRow[] = []
    for (const input of tx.inputs) {
      const key = `${input.sourceTXID ?? ''}:${input.sourceOutputIndex}`
      if (seen.has(key)) throw new LedgerRejectedError('malformed', `input ${key} is spent twice in one transaction`)
      seen.add(key)
      const row = this.db.prepare('SELECT * FROM outputs WHERE txid = ? AND vout = ?').get(input.sourceTXID!, input.sourceOutputIndex) as OutputRow | undefined
      if (row === undefined) throw new LedgerRejectedError('missing-input', `input ${key} does not exist`)
      if (row.spent_by !== null) throw new LedgerRejectedError('double-spend', `input ${key} was already spent by ${row.spent_by}`)
      valueIn += row.satoshis
      sources.push(row)
    }
    let valueOut = 0
    for (const o of tx.outputs) {
      if (!Number.isSafeInteger(o.satoshis) || o.satoshis! < 0) throw new LedgerRejectedError('malformed', 'output amounts must be whole, non-negative satoshis')
      valueOut += o.satoshis!
    }
    if (valueOut > valueIn) throw new LedgerRejectedError('value', `outputs (${valueOut}) exceed inputs (${valueIn})`)
    if (!this.isFinal(tx)) {
      const at = tx.lockTime >= LOCKTIME_THRESHOLD ? new Date(tx.lockTime * 1000).toISOString() : `height ${tx.lockTime}`
      throw new LedgerRejectedError('non-final', `not final until ${at}`)
    }
    if (scripts) tx.inputs.forEach((_, i) => {
      try {
        validateInput(tx, i, { satoshis: sources[i]!.satoshis, lockingScript: LockingScript.fromHex(sources[i]!.script) })
      } catch (err: unknown) {
        throw new LedgerRejectedError('script', `input ${i}: ${(err as Error).message}`)
      }
    })
  }

  /** Bitcoin's IsFinalTx: lock time 0, or passed, or every input final. The SDK leaves this to us. */
  private isFinal (tx: Transaction): boolean {
    if (tx.lockTime === 0) return true
    const limit = tx.lockTime < LOCKTIME_THRESHOLD ? this.height() : this.now()
    if (tx.lockTime < limit) return true
    return tx.inputs.every(i => (i.sequence ?? FINAL_SEQUENCE) === FINAL_SEQUENCE)
  }

  /**
   * Test coins: a coinbase-like transaction paying `satoshis` to `scriptHex`, mined at once
   * alone in a dev block (its merkle root is its txid), so BEEF of these coins ends here.
   */
  async mint (scriptHex: string, satoshis: number): Promise<string> {
    if (this.kind !== 'dev') throw new LedgerRejectedError('malformed', `coins are minted on the dev chain only, not on ${this.kind}`)
    if (!Number.isSafeInteger(satoshis) || satoshis <= 0) throw new RangeError('amount must be a positive number of satoshis')
    const coinbase = new Transaction(TX_VERSION, [{
      sourceTXID: '00'.repeat(32),
      sourceOutputIndex: FINAL_SEQUENCE,
      sequence: FINAL_SEQUENCE,
      // Random coinbase data makes every mint a distinct transaction.
      unlockingScript: new UnlockingScript([{ op: 16, data: [...randomBytes(16)] }])
    }], [outputOf(satoshis, LockingScript.fromHex(scriptHex))], 0)
    const txid = coinbase.id('hex')
    const proof = new MerklePath(devBlockHeight(txid), [[{ offset: 0, hash: txid, txid: true }]])
    transaction(this.db, () => {
      this.record(coinbase, txid)
      this.db.prepare('INSERT INTO proofs (txid, height, path) VALUES (?, ?, ?)').run(txid, proof.blockHeight, Uint8Array.from(proof.toBinary()))
    })
    return await Promise.resolve(txid)
  }

  close (): void {
    this.db.close()
  }
}

function toOutput (r: OutputRow): LedgerOutput {
  return { txid: r.txid, vout: r.vout, satoshis: r.satoshis, script: r.script, ...(r.spent_by !== null ? { spentBy: r.spent_by } : {}) }
}
