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
  TERMS: 6
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

const { Reader, Writer } = protobuf

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
 * `hops` may be overridden so a relay can re-encode a forwarded copy without copying the object.
 */
export function encodeTMsg (m: TMsg, ttl = m.ttl, hops = m.hops): Uint8Array {
  const w = Writer.create()
  if (m.msgId.length > 0) w.uint32(0x0a).bytes(m.msgId)
  if (m.target.length > 0) w.uint32(0x12).bytes(m.target)
  if (m.payload.length > 0) w.uint32(0x1a).bytes(m.payload)
  if (ttl !== 0) w.uint32(0x20).uint32(ttl)
  if (hops !== 0) w.uint32(0x28).uint32(hops)
  if (m.kind !== 0) w.uint32(0x30).int32(m.kind)
  if (m.replyTo.length > 0) w.uint32(0x3a).bytes(m.replyTo)
  if (m.timestamp !== 0) w.uint32(0x40).uint64(m.timestamp)
  if (m.nonce.length > 0) w.uint32(0x4a).bytes(m.nonce)
  if (m.sender.length > 0) w.uint32(0x52).bytes(m.sender)
  if (m.signature.length > 0) w.uint32(0x5a).bytes(m.signature)
  return w.finish()
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
