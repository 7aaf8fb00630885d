/** Building this node's own messages: fresh nonce, content-derived id, signature. */
import { randomBytes } from 'node:crypto'
import { DEFAULT_NONCE_LENGTH, DEFAULT_TTL } from './constants.ts'
import { EMPTY, computeMsgId, idBytes } from './tmsg.ts'
import type { TMsg } from './tmsg.ts'

/** Anything that can sign: the node's Identity, or a test key. */
export interface Signer {
  /** 33-byte compressed secp256k1 public key. */
  readonly publicKey: Uint8Array
  /** DER ECDSA over SHA-256(data). */
  sign: (data: Uint8Array) => Uint8Array
}

export interface BuildOptions {
  target: Uint8Array
  payload?: Uint8Array
  kind: number
  ttl?: number
  replyTo?: Uint8Array
  timestamp?: number
  nonce?: Uint8Array
  /** Omit to build an unsigned message (no sender, no signature). */
  signer?: Signer
}

export function buildTMsg (o: BuildOptions): TMsg {
  const m: TMsg = {
    msgId: EMPTY,
    target: o.target,
    payload: o.payload ?? EMPTY,
    ttl: o.ttl ?? DEFAULT_TTL,
    hops: 0,
    kind: o.kind,
    replyTo: o.replyTo ?? EMPTY,
    timestamp: o.timestamp ?? Date.now(),
    nonce: o.nonce ?? randomBytes(DEFAULT_NONCE_LENGTH),
    sender: o.signer?.publicKey ?? EMPTY,
    signature: EMPTY
  }
  if (o.signer !== undefined) m.signature = o.signer.sign(idBytes(m))
  m.msgId = computeMsgId(m)
  return m
}
