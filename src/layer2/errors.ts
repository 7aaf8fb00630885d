/**
 * Channel and wallet errors. Each has a stable `code`; the RPC layer maps them to DESIGN §8's
 * codes (rpc/errors.ts). A refusal by the other side of the channel is always −32012 with the peer's own
 * code in `data.code`; a failure found here has a code of its own, so a user can tell
 * "the provider said no" from "my node could not".
 */
export type ChannelErrorCode =
  | 'INSUFFICIENT_FUNDS'
  | 'UNKNOWN_CHANNEL' | 'UNKNOWN_PROVIDER' | 'UNKNOWN_SERVICE'
  | 'BUDGET_EXHAUSTED' | 'EXPIRED'
  | 'BELOW_MIN_DEPOSIT' | 'BAD_FUNDING' | 'BAD_REFUND' | 'NOT_FUNDED' | 'NOT_OPEN'
  | 'BAD_VERSION' | 'BAD_LOCKTIME' | 'WRONG_OUTPOINT' | 'SEQUENCE_NOT_INCREASING' | 'BAD_SEQUENCE'
  | 'AMOUNT_NOT_INCREASING' | 'OVER_DEPOSIT' | 'WRONG_OUTPUTS' | 'TOO_CLOSE_TO_EXPIRY' | 'BAD_SIGNATURE'
  | 'NOT_PAID' | 'NO_SUCH_CHUNK' | 'NOTHING_TO_SETTLE' | 'LEDGER_REJECTED' | 'PEER_UNREACHABLE' | 'BAD_MESSAGE'
  /** The peer answered, but with something that does not check out. */
  | 'BAD_ANSWER'
  /** The provider says it settled, but the ledger has not seen that transaction spend the funding. */
  | 'SETTLEMENT_UNSEEN'
  /** The provider's refund window is longer than this node accepts (--max-window). */
  | 'WINDOW_TOO_LONG'
  /** A local argument that is not a positive whole number of satoshis. */
  | 'BAD_AMOUNT'

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
}
