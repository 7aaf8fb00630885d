/**
 * PIP-0038's original byte record: `MsgId(16) ‖ Target(16) ‖ PayloadLen(1) ‖ Payload(≤255)`.
 * Kept as a second codec so the network can be bridged to the proposal's literal format.
 */
import { Pip38RecordError } from './errors.ts'
import { MSG_ID_LENGTH, PIP38_MAX_PAYLOAD, TARGET_LENGTH } from './constants.ts'

export interface Pip38Record {
  msgId: Uint8Array
  target: Uint8Array
  payload: Uint8Array
}

const HEADER = MSG_ID_LENGTH + TARGET_LENGTH + 1

export function encodePip38 (rec: Pip38Record): Uint8Array {
  if (rec.msgId.length !== MSG_ID_LENGTH) throw new Pip38RecordError(`MsgId must be ${MSG_ID_LENGTH} bytes, got ${rec.msgId.length}`)
  if (rec.target.length !== TARGET_LENGTH) throw new Pip38RecordError(`Target must be ${TARGET_LENGTH} bytes, got ${rec.target.length}`)
  if (rec.payload.length > PIP38_MAX_PAYLOAD) {
    throw new Pip38RecordError(`payload of ${rec.payload.length} bytes does not fit PIP-0038's one-byte PayloadLen (max ${PIP38_MAX_PAYLOAD})`)
  }
  const out = new Uint8Array(HEADER + rec.payload.length)
  out.set(rec.msgId, 0)
  out.set(rec.target, MSG_ID_LENGTH)
  out[HEADER - 1] = rec.payload.length
  out.set(rec.payload, HEADER)
  return out
}

/** Decodes exactly one record; trailing or missing bytes are an error. */
export function decodePip38 (buf: Uint8Array): Pip38Record {
  if (buf.length < HEADER) throw new Pip38RecordError(`record of ${buf.length} bytes is shorter than the ${HEADER}-byte header`)
  const len = buf[HEADER - 1]!
  if (buf.length !== HEADER + len) throw new Pip38RecordError(`PayloadLen says ${len} bytes but ${buf.length - HEADER} follow`)
  return {
    msgId: buf.slice(0, MSG_ID_LENGTH),
    target: buf.slice(MSG_ID_LENGTH, MSG_ID_LENGTH + TARGET_LENGTH),
    payload: buf.slice(HEADER)
  }
}
