/**
 * The node's wallet: P2PKH coins of its own key (its account), mirrored from the ledger into
 * SQLite, where coins used by a funding transaction that is not broadcast yet are reserved
 * so nothing else spends them meanwhile.
 */
import type { DatabaseSync } from 'node:sqlite'
import { Transaction } from '@bsv/sdk/transaction'
import type { LockingScript } from '@bsv/sdk'
import type { Identity } from '../../identity.ts'
import { transaction } from '../../store/sqlite.ts'
import { ChannelError } from '../errors.ts'
import type { Ledger } from '../chain/ledger.ts'
import { beefOf } from '../chain/beef.ts'
import { P2PKH_UNLOCK_MAX, TX_VERSION, FINAL_SEQUENCE, fee, inputOf, outputOf, p2pkhLock, p2pkhUnlock, signInput, sizeWith } from '../chain/tx.ts'

export interface Coin {
  txid: string
  vout: number
  satoshis: number
}

export interface WalletBalance {
  account: string
  /** Spendable now. */
  balance: number
  utxos: number
  /** Held by fundings in progress. */
  reserved: number
}

export class Wallet {
  readonly identity: Identity
  readonly ledger: Ledger
  private readonly db: DatabaseSync
  readonly script: LockingScript

  constructor (identity: Identity, ledger: Ledger, db: DatabaseSync) {
    this.identity = identity
    this.ledger = ledger
    this.db = db
    this.script = p2pkhLock(identity.account)
  }

  /** Brings the local copy in line with the ledger: new coins in, spent ones out. */
  async sync (): Promise<void> {
    const onLedger = await this.ledger.unspent(this.script.toHex())
    const keep = new Set(onLedger.map(o => `${o.txid}:${o.vout}`))
    transaction(this.db, () => {
      const add = this.db.prepare('INSERT OR IGNORE INTO wallet_utxos (txid, vout, satoshis) VALUES (?, ?, ?)')
      for (const o of onLedger) add.run(o.txid, o.vout, o.satoshis)
      const gone = this.db.prepare('DELETE FROM wallet_utxos WHERE txid = ? AND vout = ?')
      for (const c of this.coins(true)) if (!keep.has(`${c.txid}:${c.vout}`)) gone.run(c.txid, c.vout)
    })
  }

  async balance (): Promise<WalletBalance> {
    await this.sync()
    const free = this.coins(false)
    const all = this.coins(true)
    const sum = (cs: Coin[]): number => cs.reduce((s, c) => s + c.satoshis, 0)
    return { account: this.identity.account, balance: sum(free), utxos: free.length, reserved: sum(all) - sum(free) }
  }

  /** The coins `balance` counts (spendable, not reserved), after a sync. */
  async spendable (): Promise<Coin[]> {
    await this.sync()
    return this.coins(false)
  }

  private coins (includeReserved: boolean): Coin[] {
    return this.db.prepare(`SELECT txid, vout, satoshis FROM wallet_utxos ${includeReserved ? '' : 'WHERE reserved_by IS NULL'} ORDER BY satoshis DESC`).all() as unknown as Coin[]
  }

  /**
   * Builds and signs (does not broadcast) a version-1 transaction paying `amount` to
   * `script` at output 0, change back to this wallet, and reserves the coins it spends under
   * its txid until `release(txid)` or until the ledger sees them spent.
   */
  async fund (script: LockingScript, amount: number): Promise<Transaction> {
    await this.sync()
    const chosen: Coin[] = []
    let total = 0
    const draft = (): Transaction => new Transaction(TX_VERSION, chosen.map(c => inputOf(c, FINAL_SEQUENCE)),
      [outputOf(amount, script), outputOf(0, this.script)], 0)
    for (const c of this.coins(false)) {
      chosen.push(c)
      total += c.satoshis
      if (total >= amount + fee(sizeWith(draft(), chosen.map(() => P2PKH_UNLOCK_MAX)))) break
    }
    const tx = draft()
    const need = amount + fee(sizeWith(tx, chosen.map(() => P2PKH_UNLOCK_MAX)))
    if (total < need) throw new ChannelError('INSUFFICIENT_FUNDS', `need ${need} satoshis (amount + fee), the wallet has ${total} spendable`)
    const change = total - need
    if (change > 0) tx.outputs[1]!.satoshis = change
    else tx.outputs.pop()
    chosen.forEach((c, i) => {
      const sig = signInput(tx, i, { satoshis: c.satoshis, lockingScript: this.script }, this.identity)
      tx.inputs[i]!.unlockingScript = p2pkhUnlock(sig, this.identity.publicKey)
    })
    const txid = tx.id('hex')
    transaction(this.db, () => {
      const reserve = this.db.prepare('UPDATE wallet_utxos SET reserved_by = ? WHERE txid = ? AND vout = ?')
      for (const c of chosen) reserve.run(txid, c.txid, c.vout)
    })
    return tx
  }

  /** Atomic BEEF of a transaction this wallet made, with the ancestors its ledger knows. */
  async beef (tx: Transaction): Promise<Uint8Array> {
    return await beefOf(tx, this.ledger)
  }

  /** Gives back the coins of a funding transaction that will not be broadcast. */
  release (fundingTxid: string): void {
    this.db.prepare('UPDATE wallet_utxos SET reserved_by = NULL WHERE reserved_by = ?').run(fundingTxid)
  }

  /** Dev: mints test coins to this wallet. Test/main with --wallet-url: the user's BRC-100 wallet pays it. */
  async faucet (amount: number): Promise<string> {
    if (this.ledger.mint === undefined) throw new ChannelError('LEDGER_REJECTED', `the ${this.ledger.kind} chain has no coin source: the faucet mints on the development chain; on test/main it asks the BRC-100 wallet given by --wallet-url`)
    const txid = await this.ledger.mint(this.script.toHex(), amount)
    await this.sync()
    return txid
  }
}
