/**
 * The path to a real BSV network: broadcasting through an ARC endpoint with @bsv/sdk's ARC
 * broadcaster. It only broadcasts — finding a wallet's coins on a real network needs an
 * indexer, which is not part of this node — so it implements the broadcast half of Ledger.
 */
import { ARC } from '@bsv/sdk'
import type { HttpClient, Transaction } from '@bsv/sdk'
import { LedgerRejectedError } from './ledger.ts'
import type { RejectReason } from './ledger.ts'

export interface ArcInit {
  url: string
  apiKey?: string
  /** Injected for tests; @bsv/sdk's default uses fetch. */
  httpClient?: HttpClient
}

const REASONS: Record<string, RejectReason> = {
  DOUBLE_SPEND_ATTEMPTED: 'double-spend',
  REJECTED: 'script',
  INVALID: 'malformed',
  MALFORMED: 'malformed'
}

export class ArcBroadcaster {
  private readonly arc: ARC

  constructor (init: ArcInit) {
    this.arc = new ARC(init.url, { ...(init.apiKey !== undefined ? { apiKey: init.apiKey } : {}), ...(init.httpClient !== undefined ? { httpClient: init.httpClient } : {}) })
  }

  /** Broadcasts; resolves to the txid ARC accepted, or throws LedgerRejectedError with its reason. */
  async broadcast (tx: Transaction): Promise<string> {
    const r = await this.arc.broadcast(tx)
    if (r.status === 'success') return r.txid
    const code = String(r.code)
    throw new LedgerRejectedError(REASONS[code.toUpperCase()] ?? 'network', `ARC refused the transaction: ${code} ${r.description}`.trim())
  }
}
