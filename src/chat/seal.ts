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
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

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

// DER wrappers that let OpenSSL take raw keys: SPKI for a compressed point, SEC1 for a secret.
const SPKI_COMPRESSED_PREFIX = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex')
const SEC1_PREFIX = Buffer.from('302e0201010420', 'hex')
const SEC1_SUFFIX = Buffer.from('a00706052b8104000a', 'hex')
// Building key objects costs about as much as the ECDH itself; the recipient's secret and
// recently used public keys are built once (diffieHellman on key objects is also about twice
// as fast as ECDH.computeSecret, which decompresses and re-derives on every call).
const secretKeys = new WeakMap<Uint8Array, KeyObject>()
const publicKeys = new Map<string, KeyObject>()
const MAX_PUBLIC_KEYS = 1024

function publicKeyObject (point: Uint8Array, cache = true): KeyObject {
  const k = Buffer.from(point).toString('hex')
  let ko = cache ? publicKeys.get(k) : undefined
  if (ko === undefined) {
    try {
      ko = createPublicKey({ key: Buffer.concat([SPKI_COMPRESSED_PREFIX, point]), format: 'der', type: 'spki' })
    } catch {
      throw new SealError('not a compressed secp256k1 point')
    }
    if (!cache) return ko
    if (publicKeys.size >= MAX_PUBLIC_KEYS) publicKeys.delete(publicKeys.keys().next().value!)
    publicKeys.set(k, ko)
  }
  return ko
}

function secretKeyObject (secret: Uint8Array): KeyObject {
  let ko = secretKeys.get(secret)
  if (ko === undefined) {
    ko = createPrivateKey({ key: Buffer.concat([SEC1_PREFIX, secret, SEC1_SUFFIX]), format: 'der', type: 'sec1' })
    secretKeys.set(secret, ko)
  }
  return ko
}

/** The 33-byte compressed form of an EC public key object. */
function compressed (ko: KeyObject): Buffer {
  const jwk = ko.export({ format: 'jwk' })
  const x = Buffer.from(jwk.x!, 'base64url')
  const y = Buffer.from(jwk.y!, 'base64url')
  return Buffer.concat([Buffer.from([(y[y.length - 1]! & 1) === 0 ? 0x02 : 0x03]), x])
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
  const recipientKey = publicKeyObject(recipient)
  const pair = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  const ephemeral = compressed(pair.publicKey)
  const shared = diffieHellman({ privateKey: pair.privateKey, publicKey: recipientKey })
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
  let shared: Buffer
  try {
    shared = diffieHellman({ privateKey: secretKeyObject(recipientSecret), publicKey: publicKeyObject(ephemeral, false) }) // fresh per message: not worth caching
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
