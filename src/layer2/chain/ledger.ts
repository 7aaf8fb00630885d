/**
 * Chain access behind one interface (DESIGN §8, §8a): this node's view of the chain — the
 * transactions it knows with their proofs, the outputs they made, which are spent — plus the
 * chain tracker it judges merkle roots with and the way out to the network.
 *
 * `dev` (dev-ledger.ts): the view is the whole chain; `wallet_faucet` mints on it.
 * `test`/`main` (remote-chain.ts): the same view, fed by BEEF, broadcasting through ARC and
 * checking roots against block headers.
 */
import type { ChainTracker, MerklePath, Transaction } from '@bsv/sdk'
import type { TxHistory, VerifiedBeef } from './beef.ts'

export type ChainKind = 'dev' | 'test' | 'main'

export interface LedgerOutput {
  txid: string
  vout: number
  satoshis: number
  /** Locking script, hex. */
  script: string
  /** The transaction that spent it, if any. */
  spentBy?: string
}

export interface Ledger extends TxHistory {
  readonly kind: ChainKind
  /** Judges merkle roots in BEEF from peers (dev: trusts dev-chain roots, the named shortcut). */
  readonly tracker: ChainTracker
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
  /**
   * Takes a peer's verified BEEF into this view, parents first: mined transactions as proven
   * coins, unmined ones through the same checks as a broadcast (double spends against what
   * this node already knows). Idempotent. Throws LedgerRejectedError on a conflict.
   */
  learn: (beef: VerifiedBeef) => Promise<void>
  /** Raw transaction and merkle path (once mined) of a known transaction. */
  known: (txid: string) => Promise<{ raw: Uint8Array, proof?: MerklePath } | undefined>
  /** Dev: creates coins out of thin air for `scriptHex`; test/main with --wallet-url: the user's wallet pays it. */
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
