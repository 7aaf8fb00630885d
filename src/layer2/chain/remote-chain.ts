/**
 * `--chain test|main` (DESIGN §8a): this node's own view of the chain (the same SQLite store
 * as the dev ledger, fed by BEEF from peers, from the user's BRC-100 wallet (`--wallet-url`,
 * wallet-source.ts) and by what it broadcasts, never minted), with
 * transactions going out through ARC and merkle roots judged by block headers — a Block
 * Headers Service at `--headers-url`, else WhatsOnChain — all as @bsv/sdk speaks them.
 *
 * Every answer from the network is judged: a timeout, a 4xx/5xx, an unreachable host or a
 * malformed body is a LedgerRejectedError('network') saying which service failed, and the
 * view is changed only after ARC accepted, so nothing signed is lost or half-applied.
 */
import { BlockHeadersService } from '@bsv/sdk/transaction/chaintrackers/BlockHeadersService'
import WhatsOnChain from '@bsv/sdk/transaction/chaintrackers/WhatsOnChain'
import type { ChainTracker, HttpClient, HttpClientRequestOptions, HttpClientResponse, MerklePath, Transaction } from '@bsv/sdk'
import { ArcBroadcaster } from './arc.ts'
import { DevLedger } from './dev-ledger.ts'
import { LedgerRejectedError } from './ledger.ts'
import type { Ledger, LedgerOutput } from './ledger.ts'
import { BeefError, verifyBeef } from './beef.ts'
import type { VerifiedBeef } from './beef.ts'
import { WalletSource } from './wallet-source.ts'

/** How long any one request to ARC or a headers service may take. @default 10 s */
export const CHAIN_TIMEOUT_MS = 10_000

export interface RemoteChainInit {
  kind: 'test' | 'main'
  /** This node's view: `<datadir>/chain-<kind>.db`. */
  path: string
  arcUrl: string
  arcKey?: string
  /** A Block Headers Service; without it, WhatsOnChain for `kind`. */
  headersUrl?: string
  timeoutMs?: number
  /** The user's BRC-100 wallet (`--wallet-url`): where this node's coins come from. */
  walletUrl?: string
  /** Tests: where requests really go (a local fake server). */
  httpClient?: HttpClient
  now?: () => number
}

/** @bsv/sdk's HttpClient over fetch, with a timeout and a JSON body that must parse. */
export function fetchHttpClient (timeoutMs = CHAIN_TIMEOUT_MS): HttpClient {
  return {
    request: async <T = unknown, D = unknown>(url: string, options: HttpClientRequestOptions<D>): Promise<HttpClientResponse<T>> => {
      const res = await fetch(url, {
        method: options.method ?? 'GET',
        headers: { ...(options.data !== undefined ? { 'Content-Type': 'application/json' } : {}), ...options.headers },
        ...(options.data !== undefined ? { body: JSON.stringify(options.data) } : {}),
        signal: AbortSignal.timeout(timeoutMs)
      })
      const text = await res.text()
      let data: unknown
      try {
        data = text === '' ? undefined : JSON.parse(text)
      } catch {
        if (res.ok) throw new Error(`${url} answered ${res.status} with a body that is not JSON`)
        data = text
      }
      return { data: data as T, status: res.status, statusText: res.statusText, ok: res.ok }
    }
  }
}

/** A tracker whose failures say which service failed, as ledger errors the RPC maps. */
function guarded (name: string, inner: ChainTracker): ChainTracker {
  const wrap = async <T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
    let v: T
    try {
      v = await fn()
    } catch (err: unknown) {
      throw new LedgerRejectedError('network', `${name} could not ${what}: ${(err as Error).message}`)
    }
    if (!ok(v)) throw new LedgerRejectedError('network', `${name} gave a malformed answer to ${what}`)
    return v
  }
  return {
    isValidRootForHeight: async (root, height) => await wrap(`check the root of block ${height}`, async () => await inner.isValidRootForHeight(root, height), v => typeof v === 'boolean'),
    currentHeight: async () => await wrap('say the chain height', async () => await inner.currentHeight(), v => Number.isSafeInteger(v) && v >= 0)
  }
}

