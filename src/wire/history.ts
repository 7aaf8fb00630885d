/**
 * The `/tmsg/history/1.0.0` request (DESIGN §10), through the reflected `HistoryRequest` type
 * of proto/tmsg.proto. Decoding checks counts and sizes before anything is looked up: a
 * request cannot make the answering node read more than HISTORY_MAX_TARGETS targets.
 */
import { schema } from './proto.ts'
import { TARGET_LENGTH } from './constants.ts'

export const HistoryRequestType = schema.lookupType('tmsg.v1.HistoryRequest')

/** Messages one answer may carry (DESIGN §10). */
export const HISTORY_MAX_LIMIT = 1000
/** Targets one request may name: a node's rooms, its account and its nicks fit many times. */
export const HISTORY_MAX_TARGETS = 64
/** Largest encoded request: 64 targets of 18 bytes and two varints. */
export const HISTORY_MAX_REQUEST_BYTES = 2048

export interface HistoryRequest {
  /** 16-byte target ids. */
  targets: Uint8Array[]
  /** Messages with a timestamp at or after this (ms since the Unix epoch). */
  since: number
  /** Messages wanted, 1..HISTORY_MAX_LIMIT. */
  limit: number
}

/** A request that breaks the protocol's limits or is not a HistoryRequest at all. */
export class HistoryRequestError extends Error {
  static name = 'HistoryRequestError'
  override name = 'HistoryRequestError'
}

function check (r: HistoryRequest): HistoryRequest {
  if (r.targets.length === 0 || r.targets.length > HISTORY_MAX_TARGETS) throw new HistoryRequestError(`a request names 1-${HISTORY_MAX_TARGETS} targets, not ${r.targets.length}`)
  for (const t of r.targets) if (t.length !== TARGET_LENGTH) throw new HistoryRequestError(`a target is ${TARGET_LENGTH} bytes, not ${t.length}`)
  if (!Number.isSafeInteger(r.since) || r.since < 0) throw new HistoryRequestError('since must be a timestamp in ms')
  if (!Number.isInteger(r.limit) || r.limit < 1 || r.limit > HISTORY_MAX_LIMIT) throw new HistoryRequestError(`limit must be 1-${HISTORY_MAX_LIMIT}`)
  return r
}

export function encodeHistoryRequest (r: HistoryRequest): Uint8Array {
  check(r)
  return HistoryRequestType.encode(HistoryRequestType.fromObject(r)).finish()
}

export function decodeHistoryRequest (bytes: Uint8Array): HistoryRequest {
  if (bytes.length > HISTORY_MAX_REQUEST_BYTES) throw new HistoryRequestError(`request of ${bytes.length} bytes exceeds ${HISTORY_MAX_REQUEST_BYTES}`)
  let o: { targets: Uint8Array[], since: number, limit: number }
  try {
    o = HistoryRequestType.toObject(HistoryRequestType.decode(bytes), { defaults: true, longs: Number }) as typeof o
  } catch (err: unknown) {
    throw new HistoryRequestError(`malformed history request: ${(err as Error).message}`)
  }
  return check({ targets: o.targets, since: o.since, limit: o.limit })
}
