/**
 * Channel and wallet errors. Each has a stable `code`; the RPC maps them to DESIGN §8's
 * codes (−32010…−32014), with the peer's own code in `data.code` when the peer refused.
 */
import type { ErrorName } from '../rpc/errors.ts'

export type ChannelErrorCode =
  | 'INSUFFICIENT_FUNDS'
  | 'UNKNOWN_CHANNEL' | 'UNKNOWN_PROVIDER' | 'UNKNOWN_SERVICE'
  | 'BUDGET_EXHAUSTED' | 'EXPIRED'
  | 'BELOW_MIN_DEPOSIT' | 'BAD_FUNDING' | 'BAD_REFUND' | 'NOT_FUNDED' | 'NOT_OPEN'
  | 'BAD_VERSION' | 'BAD_LOCKTIME' | 'WRONG_OUTPOINT' | 'SEQUENCE_NOT_INCREASING' | 'BAD_SEQUENCE'
  | 'AMOUNT_NOT_INCREASING' | 'OVER_DEPOSIT' | 'WRONG_OUTPUTS' | 'TOO_CLOSE_TO_EXPIRY' | 'BAD_SIGNATURE'
  | 'NOT_PAID' | 'NO_SUCH_CHUNK' | 'NOTHING_TO_SETTLE' | 'LEDGER_REJECTED' | 'PEER_UNREACHABLE' | 'BAD_MESSAGE'

const RPC_CODE: Partial<Record<ChannelErrorCode, ErrorName>> = {
  INSUFFICIENT_FUNDS: 'InsufficientFunds',
  UNKNOWN_CHANNEL: 'UnknownChannel',
  UNKNOWN_PROVIDER: 'UnknownChannel',
  UNKNOWN_SERVICE: 'UnknownChannel',
  BUDGET_EXHAUSTED: 'BudgetExhausted',
  EXPIRED: 'ChannelExpired'
}

export class ChannelError extends Error {
  static name = 'ChannelError'
  override name = 'ChannelError'
  readonly code: ChannelErrorCode
  /** Set when the other side of the channel refused: its code is `code`. */
  readonly fromPeer: boolean

  constructor (code: ChannelErrorCode, message: string, fromPeer = false) {
    super(message)
    this.code = code
    this.fromPeer = fromPeer
  }

  /** For the RPC layer (see rpc/errors.ts toRpcError). */
  get rpcCode (): ErrorName {
    if (this.fromPeer) return 'RejectedByPeer'
    return RPC_CODE[this.code] ?? (this.code === 'PEER_UNREACHABLE' ? 'Timeout' : 'RejectedByPeer')
  }

  get rpcData (): Record<string, unknown> {
    return { code: this.code }
  }
}
