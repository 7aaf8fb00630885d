/**
 * Sealing a direct message for one identity key (DESIGN §9): ECIES over secp256k1 built only
 * from `node:crypto` primitives (OpenSSL ECDH, HKDF-SHA256, AES-256-GCM).
 *
 * Layout of a sealed payload (README "Direct messages on the wire"):
 *
 *   version(1) = 0x01 ‖ ephemeral public key (33, compressed) ‖ ciphertext (n) ‖ GCM tag (16)
 *
 *   shared = ECDH(ephemeral secret, recipient key)         — the 32-byte X coordinate
 *   okm    = HKDF-SHA256(ikm = shared, salt = ephemeral ‖ recipient (33 + 33 bytes),
 *                        info = "tmsg dm v1", length = 44)
 *   key    = okm[0..32], iv = okm[32..44]
 *   aad    = version ‖ ephemeral ‖ sender (33, the outer TMsg's `sender`)
 *
 * The ephemeral key is fresh per message, so (key, iv) never repeat. The sender's key is in
 * the AAD: a sealed payload lifted into another signed TMsg does not open, so whoever signed
 * the outer message is whoever sealed the inner one.
 */
import { createCipheriv, createDecipheriv, createECDH, hkdfSync } from 'node:crypto'

export const SEAL_VERSION = 0x01
const KEY_LENGTH = 33
const TAG_LENGTH = 16
const INFO = Buffer.from('tmsg dm v1', 'ascii')
/** Bytes a sealed payload adds to its plaintext. */
export const SEAL_OVERHEAD = 1 + KEY_LENGTH + TAG_LENGTH

/** A sealed payload that is malformed, not for this key, or altered: never shown. */
export class SealError extends Error {
  static name = 'SealError'
  override name = 'SealError'
}

function keys (shared: Uint8Array, ephemeral: Uint8Array, recipient: Uint8Array): { key: Buffer, iv: Buffer } {
  const okm = Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), INFO, 44))
  return { key: okm.subarray(0, 32), iv: okm.subarray(32, 44) }
}

function aad (ephemeral: Uint8Array, sender: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([SEAL_VERSION]), ephemeral, sender])
}

/**
 * Seals `plaintext` so that only the holder of `recipient`'s secret can open it, bound to
 * `sender` (the 33-byte key that will sign the outer TMsg).
 */
export function seal (plaintext: Uint8Array, recipient: Uint8Array, sender: Uint8Array): Uint8Array {
  if (recipient.length !== KEY_LENGTH || sender.length !== KEY_LENGTH) throw new SealError('keys are 33-byte compressed secp256k1 points')
  const ecdh = createECDH('secp256k1')
  ecdh.generateKeys()
  const ephemeral = ecdh.getPublicKey(null, 'compressed')
  let shared: Buffer
  try {
    shared = ecdh.computeSecret(recipient)
  } catch {
    throw new SealError('the recipient key is not a secp256k1 point')
  }
  const { key, iv } = keys(shared, ephemeral, recipient)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(aad(ephemeral, sender))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([Buffer.from([SEAL_VERSION]), ephemeral, body, cipher.getAuthTag()])
}

/** Opens a sealed payload with the recipient's 32-byte secret; throws SealError on any failure. */
export function open (sealed: Uint8Array, recipientSecret: Uint8Array, recipient: Uint8Array, sender: Uint8Array): Uint8Array {
  if (sealed.length < SEAL_OVERHEAD) throw new SealError(`a sealed payload has at least ${SEAL_OVERHEAD} bytes, got ${sealed.length}`)
  if (sealed[0] !== SEAL_VERSION) throw new SealError(`unknown sealed payload version ${sealed[0]!}`)
  if (sender.length !== KEY_LENGTH) throw new SealError('the outer message is not signed by a 33-byte key')
  const ephemeral = sealed.subarray(1, 1 + KEY_LENGTH)
  const body = sealed.subarray(1 + KEY_LENGTH, sealed.length - TAG_LENGTH)
  const tag = sealed.subarray(sealed.length - TAG_LENGTH)
  const ecdh = createECDH('secp256k1')
  let shared: Buffer
  try {
    ecdh.setPrivateKey(recipientSecret)
    shared = ecdh.computeSecret(ephemeral)
  } catch {
    throw new SealError('the ephemeral key is not a secp256k1 point')
  }
  const { key, iv } = keys(shared, ephemeral, recipient)
  const decipher = createDecipheriv('aes-256-gcm', key, iv)
  decipher.setAAD(aad(ephemeral, sender))
  decipher.setAuthTag(tag)
  try {
    return Buffer.concat([decipher.update(body), decipher.final()])
  } catch {
    throw new SealError('the sealed payload does not open with this key (not for us, or altered)')
  }
}
