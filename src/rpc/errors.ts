/**
 * The one table of JSON-RPC error codes (DESIGN §6): the standard ones, then the
 * application's, and the one place where the domain errors of the layers below become
 * those codes — by class, never by message text. Every error response carries `data.name`,
 * the error class, so clients match on names, not message text.
 */
import { TargetSyntaxError } from '../targets.ts'
import { PayloadTooLargeError } from '../wire/errors.ts'
import { BackpressureError, BadAddressError } from '../node/node.ts'
import { AmbiguousNickError, UnknownKeyError, UnknownNickError } from '../chat/nicks.ts'
import { ChannelError } from '../layer2/errors.ts'
import type { ChannelErrorCode } from '../layer2/errors.ts'
import { LedgerRejectedError } from '../layer2/chain/ledger.ts'

export const ERROR_CODES = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  Unauthorized: -32001,
  NotFound: -32002,
  Timeout: -32003,
  PayloadTooLarge: -32004,
  RateLimited: -32005,
  InsufficientFunds: -32010,
  UnknownChannel: -32011,
  RejectedByPeer: -32012,
  BudgetExhausted: -32013,
  ChannelExpired: -32014,
  /** The channel is not in a state for this (not open yet, closing, closed, nothing paid). */
  ChannelNotOpen: -32015,
  /** The ledger / chain refused a transaction this node broadcast. */
  LedgerRejected: -32016,
  /** The peer answered with something that does not check out (signature, settlement, chunk). */
  BadPeerAnswer: -32017,
  /** The peer's terms are beyond what this node accepts (e.g. a refund window over --max-window). */
  TermsRefused: -32018
} as const

export type ErrorName = keyof typeof ERROR_CODES

const NAME_BY_CODE = new Map<number, ErrorName>(Object.entries(ERROR_CODES).map(([k, v]) => [v, k as ErrorName]))

export function errorNameOf (code: number): ErrorName | undefined {
  return NAME_BY_CODE.get(code)
}

/**
 * Where each code lands when it is raised HERE. Codes only a provider raises about a
 * payment it received map to −32012 too: locally they can only mean a peer's refusal.
 */
const LOCAL_RPC_CODE: Record<ChannelErrorCode, ErrorName> = {
  INSUFFICIENT_FUNDS: 'InsufficientFunds',
  UNKNOWN_CHANNEL: 'UnknownChannel',
  UNKNOWN_PROVIDER: 'UnknownChannel',
  UNKNOWN_SERVICE: 'UnknownChannel',
  BUDGET_EXHAUSTED: 'BudgetExhausted',
  EXPIRED: 'ChannelExpired',
  TOO_CLOSE_TO_EXPIRY: 'ChannelExpired',
  NOT_OPEN: 'ChannelNotOpen',
  NOTHING_TO_SETTLE: 'ChannelNotOpen',
  LEDGER_REJECTED: 'LedgerRejected',
  BAD_REFUND: 'BadPeerAnswer',
  BAD_ANSWER: 'BadPeerAnswer',
  NOT_FUNDED: 'BadPeerAnswer',
  SETTLEMENT_UNSEEN: 'BadPeerAnswer',
  BAD_MESSAGE: 'BadPeerAnswer',
  WINDOW_TOO_LONG: 'TermsRefused',
  BAD_AMOUNT: 'InvalidParams',
  BELOW_MIN_DEPOSIT: 'InvalidParams',
  PEER_UNREACHABLE: 'Timeout',
  BAD_FUNDING: 'RejectedByPeer',
  BAD_VERSION: 'RejectedByPeer',
  BAD_LOCKTIME: 'RejectedByPeer',
  WRONG_OUTPOINT: 'RejectedByPeer',
  SEQUENCE_NOT_INCREASING: 'RejectedByPeer',
  BAD_SEQUENCE: 'RejectedByPeer',
  AMOUNT_NOT_INCREASING: 'RejectedByPeer',
  OVER_DEPOSIT: 'RejectedByPeer',
  WRONG_OUTPUTS: 'RejectedByPeer',
  BAD_SIGNATURE: 'RejectedByPeer',
  NOT_PAID: 'RejectedByPeer',
  NO_SUCH_CHUNK: 'RejectedByPeer'
}

/** An error to return to the RPC client as it is. */
export class RpcError extends Error {
  static name = 'RpcError'
  override name = 'RpcError'
  readonly code: number
  readonly data: { name: string, [k: string]: unknown }

  constructor (kind: ErrorName, message: string, data: Record<string, unknown> = {}) {
    super(message)
    this.code = ERROR_CODES[kind]
    this.data = { name: kind, ...data }
  }
}

/**
 * Maps anything a handler threw to an RpcError. Known domain errors get their code; the
 * class name travels in `data.name`. Anything else is an internal error whose details stay
 * in the log, not on the wire.
 */
export function toRpcError (err: unknown): RpcError {
  if (err instanceof RpcError) return err
  if (err instanceof TargetSyntaxError) return new RpcError('InvalidParams', err.message, { name: err.name })
  if (err instanceof PayloadTooLargeError) return new RpcError('PayloadTooLarge', err.message, { name: err.name, size: err.size, max: err.max })
  if (err instanceof BackpressureError) return new RpcError('RateLimited', err.message, { name: err.name })
  if (err instanceof BadAddressError) return new RpcError('InvalidParams', err.message, { name: err.name })
  if (err instanceof UnknownNickError) return new RpcError('NotFound', err.message, { name: err.name, nick: err.nick })
  if (err instanceof AmbiguousNickError) return new RpcError('InvalidParams', err.message, { name: err.name, nick: err.nick, accounts: err.accounts })
  if (err instanceof UnknownKeyError) return new RpcError('NotFound', err.message, { name: err.name, account: err.account })
  // A refusal by the other side of a channel is −32012 whatever its code; a local failure has its own.
  if (err instanceof ChannelError) return new RpcError(err.fromPeer ? 'RejectedByPeer' : LOCAL_RPC_CODE[err.code], err.message, { name: err.name, code: err.code })
  if (err instanceof LedgerRejectedError) return new RpcError('LedgerRejected', err.message, { name: err.name, reason: err.reason })
  return new RpcError('InternalError', 'internal error', { name: 'InternalError' })
}
