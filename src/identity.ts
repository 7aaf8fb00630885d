/**
 * The node's one secp256k1 key (DESIGN §1): libp2p PeerId key, BSV identity key and the key
 * that signs every TMsg this node originates.
 *
 * Signing and verifying use `node:crypto` (OpenSSL): about 5x faster than @bsv/sdk's pure-JS
 * ECDSA, and byte-compatible with it (same DER, one SHA-256; see test/unit/identity.test.ts).
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { closeSync, constants as fsConstants, openSync, readFileSync, statSync, writeSync, chmodSync } from 'node:fs'
import { privateKeyFromRaw, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromPublicKey } from '@libp2p/peer-id'
import { PublicKey } from '@bsv/sdk/primitives'
import { LRUCache } from 'lru-cache'
import type { PeerId, PrivateKey as Libp2pPrivateKey } from '@libp2p/interface'

/** The identity file is unreadable, malformed or has unsafe permissions. */
export class IdentityError extends Error {
  static name = 'IdentityError'
  override name = 'IdentityError'
}

// secp256k1 group order and half of it, for low-S normalisation (BIP-62 / BSV "low S").
const N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141n
const HALF_N = N >> 1n
// DER prefixes that wrap a raw key so OpenSSL accepts it: SEC1 private key, SPKI public key.
const SEC1_PREFIX = Buffer.from('302e0201010420', 'hex')
const SEC1_SUFFIX = Buffer.from('a00706052b8104000a', 'hex')
const SPKI_COMPRESSED_PREFIX = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex')

export class Identity {
  /** 32-byte secp256k1 secret. */
  readonly secret: Uint8Array
  /** 33-byte compressed public key: the `sender` of this node's messages. */
  readonly publicKey: Uint8Array
  /** BSV P2PKH mainnet address of the key (DESIGN §1 "account"). */
  readonly account: string
  readonly libp2pKey: Libp2pPrivateKey
  readonly peerId: PeerId
  private readonly keyObject: KeyObject

  constructor (secret: Uint8Array) {
    if (secret.length !== 32) throw new IdentityError('an identity key is 32 bytes')
    this.secret = secret
    this.libp2pKey = privateKeyFromRaw(secret)
    this.publicKey = this.libp2pKey.publicKey.raw
    this.peerId = peerIdFromPrivateKey(this.libp2pKey)
    this.account = accountOf(this.publicKey)
    this.keyObject = createPrivateKey({ key: Buffer.concat([SEC1_PREFIX, secret, SEC1_SUFFIX]), format: 'der', type: 'sec1' })
  }

  static generate (): Identity {
    for (;;) {
      const secret = randomBytes(32)
      const k = BigInt('0x' + secret.toString('hex'))
      if (k > 0n && k < N) return new Identity(secret)
    }
  }

  /** DER ECDSA signature over SHA-256(data), normalised to low S. */
  sign (data: Uint8Array): Uint8Array {
    return toLowS(sign('sha256', data, this.keyObject))
  }
}

/**
 * Loads `<path>` (64 hex chars), or creates it with mode 0600 when it does not exist. Never
 * overwrites: the key is the node's identity and its BSV wallet key.
 */
export function loadOrCreateIdentity (path: string): Identity {
  let fd: number
  try {
    fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600)
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadIdentity(path)
    throw new IdentityError(`cannot create ${path}: ${(err as Error).message}`)
  }
  try {
    const id = Identity.generate()
    writeSync(fd, Buffer.from(id.secret).toString('hex') + '\n')
    return id
  } finally {
    closeSync(fd)
  }
}

export function loadIdentity (path: string): Identity {
  let text: string
  try {
    text = readFileSync(path, 'utf8').trim()
  } catch (err: unknown) {
    throw new IdentityError(`cannot read ${path}: ${(err as Error).message}`)
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new IdentityError(`${path} is not a 64-hex-character secp256k1 key`)
  // A key readable by others is fixed rather than refused: the file is ours, and refusing
  // would only push the user to chmod it by hand.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
  return new Identity(Buffer.from(text, 'hex'))
}

/** Re-encodes a DER ECDSA signature with s := n - s when s > n/2. */
export function toLowS (der: Uint8Array): Uint8Array {
  const rLen = der[3]!
  const sOff = 4 + rLen + 2
  const sLen = der[sOff - 1]!
  const s = BigInt('0x' + Buffer.from(der.subarray(sOff, sOff + sLen)).toString('hex'))
  if (s <= HALF_N) return der
  let hex = (N - s).toString(16)
  if (hex.length % 2 === 1) hex = '0' + hex
  let sBytes = Buffer.from(hex, 'hex')
  if ((sBytes[0]! & 0x80) !== 0) sBytes = Buffer.concat([Buffer.from([0]), sBytes])
  const r = der.subarray(4, 4 + rLen)
  const body = Buffer.concat([Buffer.from([0x02, rLen]), r, Buffer.from([0x02, sBytes.length]), sBytes])
  return Buffer.concat([Buffer.from([0x30, body.length]), body])
}

// Senders repeat (a chat room has a handful of speakers), and building an OpenSSL key object
// costs more than the verification itself, so both are cached per sender.
const keyCache = new LRUCache<string, KeyObject>({ max: 4096 })
const accountCache = new LRUCache<string, string>({ max: 4096 })

function publicKeyObject (sender: Uint8Array): KeyObject | undefined {
  const k = Buffer.from(sender.buffer, sender.byteOffset, sender.byteLength).toString('latin1')
  let key = keyCache.get(k)
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_COMPRESSED_PREFIX, sender]), format: 'der', type: 'spki' })
    } catch {
      return undefined // not a point on the curve
    }
    keyCache.set(k, key)
  }
  return key
}

/** The key a signature by `sender` is checked with, or undefined when none can be valid. */
function checkKey (sender: Uint8Array, signature: Uint8Array): KeyObject | undefined {
  return sender.length !== 33 || signature.length === 0 ? undefined : publicKeyObject(sender)
}

/** Verifies a DER ECDSA signature by the 33-byte compressed key `sender` over SHA-256(data). */
export function verifySignature (sender: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  const key = checkKey(sender, signature)
  if (key === undefined) return false
  try {
    return verify('sha256', data, key, signature)
  } catch {
    return false
  }
}

/**
 * `verifySignature` on libuv's thread pool (`crypto.verify` with a callback): the ~0.3 ms of
 * secp256k1 per check runs beside the event loop, not on it. Never rejects.
 */
export async function verifySignatureOffLoop (sender: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const key = checkKey(sender, signature)
  if (key === undefined) return false
  return await new Promise(resolve => {
    try {
      verify('sha256', data, key, signature, (err, ok) => { resolve(err === null && ok) })
    } catch {
      resolve(false)
    }
  })
}

/** The BSV P2PKH mainnet address of a compressed public key. */
export function accountOf (publicKey: Uint8Array): string {
  const hex = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex')
  let account = accountCache.get(hex)
  if (account === undefined) {
    account = PublicKey.fromString(hex).toAddress()
    accountCache.set(hex, account)
  }
  return account
}

/** The libp2p PeerId of a node whose key is this 33-byte secp256k1 public key. */
export function peerIdOf (publicKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString()
}
