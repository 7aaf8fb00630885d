/**
 * TMsg: the flooded record (DESIGN §3) — its codec, its content-derived id and its signature.
 */
import { hash } from 'node:crypto'
import { protobuf } from './proto.ts'
import { FrameDecodeError } from './errors.ts'
import { ID_BYTES_PREFIX, MSG_ID_LENGTH, TARGET_LENGTH } from './constants.ts'

/** `Kind` from tmsg.proto, by name. */
export const Kind = {
  UNSPECIFIED: 0,
  CHAT: 1,
  DATA: 2,
  BALANCE_REQUEST: 3,
  BALANCE_RESPONSE: 4,
  TERMS_REQUEST: 5,
  TERMS: 6,
  /** A `Chat` record sealed for the account target's key (src/chat/seal.ts). */
  DIRECT: 7,
  /** A `PeerPayment` (layer2.proto) to `acct:<payee>`: the transaction as BEEF, and a memo. */
  PAYMENT: 8
} as const
export type KindName = keyof typeof Kind
const KIND_NAMES = Object.fromEntries(Object.entries(Kind).map(([k, v]) => [v, k])) as Record<number, KindName>

/** The lower-case RPC name of a kind number (`chat`, `balance_request`, ...), or `kind_<n>` for unknown ones. */
export function kindName (kind: number): string {
  return KIND_NAMES[kind]?.toLowerCase() ?? `kind_${kind}`
}

/**
 * A decoded TMsg. Every field is always present (empty Uint8Array / 0 for "unset"), so all
 * instances share one hidden class. Byte fields of a decoded message are views into the
 * received frame, not copies.
 */
export interface TMsg {
  msgId: Uint8Array
  target: Uint8Array
  payload: Uint8Array
  ttl: number
  hops: number
  kind: number
  replyTo: Uint8Array
  timestamp: number
  nonce: Uint8Array
  sender: Uint8Array
  signature: Uint8Array
}

export const EMPTY = new Uint8Array(0)

const { Reader } = protobuf

/**
 * Decodes one TMsg. Unknown fields are skipped (forward compatibility); anything that is not
 * well-formed protobuf raises FrameDecodeError. Field *values* are checked by `checkFields`.
 */
export function decodeTMsg (buf: Uint8Array): TMsg {
  const m: TMsg = {
    msgId: EMPTY, target: EMPTY, payload: EMPTY, ttl: 0, hops: 0, kind: 0,
    replyTo: EMPTY, timestamp: 0, nonce: EMPTY, sender: EMPTY, signature: EMPTY
  }
  const r = Reader.create(buf)
  try {
    while (r.pos < r.len) {
      const tag = r.uint32()
      switch (tag) {
        case 0x0a: m.msgId = r.bytes(); break
        case 0x12: m.target = r.bytes(); break
        case 0x1a: m.payload = r.bytes(); break
        case 0x20: m.ttl = r.uint32(); break
        case 0x28: m.hops = r.uint32(); break
        case 0x30: m.kind = r.int32(); break
        case 0x3a: m.replyTo = r.bytes(); break
        case 0x40: m.timestamp = r.uint64() as unknown as number; break
        case 0x4a: m.nonce = r.bytes(); break
        case 0x52: m.sender = r.bytes(); break
        case 0x5a: m.signature = r.bytes(); break
        default:
          if (tag >>> 3 === 0) throw new FrameDecodeError('field number 0')
          r.skipType(tag & 7)
      }
    }
  } catch (err: unknown) {
    if (err instanceof FrameDecodeError) throw err
    throw new FrameDecodeError(`malformed TMsg: ${(err as Error).message}`)
  }
  return m
}

/**
 * Encodes a TMsg, canonically (fields in number order, proto3 defaults omitted). `ttl` and
 * `hops` may be overridden so a relay can re-encode a forwarded copy without copying the
 * object. Written straight into one buffer of the exact size: protobufjs's Writer allocates
 * an operation per field, which made encoding the largest codec cost on the relay path.
 */
export function encodeTMsg (m: TMsg, ttl = m.ttl, hops = m.hops): Uint8Array {
  const size = bytesField(m.msgId) + bytesField(m.target) + bytesField(m.payload) +
    (ttl !== 0 ? 1 + varintSize(ttl) : 0) + (hops !== 0 ? 1 + varintSize(hops) : 0) +
    (m.kind !== 0 ? 1 + (m.kind < 0 ? 10 : varintSize(m.kind)) : 0) + bytesField(m.replyTo) +
    (m.timestamp !== 0 ? 1 + varintSize(m.timestamp) : 0) + bytesField(m.nonce) + bytesField(m.sender) +
    bytesField(m.signature)
  const out = Buffer.allocUnsafe(size)
  let o = putBytes(out, 0, 0x0a, m.msgId)
  o = putBytes(out, o, 0x12, m.target)
  o = putBytes(out, o, 0x1a, m.payload)
  if (ttl !== 0) { out[o++] = 0x20; o = putVarint(out, o, ttl) }
  if (hops !== 0) { out[o++] = 0x28; o = putVarint(out, o, hops) }
  if (m.kind !== 0) {
    out[o++] = 0x30
    // A negative int32 is sign-extended to a 10-byte varint, as protobuf requires.
    o = m.kind < 0 ? putNegativeVarint(out, o, m.kind) : putVarint(out, o, m.kind)
  }
  o = putBytes(out, o, 0x3a, m.replyTo)
  if (m.timestamp !== 0) { out[o++] = 0x40; o = putVarint(out, o, m.timestamp) }
  o = putBytes(out, o, 0x4a, m.nonce)
  o = putBytes(out, o, 0x52, m.sender)
  putBytes(out, o, 0x5a, m.signature)
  return out
}

