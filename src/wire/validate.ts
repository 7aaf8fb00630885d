/**
 * Validation of a received TMsg (DESIGN §5 step 1). Pure functions returning a reason code
 * rather than throwing: the flood hot path counts reasons, and exceptions are costly there.
 */
import {
  DEFAULT_MAX_PAYLOAD, MAX_SIGNATURE_LENGTH, MAX_TTL_PLUS_HOPS, MSG_ID_LENGTH, NONCE_MAX_LENGTH,
  NONCE_MIN_LENGTH, SENDER_LENGTH, TARGET_LENGTH, TIMESTAMP_WINDOW_MS
} from './constants.ts'
import { msgIdMatches } from './tmsg.ts'
import type { TMsg } from './tmsg.ts'

export type InvalidReason =
  | 'malformed'
  | 'msg-id-length'
  | 'target-length'
  | 'payload-too-large'
  | 'ttl-zero'
  | 'ttl-hops-over-limit'
  | 'kind-out-of-range'
  | 'reply-to-length'
  | 'timestamp-out-of-window'
  | 'nonce-length'
  | 'sender-invalid'
  | 'signature-invalid'
  | 'msg-id-mismatch'
  /** In a history answer: a target not asked for, outside the asked window, or repeated. */
  | 'history-unrequested'

export interface ValidationLimits {
  /** Largest accepted payload, inclusive. @default 16384 */
  maxPayload: number
  /** Accepted distance of `timestamp` from the local clock. @default 10 minutes */
  timestampWindowMs: number
}

export const DEFAULT_VALIDATION_LIMITS: ValidationLimits = {
  maxPayload: DEFAULT_MAX_PAYLOAD,
  timestampWindowMs: TIMESTAMP_WINDOW_MS
}

/**
 * Every check that needs no hashing: sizes, TTL/hops, kind, timestamp window. Cheap enough to
 * run on every copy, duplicates included.
 */
export function checkFields (m: TMsg, now: number, limits: ValidationLimits = DEFAULT_VALIDATION_LIMITS): InvalidReason | undefined {
  if (m.msgId.length !== MSG_ID_LENGTH) return 'msg-id-length'
  if (m.target.length !== TARGET_LENGTH) return 'target-length'
  if (m.payload.length > limits.maxPayload) return 'payload-too-large'
  if (m.ttl < 1) return 'ttl-zero'
  if (m.ttl + m.hops > MAX_TTL_PLUS_HOPS) return 'ttl-hops-over-limit'
  if (m.kind < 0 || m.kind > 255) return 'kind-out-of-range'
  if (m.replyTo.length !== 0 && m.replyTo.length !== MSG_ID_LENGTH) return 'reply-to-length'
  if (!(Math.abs(m.timestamp - now) <= limits.timestampWindowMs)) return 'timestamp-out-of-window'
  if (m.nonce.length < NONCE_MIN_LENGTH || m.nonce.length > NONCE_MAX_LENGTH) return 'nonce-length'
  if (m.sender.length !== 0 && (m.sender.length !== SENDER_LENGTH || (m.sender[0] !== 2 && m.sender[0] !== 3))) return 'sender-invalid'
  // A signature is meaningless without the key that made it; DER is at most 72 bytes.
  if (m.signature.length !== 0 && (m.sender.length === 0 || m.signature.length > MAX_SIGNATURE_LENGTH)) return 'signature-invalid'
  return undefined
}

/** `checkFields` plus the content-derived id: a message passing this may be forwarded. */
export function validate (m: TMsg, now: number, limits: ValidationLimits = DEFAULT_VALIDATION_LIMITS): InvalidReason | undefined {
  return checkFields(m, now, limits) ?? (msgIdMatches(m) ? undefined : 'msg-id-mismatch')
}
