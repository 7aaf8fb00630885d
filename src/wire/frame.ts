/**
 * Frames: the unit on a `/tmsg/flood/1.0.0` stream is an unsigned-varint length followed by a
 * protobuf `Frame { repeated TMsg msgs = 1; }`, exactly as it-length-prefixed writes it.
 */
import { protobuf } from './proto.ts'
import { FrameDecodeError } from './errors.ts'
import { MAX_FRAME_BYTES, MAX_FRAME_MSGS } from './constants.ts'
import { decodeTMsg } from './tmsg.ts'
import type { TMsg } from './tmsg.ts'

export interface DecodedFrame {
  msgs: TMsg[]
  /** Entries that were length-delimited correctly but are not a well-formed TMsg. */
  malformed: number
}

/**
 * Decodes one Frame body (without its length prefix). Limits: at most `MAX_FRAME_BYTES`
 * bytes and `maxMsgs` messages. A structurally broken frame throws FrameDecodeError; a single
 * broken TMsg inside an intact frame is counted in `malformed` and the others are kept.
 */
export function decodeFrame (body: Uint8Array, maxMsgs = MAX_FRAME_MSGS): DecodedFrame {
  if (body.length > MAX_FRAME_BYTES) throw new FrameDecodeError(`frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`)
  const r = protobuf.Reader.create(body)
  const msgs: TMsg[] = []
  let malformed = 0
  try {
    while (r.pos < r.len) {
      const tag = r.uint32()
      if (tag === 0x0a) {
        if (msgs.length + malformed >= maxMsgs) throw new FrameDecodeError(`frame holds more than ${maxMsgs} messages`)
        const len = r.uint32()
        const start = r.pos
        const end = start + len
        if (end > r.len) throw new FrameDecodeError('truncated frame')
        r.pos = end
        try {
          msgs.push(decodeTMsg(body.subarray(start, end)))
        } catch {
          malformed++
        }
      } else {
        if (tag >>> 3 === 0) throw new FrameDecodeError('field number 0')
        r.skipType(tag & 7)
      }
    }
  } catch (err: unknown) {
    if (err instanceof FrameDecodeError) throw err
    throw new FrameDecodeError(`malformed frame: ${(err as Error).message}`)
  }
  return { msgs, malformed }
}

export function varintLength (n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : n < 0x1000_0000 ? 4 : 5
}

function writeVarint (buf: Uint8Array, offset: number, n: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80
    n >>>= 7
  }
  buf[offset++] = n
  return offset
}

/** Bytes one encoded TMsg adds to a Frame body: tag, length, message. */
export function frameEntrySize (encodedLength: number): number {
  return 1 + varintLength(encodedLength) + encodedLength
}

/**
 * Builds one complete length-prefixed unit from already-encoded TMsgs, in a single
 * allocation. The caller keeps the body within MAX_FRAME_BYTES / MAX_FRAME_MSGS.
 */
export function encodeFrameUnit (encoded: readonly Uint8Array[]): Uint8Array {
  let body = 0
  for (const e of encoded) body += frameEntrySize(e.length)
  const out = Buffer.allocUnsafe(varintLength(body) + body)
  let o = writeVarint(out, 0, body)
  for (const e of encoded) {
    out[o++] = 0x0a
    o = writeVarint(out, o, e.length)
    out.set(e, o)
    o += e.length
  }
  return out
}
