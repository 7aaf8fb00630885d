/**
 * A minimal, independent speaker of `/tmsg/flood/1.0.0`: a bare libp2p host that frames with
 * it-length-prefixed and encodes with protobufjs reflection of proto/tmsg.proto — none of the
 * node's own codec or router code — so it checks the wire format from the outside.
 */
import { createLibp2p } from 'libp2p'
import type { Libp2p, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { Uint8ArrayList } from 'uint8arraylist'
import { createHash, randomBytes } from 'node:crypto'
import { PrivateKey } from '@bsv/sdk'
import { FrameType, TMsgType } from '../../src/wire/proto.ts'

export const FLOOD = '/tmsg/flood/1.0.0'

export interface PeerMsg {
  msgId: Uint8Array
  target: Uint8Array
  payload: Uint8Array
  ttl: number
  hops: number
  kind: number
  replyTo?: Uint8Array
  timestamp: number
  nonce: Uint8Array
  sender?: Uint8Array
  signature?: Uint8Array
}

export class FloodPeer {
  readonly received: PeerMsg[] = []
  readonly libp2p: Libp2p
  private readonly out = new Map<string, Stream>()

  private constructor (libp2p: Libp2p) {
    this.libp2p = libp2p
  }

  static async start (): Promise<FloodPeer> {
    const libp2p = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() }
    })
    const peer = new FloodPeer(libp2p)
    await libp2p.handle(FLOOD, (stream) => { peer.read(stream) })
    return peer
  }

  private read (stream: Stream): void {
    const buf = new Uint8ArrayList()
    stream.addEventListener('message', evt => {
      buf.append(evt.data)
      for (;;) {
        let len: number
        let lenLen: number
        try {
          [len, lenLen] = readVarint(buf)
        } catch {
          return
        }
        if (buf.byteLength < lenLen + len) return
        const body = buf.subarray(lenLen, lenLen + len)
        buf.consume(lenLen + len)
        const frame = FrameType.decode(body) as unknown as { msgs: PeerMsg[] }
        this.received.push(...frame.msgs)
      }
    })
  }

  /** Connects to a node and opens the flood stream to it. */
  async connect (addr: string): Promise<void> {
    const stream = await this.libp2p.dialProtocol(multiaddr(addr), FLOOD)
    this.out.set(addr, stream)
  }

  /** Sends raw bytes on the flood stream to `addr` (for hostile-input tests). */
  sendRaw (addr: string, bytes: Uint8Array): void {
    this.out.get(addr)!.send(bytes)
  }

  /** Sends messages as one length-prefixed Frame. */
  send (addr: string, msgs: PeerMsg[]): void {
    const body = FrameType.encode(FrameType.fromObject({ msgs: msgs.map(m => TMsgType.toObject(TMsgType.fromObject(m))) })).finish()
    this.sendRaw(addr, lp.encode.single(body).subarray())
  }

  async stop (): Promise<void> {
    await this.libp2p.stop()
  }
}

function readVarint (buf: Uint8ArrayList): [number, number] {
  let n = 0
  for (let i = 0; i < 5; i++) {
    if (i >= buf.byteLength) throw new RangeError('incomplete varint')
    const b = buf.get(i)
    n |= (b & 0x7f) << (7 * i)
    if ((b & 0x80) === 0) return [n >>> 0, i + 1]
  }
  throw new Error('varint too long')
}

/**
 * Builds a valid TMsg the way another implementation would: id_bytes written out by hand,
 * MD5 from node:crypto, signature from @bsv/sdk.
 */
export function makeMessage (o: { target: Uint8Array, payload: Uint8Array, kind?: number, ttl?: number, key?: PrivateKey, timestamp?: number }): PeerMsg {
  const key = o.key ?? PrivateKey.fromRandom()
  const sender = Buffer.from(key.toPublicKey().encode(true) as number[])
  const nonce = randomBytes(12)
  const kind = o.kind ?? 2
  const timestamp = o.timestamp ?? Date.now()
  const ts = Buffer.alloc(8)
  ts.writeBigUInt64BE(BigInt(timestamp))
  const plen = Buffer.alloc(4)
  plen.writeUInt32BE(o.payload.length)
  const idBytes = Buffer.concat([Buffer.from('tmsg1'), o.target, Buffer.from([kind, 0]), ts,
    Buffer.from([nonce.length]), nonce, Buffer.from([sender.length]), sender, plen, o.payload])
  const signature = Buffer.from(key.sign([...idBytes]).toDER() as number[])
  return {
    msgId: createHash('md5').update(idBytes).digest(), target: o.target, payload: o.payload, ttl: o.ttl ?? 7, hops: 0,
    kind, timestamp, nonce, sender, signature
  }
}
