/**
 * Chain access behind one interface (DESIGN §8). The embedded default is the development
 * ledger (dev-ledger.ts); an ARC broadcaster (arc.ts) is the path to a real network.
 */
import type { Transaction } from '@bsv/sdk'

export interface LedgerOutput {
  txid: string
  vout: number
  satoshis: number
  /** Locking script, hex. */
  script: string
  /** The transaction that spent it, if any. */
  spentBy?: string
}

export interface Ledger {
  readonly kind: 'dev' | 'arc'
  /** Unix seconds by the ledger's clock: what lock-time rules are judged against. */
  now: () => number
  /** Unspent outputs locked by `scriptHex` (the wallet's P2PKH script). */
  unspent: (scriptHex: string) => Promise<LedgerOutput[]>
  /** One output, spent or not; undefined when the ledger never saw it. */
  output: (txid: string, vout: number) => Promise<LedgerOutput | undefined>
  /**
   * Accepts a transaction or throws LedgerRejectedError saying why. Accepting the same
   * transaction again is not an error (broadcasts are retried after crashes).
   */
  broadcast: (tx: Transaction) => Promise<string>
  /** Development ledger only: creates coins out of thin air for `scriptHex`. */
  mint?: (scriptHex: string, satoshis: number) => Promise<string>
  close: () => void
}

export type RejectReason = 'malformed' | 'missing-input' | 'double-spend' | 'non-final' | 'script' | 'value' | 'network'

export class LedgerRejectedError extends Error {
  static name = 'LedgerRejectedError'
  override name = 'LedgerRejectedError'
  readonly reason: RejectReason
  constructor (reason: RejectReason, message: string) {
    super(message)
    this.reason = reason
  }
}
