import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import * as lp from 'it-length-prefixed'
import { PrivateKey, PublicKey, Signature } from '@bsv/sdk'
import {
  Kind, buildTMsg, checkFields, computeMsgId, decodeFrame, decodeTMsg, encodeFrameControl, encodeFrameUnit, encodeTMsg, idBytes,
  msgIdMatches, validate, FrameDecodeError, MAX_FRAME_MSGS, encodePip38, decodePip38, Pip38RecordError
} from '../../src/wire/index.ts'
import type { TMsg } from '../../src/wire/index.ts'
import { FrameType, TMsgType } from '../../src/wire/proto.ts'
import { Identity, verifySignature } from '../../src/identity.ts'

const NOW = 1_750_000_000_000
const identity = Identity.generate()

function sample (over: Partial<Parameters<typeof buildTMsg>[0]> = {}): TMsg {
  return buildTMsg({ target: randomBytes(16), payload: Buffer.from('hello'), kind: Kind.CHAT, timestamp: NOW, signer: identity, ...over })
}

/** Re-derives a message after a field was tampered with, keeping the id consistent where asked. */
function withFields (m: TMsg, fields: Partial<TMsg>, fixId = true): TMsg {
  const t = { ...m, ...fields }
  if (fixId) t.msgId = computeMsgId(t)
  return t
}

describe('TMsg codec', () => {
  it('round-trips every field', () => {
    const m = sample({ replyTo: randomBytes(16), ttl: 5 })
    const d = decodeTMsg(encodeTMsg(m))
    expect([d.ttl, d.hops, d.kind, d.timestamp]).toEqual([5, 0, Kind.CHAT, NOW])
    for (const k of ['msgId', 'target', 'payload', 'replyTo', 'nonce', 'sender', 'signature'] as const) {
      expect(Buffer.from(d[k]).equals(Buffer.from(m[k]))).toBe(true)
    }
  })

  it('is byte-identical to protobufjs reflection of proto/tmsg.proto, both ways', () => {
    for (let i = 0; i < 50; i++) {
      const m = sample({ payload: randomBytes(i * 37), replyTo: i % 2 === 0 ? randomBytes(16) : undefined, ttl: 1 + (i % 16), signer: i % 3 === 0 ? undefined : identity })
      m.hops = i % 5
      const ours = Buffer.from(encodeTMsg(m))
      const reflected = TMsgType.encode(TMsgType.fromObject({
        ...m, replyTo: m.replyTo.length > 0 ? m.replyTo : undefined, hops: m.hops || undefined,
        sender: m.sender.length > 0 ? m.sender : undefined, signature: m.signature.length > 0 ? m.signature : undefined
      })).finish()
      expect(ours.equals(Buffer.from(reflected))).toBe(true)
      const back = TMsgType.decode(ours) as unknown as TMsg
      expect(back.timestamp).toBe(NOW)
      expect(back.ttl).toBe(m.ttl)
    }
  })

  it('encodes a negative kind as protobuf does (10-byte varint) and decodes it back', () => {
    const m = { ...sample(), kind: -3 }
    const ours = Buffer.from(encodeTMsg(m))
    expect(ours.equals(Buffer.from(TMsgType.encode(TMsgType.fromObject({ ...m, hops: undefined })).finish()))).toBe(true)
    expect(decodeTMsg(ours).kind).toBe(-3)
  })

  it('skips unknown fields and rejects malformed protobuf with FrameDecodeError', () => {
    const m = sample()
    const withUnknown = Buffer.concat([encodeTMsg(m), Buffer.from([0xa0, 0x06, 0x2a])]) // field 100, varint 42
    expect(msgIdMatches(decodeTMsg(withUnknown))).toBe(true)
    expect(() => decodeTMsg(Buffer.from([0x0a, 0x10, 1, 2]))).toThrow(FrameDecodeError) // truncated bytes
    expect(() => decodeTMsg(Buffer.from([0x20]))).toThrow(FrameDecodeError) // tag without value
    expect(() => decodeTMsg(Buffer.from([0x00, 0x01]))).toThrow(FrameDecodeError) // field 0
  })
})

