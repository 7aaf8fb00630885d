/**
 * Frames: the unit on a `/tmsg/flood/1.0.0` stream is an unsigned-varint length followed by a
 * protobuf `Frame` (proto/tmsg.proto), exactly as it-length-prefixed writes it: `msgs` (field 1)
 * and, from plumtree nodes, the control fields 2-8, which a flood node decodes and ignores.
 */
import { protobuf } from './proto.ts'
import { FrameDecodeError } from './errors.ts'
import { MAX_FRAME_BYTES, MAX_FRAME_CONTROL_IDS, MAX_FRAME_MSGS } from './constants.ts'
import { decodeTMsg, EMPTY } from './tmsg.ts'
import type { TMsg } from './tmsg.ts'

export interface DecodedFrame {
  msgs: TMsg[]
  /** Entries that were length-delimited correctly but are not a well-formed TMsg. */
  malformed: number
  /** Plumtree control fields, when the frame carries any (views into the body). */
  control?: FrameControl
}

/** Frame fields 2-8 (DESIGN §11). Ids are not checked here: the router judges them. */
export interface FrameControl {
  ihave: IHave[]
  graft: Uint8Array[]
  prune: boolean
  lazy: boolean
  /** The sender's place in the tree, when it says (fields 6-8). */
  rank?: Rank
}

/** Where the sender is in the shared tree: the root it follows, its hops to it, and whether the receiver is its parent. */
export interface Rank {
  root: Uint8Array
  dist: number
  parent: boolean
}

/** An announcement: the id, and the TTL the copy would carry if grafted. */
export interface IHave {
  id: Uint8Array
  ttl: number
}

const TAG_IHAVE = (2 << 3) | 2
const TAG_GRAFT = (3 << 3) | 2
const TAG_PRUNE = (4 << 3) | 0
const TAG_LAZY = (5 << 3) | 0
const TAG_ROOT = (6 << 3) | 2
const TAG_DIST = (7 << 3) | 0
const TAG_PARENT = (8 << 3) | 0

function controlOf (f: DecodedFrame): FrameControl {
  f.control ??= { ihave: [], graft: [], prune: false, lazy: false }
  return f.control
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
  const out: DecodedFrame = { msgs, malformed: 0 }
  let ids = 0
  try {
    while (r.pos < r.len) {
      const tag = r.uint32()
      if (tag === 0x0a) {
        if (msgs.length + out.malformed >= maxMsgs) throw new FrameDecodeError(`frame holds more than ${maxMsgs} messages`)
        const len = r.uint32()
        const start = r.pos
        const end = start + len
        if (end > r.len) throw new FrameDecodeError('truncated frame')
        r.pos = end
        try {
          msgs.push(decodeTMsg(body.subarray(start, end)))
        } catch {
          out.malformed++
        }
      } else if (tag === TAG_IHAVE || tag === TAG_GRAFT) {
        if (++ids > MAX_FRAME_CONTROL_IDS) throw new FrameDecodeError(`frame holds more than ${MAX_FRAME_CONTROL_IDS} control ids`)
        const c = controlOf(out)
        if (tag === TAG_GRAFT) c.graft.push(r.bytes())
        else c.ihave.push(decodeIHave(r))
      } else if (tag === TAG_PRUNE) {
        controlOf(out).prune = r.bool()
      } else if (tag === TAG_LAZY) {
        controlOf(out).lazy = r.bool()
      } else if (tag === TAG_ROOT || tag === TAG_DIST || tag === TAG_PARENT) {
        const c = controlOf(out)
        c.rank ??= { root: EMPTY, dist: 0, parent: false }
        if (tag === TAG_ROOT) c.rank.root = r.bytes()
        else if (tag === TAG_DIST) c.rank.dist = r.uint32()
        else c.rank.parent = r.bool()
      } else {
        if (tag >>> 3 === 0) throw new FrameDecodeError('field number 0')
        r.skipType(tag & 7)
      }
    }
  } catch (err: unknown) {
    if (err instanceof FrameDecodeError) throw err
    throw new FrameDecodeError(`malformed frame: ${(err as Error).message}`)
  }
  return out
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
 * allocation; `control` (from encodeFrameControl) follows them. The caller keeps the body
 * within MAX_FRAME_BYTES / MAX_FRAME_MSGS / MAX_FRAME_CONTROL_IDS.
 */
export function encodeFrameUnit (encoded: readonly Uint8Array[], control?: Uint8Array): Uint8Array {
  let body = control?.length ?? 0
  for (const e of encoded) body += frameEntrySize(e.length)
  const out = Buffer.allocUnsafe(varintLength(body) + body)
  let o = writeVarint(out, 0, body)
  for (const e of encoded) {
    out[o++] = 0x0a
    o = writeVarint(out, o, e.length)
    out.set(e, o)
    o += e.length
  }
  if (control !== undefined) out.set(control, o)
  return out
}

function decodeIHave (r: protobuf.Reader): IHave {
  const end = r.uint32() + r.pos
  if (end > r.len) throw new FrameDecodeError('truncated frame')
  const out: IHave = { id: EMPTY, ttl: 0 }
  while (r.pos < end) {
    const tag = r.uint32()
    if (tag === 0x0a) out.id = r.bytes()
    else if (tag === 0x10) out.ttl = r.uint32()
    else r.skipType(tag & 7)
  }
  if (r.pos !== end) throw new FrameDecodeError('malformed IHAVE')
  return out
}

/** The Frame fields 2-8 as body bytes to append to a unit's messages (protobufjs Writer). */
export function encodeFrameControl (c: Partial<FrameControl>): Uint8Array {
  const w = protobuf.Writer.create()
  for (const a of c.ihave ?? []) w.uint32(TAG_IHAVE).fork().uint32(0x0a).bytes(a.id).uint32(0x10).uint32(a.ttl).ldelim()
  for (const id of c.graft ?? []) w.uint32(TAG_GRAFT).bytes(id)
  if (c.prune === true) w.uint32(TAG_PRUNE).bool(true)
  if (c.lazy === true) w.uint32(TAG_LAZY).bool(true)
  if (c.rank !== undefined) {
    w.uint32(TAG_ROOT).bytes(c.rank.root)
    if (c.rank.dist > 0) w.uint32(TAG_DIST).uint32(c.rank.dist)
    if (c.rank.parent) w.uint32(TAG_PARENT).bool(true)
  }
  return w.finish()
}