/** Bytes of a non-negative integer (up to 2^53) as a varint. */
function varintSize (n: number): number {
  let size = 1
  while (n >= 0x80) { n = Math.floor(n / 0x80); size++ }
  return size
}

function bytesField (b: Uint8Array): number {
  return b.length === 0 ? 0 : 1 + varintSize(b.length) + b.length
}

function putVarint (out: Uint8Array, o: number, n: number): number {
  while (n >= 0x80) {
    out[o++] = (n % 0x80) | 0x80
    n = Math.floor(n / 0x80)
  }
  out[o++] = n
  return o
}

function putNegativeVarint (out: Uint8Array, o: number, n: number): number {
  let v = BigInt.asUintN(64, BigInt(n))
  for (let i = 0; i < 9; i++) {
    out[o++] = Number(v & 0x7fn) | 0x80
    v >>= 7n
  }
  out[o++] = Number(v)
  return o
}

function putBytes (out: Uint8Array, o: number, tag: number, b: Uint8Array): number {
  if (b.length === 0) return o
  out[o++] = tag
  o = putVarint(out, o, b.length)
  out.set(b, o)
  return o + b.length
}

// id_bytes is rebuilt for every new message a relay sees, so it is written into one reused
// scratch buffer instead of a fresh allocation; it only grows, to the largest message seen.
let scratch = Buffer.allocUnsafe(1024)

/** The fixed-size part of id_bytes: prefix, target, kind, the three length bytes, timestamp, payload length. */
const ID_BYTES_FIXED = ID_BYTES_PREFIX.length + TARGET_LENGTH + 1 + 1 + 8 + 1 + 1 + 4

/**
 * Writes id_bytes (DESIGN §3) into the scratch buffer and returns a view of it. The view is
 * only valid until the next call: hash or sign it at once.
 *
 * `"tmsg1" ‖ target(16) ‖ u8 kind ‖ u8 len ‖ reply_to ‖ u64be timestamp ‖ u8 len ‖ nonce ‖
 *  u8 len ‖ sender ‖ u32be len ‖ payload`
 */
export function idBytes (m: TMsg): Buffer {
  if (m.target.length !== TARGET_LENGTH) throw new RangeError(`target must be ${TARGET_LENGTH} bytes`)
  if (m.kind < 0 || m.kind > 255) throw new RangeError('kind must fit one byte')
  if (m.replyTo.length > 255 || m.nonce.length > 255 || m.sender.length > 255) throw new RangeError('field too long for id_bytes')
  const size = ID_BYTES_FIXED + m.replyTo.length + m.nonce.length + m.sender.length + m.payload.length
  if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, scratch.length * 2))
  const b = scratch
  let o = b.write(ID_BYTES_PREFIX, 0, 'latin1')
  b.set(m.target, o); o += TARGET_LENGTH
  b[o++] = m.kind
  b[o++] = m.replyTo.length; b.set(m.replyTo, o); o += m.replyTo.length
  // u64be without BigInt: timestamps are below 2^53.
  b.writeUInt32BE(Math.floor(m.timestamp / 0x1_0000_0000) >>> 0, o)
  b.writeUInt32BE(m.timestamp >>> 0, o + 4); o += 8
  b[o++] = m.nonce.length; b.set(m.nonce, o); o += m.nonce.length
  b[o++] = m.sender.length; b.set(m.sender, o); o += m.sender.length
  b.writeUInt32BE(m.payload.length, o); o += 4
  b.set(m.payload, o); o += m.payload.length
  return b.subarray(0, o)
}

/** msg_id = MD5(id_bytes). */
export function computeMsgId (m: TMsg): Buffer {
  return hash('md5', idBytes(m), 'buffer')
}

/** True when `m.msgId` is the MD5 of its own id_bytes (content-derived ids cannot be squatted). */
export function msgIdMatches (m: TMsg): boolean {
  if (m.msgId.length !== MSG_ID_LENGTH) return false
  const id = computeMsgId(m)
  for (let i = 0; i < MSG_ID_LENGTH; i++) if (id[i] !== m.msgId[i]) return false
  return true
}

/**
 * The seen-cache key of a 16-byte id: a 16-char one-byte string (half the size of hex, and
 * V8 hashes it once).
 */
export function idKey (id: Uint8Array): string {
  return String.fromCharCode(id[0]!, id[1]!, id[2]!, id[3]!, id[4]!, id[5]!, id[6]!, id[7]!,
    id[8]!, id[9]!, id[10]!, id[11]!, id[12]!, id[13]!, id[14]!, id[15]!)
}

export function toHex (b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}
