/**
 * The one table of JSON-RPC error codes (DESIGN §6): the standard ones, then the
 * application's. Every error response carries `data.name`, the error class, so clients
 * match on names, not message text.
 */
import { TargetSyntaxError } from '../targets.ts'
import { PayloadTooLargeError } from '../wire/errors.ts'

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
  // Domain errors of other layers say how they map, without this table knowing them.
  const e = err as { rpcCode?: ErrorName, rpcData?: Record<string, unknown>, name?: string, message?: string }
  if (typeof e?.rpcCode === 'string' && e.rpcCode in ERROR_CODES) return new RpcError(e.rpcCode, e.message ?? e.rpcCode, { name: e.name ?? e.rpcCode, ...e.rpcData })
  return new RpcError('InternalError', 'internal error', { name: 'InternalError' })
}