describe('id_bytes and msg_id', () => {
  it('follows the fixed layout of DESIGN §3', () => {
    const m = sample({ replyTo: Buffer.alloc(16, 7), payload: Buffer.from('abc') })
    const ts = Buffer.alloc(8); ts.writeBigUInt64BE(BigInt(NOW))
    const len32 = Buffer.alloc(4); len32.writeUInt32BE(3)
    const expected = Buffer.concat([
      Buffer.from('tmsg1'), m.target, Buffer.from([Kind.CHAT]), Buffer.from([16]), m.replyTo, ts,
      Buffer.from([m.nonce.length]), m.nonce, Buffer.from([33]), m.sender, len32, Buffer.from('abc')
    ])
    expect(Buffer.from(idBytes(m)).equals(expected)).toBe(true)
    expect(Buffer.from(m.msgId).equals(createHash('md5').update(expected).digest())).toBe(true)
  })

  it('changes when any covered field changes, but not with ttl/hops/signature', () => {
    const m = sample()
    const id = Buffer.from(m.msgId).toString('hex')
    for (const f of [{ payload: Buffer.from('hellp') }, { kind: Kind.DATA }, { timestamp: NOW + 1 }, { target: randomBytes(16) }, { nonce: randomBytes(16) }]) {
      expect(computeMsgId({ ...m, ...f }).toString('hex')).not.toBe(id)
    }
    expect(computeMsgId({ ...m, ttl: 2, hops: 5, signature: Buffer.alloc(0) }).toString('hex')).toBe(id)
  })
})

describe('validation rejects each malformed field', () => {
  const good = sample()
  const cases: Array<[string, Partial<TMsg>, boolean]> = [
    ['msg-id-length', { msgId: randomBytes(15) }, false],
    ['target-length', { target: randomBytes(15) }, false],
    ['payload-too-large', { payload: Buffer.alloc(16_385) }, true],
    ['ttl-zero', { ttl: 0 }, true],
    ['ttl-hops-over-limit', { ttl: 10, hops: 7 }, true],
    ['timestamp-out-of-window', { timestamp: NOW - 10 * 60_000 - 1 }, true],
    ['timestamp-out-of-window', { timestamp: NOW + 10 * 60_000 + 1 }, true],
    ['nonce-length', { nonce: randomBytes(7) }, true],
    ['nonce-length', { nonce: randomBytes(33) }, true],
    ['reply-to-length', { replyTo: randomBytes(8) }, true],
    ['sender-invalid', { sender: randomBytes(32) }, true],
    ['signature-invalid', { sender: Buffer.alloc(0) }, true],
    ['msg-id-mismatch', { payload: Buffer.from('tampered') }, false]
  ]
  it.each(cases)('%s', (reason, fields, fixId) => {
    expect(validate(withFields(good, fields, fixId), NOW)).toBe(reason)
  })

  it('accepts the edges: 16384-byte payload, ttl+hops = 16, timestamp exactly 10 min off', () => {
    expect(validate(sample(), NOW)).toBeUndefined()
    expect(validate(withFields(good, { payload: Buffer.alloc(16_384) }), NOW)).toBeUndefined()
    expect(validate(withFields(good, { ttl: 9, hops: 7 }), NOW)).toBeUndefined()
    expect(checkFields(good, NOW + 10 * 60_000)).toBeUndefined()
    expect(validate(sample({ signer: undefined }), NOW)).toBeUndefined() // unsigned is valid on the wire
  })
})

describe('signatures', () => {
  it('node:crypto and @bsv/sdk agree on the bytes, both ways', () => {
    const m = sample()
    const data = Buffer.from(idBytes(m))
    // ours → @bsv/sdk
    const pub = PublicKey.fromString(Buffer.from(identity.publicKey).toString('hex'))
    expect(pub.verify([...data], Signature.fromDER([...m.signature]))).toBe(true)
    expect(Buffer.from(identity.publicKey).toString('hex')).toBe(PrivateKey.fromHex(Buffer.from(identity.secret).toString('hex')).toPublicKey().toString())
    // @bsv/sdk → ours
    const sdkSig = PrivateKey.fromHex(Buffer.from(identity.secret).toString('hex')).sign([...data]).toDER() as number[]
    expect(verifySignature(identity.publicKey, data, Uint8Array.from(sdkSig))).toBe(true)
  })

  it('rejects a signature by another key or over other bytes', () => {
    const m = sample()
    const other = Identity.generate()
    expect(verifySignature(identity.publicKey, idBytes(m), m.signature)).toBe(true)
    expect(verifySignature(other.publicKey, idBytes(m), m.signature)).toBe(false)
    expect(verifySignature(identity.publicKey, Buffer.from('other bytes'), m.signature)).toBe(false)
    expect(verifySignature(identity.publicKey, idBytes(m), randomBytes(70))).toBe(false)
  })

  it('always produces low-S signatures', () => {
    const halfN = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0n
    for (let i = 0; i < 64; i++) {
      const der = identity.sign(randomBytes(32))
      const rLen = der[3]!
      const sLen = der[5 + rLen]!
      const s = BigInt('0x' + Buffer.from(der.subarray(6 + rLen, 6 + rLen + sLen)).toString('hex'))
      expect(s <= halfN).toBe(true)
    }
  })
})

