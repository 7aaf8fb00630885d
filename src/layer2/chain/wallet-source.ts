/**
 * Where a test/main node's coins come from (DESIGN §8a): the user's BRC-100 wallet at
 * `--wallet-url`, spoken to through @bsv/sdk's `WalletClient` over its HTTP JSON substrate.
 * The node asks the wallet to pay its P2PKH address (`createAction`); the wallet builds,
 * signs and broadcasts that payment and answers with it as atomic BEEF, which the node checks
 * against its own chain tracker and learns — the same way it takes a peer's payment. The
 * node's key never leaves the node, and the wallet's keys never reach it.
 */
import type { WalletClient } from '@bsv/sdk/wallet'
import { LedgerRejectedError } from './ledger.ts'

/** Who this node says it is to the wallet (BRC-100 originator). */
export const ORIGINATOR = 'tmsg.local'

export interface WalletSourceInit {
  url: string
  timeoutMs: number
  /** Tests: where requests really go. @default fetch */
  fetch?: typeof fetch
}

export class WalletSource {
  readonly url: string
  /** fetch with the timeout applied to every request to the wallet. */
  private readonly timedFetch: typeof fetch
  private client: WalletClient | undefined

  constructor (init: WalletSourceInit) {
    this.url = init.url
    const base = init.fetch ?? fetch
    this.timedFetch = async (input, options) => await base(input, { ...options, signal: AbortSignal.timeout(init.timeoutMs) })
  }

  /**
   * @bsv/sdk's wallet code (with its auth, storage and substrates) is loaded only by a node
   * that has a wallet to fund from. With the SDK's other parts imported by subpath elsewhere,
   * no node loads its `mod.js`, which imports all of it: a relay starts with ≈ 3 MB less heap.
   */
  private async walletClient (): Promise<WalletClient> {
    if (this.client === undefined) {
      const { HTTPWalletJSON, WalletClient } = await import('@bsv/sdk/wallet')
      // Two payments at once may both wait for the import: the first client made is kept.
      this.client ??= new WalletClient(new HTTPWalletJSON(ORIGINATOR, this.url.replace(/\/+$/, ''), this.timedFetch), ORIGINATOR)
    }
    return this.client
  }

  /**
   * Asks the wallet to pay `satoshis` to `scriptHex`; resolves to the payment's txid and atomic
   * BEEF, unchecked (the caller verifies it). Every failure — refused, unreachable, timed out,
   * a malformed answer — is a LedgerRejectedError('network') naming the wallet.
   */
  async pay (scriptHex: string, satoshis: number): Promise<{ txid: string, beef: Uint8Array }> {
    let r: { txid?: string, tx?: ArrayLike<number> }
    try {
      const client = await this.walletClient()
      r = await client.createAction({
        description: 'Fund a tmsg node',
        outputs: [{ lockingScript: scriptHex, satoshis, outputDescription: 'tmsg node wallet' }],
        options: { randomizeOutputs: false, acceptDelayedBroadcast: false }
      })
    } catch (err: unknown) {
      throw new LedgerRejectedError('network', `the wallet at ${this.url} could not pay ${satoshis} satoshis: ${(err as Error).message}`)
    }
    // Over HTTP the BEEF is a JSON array of bytes: every one must be a byte.
    const tx = r?.tx === undefined || r.tx === null ? [] : Array.from(r.tx as ArrayLike<unknown>)
    if (typeof r?.txid !== 'string' || !/^[0-9a-f]{64}$/.test(r.txid) || tx.length === 0 || !tx.every(b => Number.isInteger(b) && (b as number) >= 0 && (b as number) < 256)) {
      throw new LedgerRejectedError('network', `the wallet at ${this.url} gave a malformed answer to createAction (no txid and BEEF)`)
    }
    return { txid: r.txid, beef: Uint8Array.from(tx as number[]) }
  }
}
