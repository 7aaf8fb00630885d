/**
 * Many flood neighbours of one relay in one process, for the memory benchmark (bench/memory.ts).
 *
 * Each neighbour is a real libp2p host (TCP, Noise, Yamux, identify) that speaks
 * `/tmsg/flood/1.0.0` to the relay, but is cheap on this side: it counts the messages in the
 * frames it receives instead of decoding and validating them, and senders write pre-built
 * frames. So a few of these processes can take the 490,000 copies/s a relay with 50
 * neighbours sends out at 10,000 msg/s in, which 50 full nodes on one core could not.
 *
 *   parent → child: { type: 'go', seconds }       start sending
 *   child → parent: { type: 'ready' } · { type: 'done', … }
 */
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import type { Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { FLOOD_PROTOCOL } from '../src/flood/constants.ts'
import { buildTMsg, encodeFrameUnit, encodeTMsg, Kind, MAX_FRAME_BYTES } from '../src/wire/index.ts'
import { protobuf } from '../src/wire/proto.ts'

export interface NeighboursArgs {
  relay: string
  /** Neighbours in this process. */
  count: number
  /** How many of them send. */
  senders: number
  /** Messages per second each sender offers. */
  perSender: number
  target: string
  payloadBytes: number
}

export type NeighboursReply =
  | { type: 'ready' }
  | {
    type: 'done'
    /** Messages the senders had to offer on schedule. */
    offered: number
    /** Of those, written to the relay (the rest were skipped while the relay pushed back). */
    written: number
    /** Messages received per neighbour. */
    received: number[]
  }

const TICK_MS = 100
/** The machine is shared and the relay may stall for a while: quiet this long means done. */
const QUIET_MS = 3000

/** Messages in one Frame body, counted from the field tags alone (no TMsg decoding). */
function countEntries (body: Uint8Array): number {
  const r = protobuf.Reader.create(body)
  let n = 0
  while (r.pos < r.len) {
    const tag = r.uint32()
    if (tag === 0x0a) n++
    r.skipType(tag & 7)
  }
  return n
}

class Neighbour {
  received = 0
  private out?: Stream
  private blocked = false
  readonly host: Libp2p
  private constructor (host: Libp2p) {
    this.host = host
  }

  static async create (): Promise<Neighbour> {
    const host = await createLibp2p({
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // Its pings would queue behind megabytes of relayed copies on a starved machine and
      // abort the connection after 5 s; the relay's own monitor still watches every link.
      connectionMonitor: { enabled: false },
      services: { identify: identify() }
    })
    const n = new Neighbour(host)
    await host.handle(FLOOD_PROTOCOL, (stream) => { n.drain(stream) }, { maxInboundStreams: 4 })
    return n
  }

  /** Reads what the relay forwards to us, counting messages. */
  private drain (stream: Stream): void {
    const decoder = new LengthPrefixedDecoder({ maxDataLength: MAX_FRAME_BYTES, maxBufferSize: 2 * MAX_FRAME_BYTES + 16 })
    stream.addEventListener('message', (evt) => {
      for (const unit of decoder.decode(evt.data)) this.received += countEntries(unit.subarray())
    })
  }

  /** Connects and waits until the relay has made us a neighbour (opened its stream to us). */
  async join (relay: string): Promise<void> {
    const conn = await this.host.dial(multiaddr(relay), { signal: AbortSignal.timeout(20_000) })
    this.out = await conn.newStream(FLOOD_PROTOCOL)
    this.out.addEventListener('drain', () => { this.blocked = false })
    const deadline = Date.now() + 20_000
    while (!conn.streams.some(s => s.direction === 'inbound' && s.protocol === FLOOD_PROTOCOL)) {
      if (Date.now() > deadline) throw new Error('the relay never opened its flood stream')
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  /** Writes one frame; false (and nothing written) while the relay pushes back. */
  send (unit: Uint8Array): boolean {
    if (this.blocked || this.out!.writeStatus !== 'writable') return false
    if (!this.out!.send(unit)) this.blocked = true
    return true
  }
}

const args = JSON.parse(process.argv[2]!) as NeighboursArgs
const reply = (r: NeighboursReply): void => { process.send!(r) }
const neighbours: Neighbour[] = []
for (let i = 0; i < args.count; i++) {
  const n = await Neighbour.create()
  await n.join(args.relay)
  neighbours.push(n)
}
const target = Buffer.from(args.target, 'hex')
const perTick = Math.round(args.perSender * TICK_MS / 1000)

process.on('message', (msg: { type: 'go', seconds: number }) => {
  void (async () => {
    let offered = 0
    let written = 0
    const senders = neighbours.slice(0, args.senders)
    const t0 = performance.now()
    for (let k = 0; k * TICK_MS < msg.seconds * 1000; k++) {
      for (const s of senders) {
        const batch = Array.from({ length: perTick }, () => encodeTMsg(buildTMsg({ target, payload: randomBytes(args.payloadBytes), kind: Kind.DATA })))
        offered += batch.length
        if (s.send(encodeFrameUnit(batch))) written += batch.length
      }
      const due = t0 + (k + 1) * TICK_MS
      await new Promise(resolve => setTimeout(resolve, Math.max(0, due - performance.now())))
    }
    // Let the relay's queues empty: done once nothing arrived for QUIET_MS.
    let last = -1
    for (let total = 0; total !== last; await new Promise(resolve => setTimeout(resolve, QUIET_MS))) {
      last = total
      total = neighbours.reduce((sum, n) => sum + n.received, 0)
    }
    reply({ type: 'done', offered, written, received: neighbours.map(n => n.received) })
    await Promise.all(neighbours.map(async n => { await n.host.stop() }))
    process.exit(0)
  })()
})
reply({ type: 'ready' })
