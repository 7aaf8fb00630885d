/**
 * The path to a real BSV network: broadcasting through an ARC endpoint with @bsv/sdk's ARC
 * broadcaster. It only broadcasts — finding a wallet's coins on a real network needs an
 * indexer, which is not part of this node — so it implements the broadcast half of Ledger.
 */
import ARC from '@bsv/sdk/transaction/broadcasters/ARC'
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
    throw new LedgerRejectedError(REASONS[code.toUpperCase()] ?? httpReason(code), `ARC refused the transaction: ${code} ${r.description}`.trim())
  }
}

/**
 * ARC's 4xx answers (461 scripts, 465 fee, 466 conflict, 401 key...) say it did not take the
 * transaction: a refusal the caller may act on (give coins back). Anything else — a 5xx, or the
 * SDK's '500' for no answer at all — leaves open whether it did: 'network', kept and retried.
 */
function httpReason (code: string): RejectReason {
  if (!/^4\d\d$/.test(code)) return 'network'
  return code === '466' ? 'double-spend' : code === '461' ? 'script' : 'malformed'
}