export class RemoteChain implements Ledger {
  readonly kind: 'test' | 'main'
  readonly tracker: ChainTracker
  readonly now: () => number
  private readonly view: DevLedger
  private readonly arc: ArcBroadcaster
  /** With `--wallet-url`: the user's wallet pays this node (wallet_faucet on test/main). */
  readonly mint?: (scriptHex: string, satoshis: number) => Promise<string>

  constructor (init: RemoteChainInit) {
    this.kind = init.kind
    const http = init.httpClient ?? fetchHttpClient(init.timeoutMs)
    this.tracker = init.headersUrl !== undefined
      ? guarded(`the headers service at ${init.headersUrl}`, new BlockHeadersService(init.headersUrl, { httpClient: http }))
      : guarded('WhatsOnChain', new WhatsOnChain(init.kind, { httpClient: http }))
    this.view = new DevLedger(init.path, { kind: init.kind, tracker: this.tracker, ...(init.now !== undefined ? { now: init.now } : {}) })
    this.now = this.view.now
    this.arc = new ArcBroadcaster({ url: init.arcUrl, httpClient: http, ...(init.arcKey !== undefined ? { apiKey: init.arcKey } : {}) })
    if (init.walletUrl !== undefined) {
      const source = new WalletSource({ url: init.walletUrl, timeoutMs: init.timeoutMs ?? CHAIN_TIMEOUT_MS })
      this.mint = async (scriptHex, satoshis) => await this.fundFrom(source, scriptHex, satoshis)
    }
  }

  /** The wallet's payment, checked like any peer's (BEEF against our tracker) before it is learned. */
  private async fundFrom (source: WalletSource, scriptHex: string, satoshis: number): Promise<string> {
    const { txid, beef } = await source.pay(scriptHex, satoshis)
    let verified: VerifiedBeef
    try {
      verified = await verifyBeef(beef, { tracker: this.tracker, now: this.now }, txid)
    } catch (err: unknown) {
      if (err instanceof BeefError) throw new LedgerRejectedError('malformed', `the wallet at ${source.url} paid with a BEEF that does not check out: ${err.message}`)
      throw err
    }
    const paid = verified.tx.outputs.reduce((sum, o) => sum + (o.lockingScript.toHex() === scriptHex ? o.satoshis ?? 0 : 0), 0)
    if (paid < satoshis) throw new LedgerRejectedError('value', `the wallet at ${source.url} paid ${paid} of the ${satoshis} satoshis asked in ${txid}`)
    await this.view.learn(verified)
    return txid
  }

  async unspent (scriptHex: string): Promise<LedgerOutput[]> { return await this.view.unspent(scriptHex) }
  async output (txid: string, vout: number): Promise<LedgerOutput | undefined> { return await this.view.output(txid, vout) }
  async known (txid: string): Promise<{ raw: Uint8Array, proof?: MerklePath } | undefined> { return await this.view.known(txid) }

  /**
   * A peer's unmined transactions count only once the network has them: each goes to ARC
   * (parents first; one ARC already has is answered as seen) before this view takes any of
   * them. A payer that never broadcast, or spent the same coins elsewhere, is refused here
   * instead of showing as money received.
   */
  async learn (beef: VerifiedBeef): Promise<void> {
    for (const tx of beef.txs) {
      if (tx.merklePath === undefined && await this.view.known(tx.id('hex')) === undefined) await this.toNetwork(tx)
    }
    await this.view.learn(beef)
  }

  /** Checked here first, then ARC; only what ARC took changes this view. */
  async broadcast (tx: Transaction): Promise<string> {
    await this.view.check(tx)
    await this.toNetwork(tx)
    return await this.view.broadcast(tx)
  }

  private async toNetwork (tx: Transaction): Promise<void> {
    let txid: string
    try {
      txid = await this.arc.broadcast(tx)
    } catch (err: unknown) {
      if (err instanceof LedgerRejectedError) throw err
      throw new LedgerRejectedError('network', `ARC could not be reached: ${(err as Error).message}`)
    }
    if (txid !== tx.id('hex')) throw new LedgerRejectedError('network', `ARC answered for ${String(txid)}, not ${tx.id('hex')}`)
  }

  close (): void {
    this.view.close()
  }
}