describe('frames', () => {
  it('encodes exactly what it-length-prefixed + protobufjs Frame produce, and decodes them', () => {
    const msgs = [sample(), sample({ payload: randomBytes(300) }), sample({ signer: undefined })]
    const unit = Buffer.from(encodeFrameUnit(msgs.map(m => encodeTMsg(m))))
    const body = FrameType.encode(FrameType.fromObject({ msgs: msgs.map(m => TMsgType.toObject(TMsgType.decode(encodeTMsg(m)))) })).finish()
    expect(unit.equals(Buffer.from(lp.encode.single(body).subarray()))).toBe(true)
    const bodies = [...lp.decode([unit])].map(b => b.subarray())
    const decoded = decodeFrame(bodies[0]!)
    expect(decoded.malformed).toBe(0)
    expect(decoded.msgs.map(m => Buffer.from(m.msgId).toString('hex'))).toEqual(msgs.map(m => Buffer.from(m.msgId).toString('hex')))
  })

  it('control fields (plumtree, DESIGN §11) are what protobufjs makes of the schema, both ways', () => {
    const id = randomBytes(16)
    const control = { ihave: [{ id, ttl: 4 }], graft: [id], prune: true, lazy: true, rank: { root: Buffer.from('12D3KooWroot'), dist: 3, parent: true } }
    const body = Buffer.from(encodeFrameControl(control))
    const viaSchema = FrameType.decode(body) as unknown as { ihave: Array<{ msgId: Uint8Array, ttl: number }>, graft: Uint8Array[], prune: boolean, lazy: boolean, root: Uint8Array, dist: number, parent: boolean }
    expect(viaSchema).toMatchObject({ prune: true, lazy: true, dist: 3, parent: true })
    expect(Buffer.from(viaSchema.root).toString()).toBe('12D3KooWroot')
    expect(Buffer.from(viaSchema.ihave[0]!.msgId).equals(id)).toBe(true)
    const back = decodeFrame(FrameType.encode(viaSchema).finish()).control!
    expect(Buffer.from(back.rank!.root).toString()).toBe('12D3KooWroot')
    expect(back.rank).toMatchObject({ dist: 3, parent: true })
    expect(back).toMatchObject({ prune: true, lazy: true, ihave: [{ ttl: 4 }] })
    // a root at distance 0 (the root itself) leaves `dist` out, as proto3 does
    const root = decodeFrame(encodeFrameControl({ rank: { root: Buffer.from('r'), dist: 0, parent: false } })).control!
    expect(root.rank).toMatchObject({ dist: 0, parent: false })
  })

  it('limits the message count and keeps good messages next to a malformed one', () => {
    const one = encodeTMsg(sample())
    const tooMany = encodeFrameUnit(Array.from({ length: MAX_FRAME_MSGS + 1 }, () => one))
    const body = (u: Uint8Array): Uint8Array => u.subarray(u.length > 127 ? (u.length > 16383 ? 3 : 2) : 1)
    expect(() => decodeFrame(body(tooMany))).toThrow(FrameDecodeError)
    const mixed = decodeFrame(body(encodeFrameUnit([one, Buffer.from([0x0a, 0x05, 1]), one])))
    expect(mixed.msgs).toHaveLength(2)
    expect(mixed.malformed).toBe(1)
    expect(() => decodeFrame(Buffer.from([0x0a, 0x50, 1, 2, 3]))).toThrow(FrameDecodeError)
  })
})

describe('PIP-0038 byte record', () => {
  it('round-trips and enforces its one-byte PayloadLen', () => {
    const rec = { msgId: randomBytes(16), target: randomBytes(16), payload: randomBytes(255) }
    const enc = encodePip38(rec)
    expect(enc.length).toBe(16 + 16 + 1 + 255)
    expect(enc[32]).toBe(255)
    const dec = decodePip38(enc)
    expect(Buffer.from(dec.payload).equals(rec.payload)).toBe(true)
    expect(Buffer.from(dec.target).equals(rec.target)).toBe(true)
    expect(() => encodePip38({ ...rec, payload: randomBytes(256) })).toThrow(Pip38RecordError)
    expect(() => encodePip38({ ...rec, payload: randomBytes(256) })).toThrow(/255/)
    expect(() => decodePip38(enc.subarray(0, 40))).toThrow(Pip38RecordError)
    expect(() => decodePip38(enc.subarray(0, 20))).toThrow(Pip38RecordError)
  })
})
