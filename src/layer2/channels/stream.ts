/**
 * `/tmsg/channel/1.0.0`: a direct stream between a channel's client and provider. Each unit
 * is a varint length + ChannelRequest / ChannelResponse (proto/layer2.proto); responses carry
 * the id of their request. A provider answers the requests of one stream in order, so a
 * client's payments are checked in the order they were signed.
 *
 * A libp2p service like flood and ping: the node registers it (NodeOptions.services, see
 * `channelStream()`), so layer-2 is handed this service and never the libp2p host.
 */
import { LengthPrefixedDecoder } from '@libp2p/utils'
import * as lp from 'it-length-prefixed'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { ComponentLogger, Connection, Logger, PeerStore, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { ChannelRequestType, ChannelResponseType, decodeAs, encodeAs } from '../proto.ts'
import { ChannelError } from '../errors.ts'
import type { ChannelErrorCode } from '../errors.ts'

export const CHANNEL_PROTOCOL = '/tmsg/channel/1.0.0'
/** The name the node registers the service under. */
export const CHANNEL_SERVICE = 'channels'
/** Largest unit: a response carries at most one file chunk and its proof. */
const MAX_UNIT = 1024 * 1024

export interface OpenChannelMsg { service: string, fundingTx: Uint8Array, refundTx: Uint8Array, clientKey: Uint8Array, fundingBeef: Uint8Array }
export interface TopUpMsg { channelId: string, fundingTx: Uint8Array, refundTx: Uint8Array, fundingBeef: Uint8Array }
export interface FundingBroadcastMsg { channelId: string, fundingTxid: string }
export interface PaymentMsg { channelId: string, sequence: number, cumulativePaid: number, updateTx: Uint8Array, signatures: Uint8Array[] }
export interface ChunkRequestMsg { channelId: string, index: number }
export interface CloseChannelMsg { channelId: string, settledOnly?: boolean }

export type ChannelRequest =
  | { open: OpenChannelMsg }
  | { funded: FundingBroadcastMsg }
  | { pay: PaymentMsg }
  | { topup: TopUpMsg }
  | { chunk: ChunkRequestMsg }
  | { close: CloseChannelMsg }

export type ChannelResponse =
  | { refund: { channelId: string, signature: Uint8Array } }
  | { ready: { channelId: string, deposit: number, expiry: number } }
  | { ack: { channelId: string, sequence: number, paid: number } }
  | { chunk: { index: number, data: Uint8Array, proof: Uint8Array[] } }
  | { closed: { channelId: string, txid: string, paid: number, settlementBeef: Uint8Array } }
  | { error: { code: string, message: string } }

function unit (type: typeof ChannelRequestType, value: object): Uint8Array {
  return lp.encode.single(encodeAs(type, value)).subarray()
}

async function sendUnit (stream: Stream, bytes: Uint8Array): Promise<void> {
  if (!stream.send(bytes)) await stream.onDrain()
}

export type ChannelHandler = (peerId: string, req: ChannelRequest) => Promise<ChannelResponse>

export interface ChannelStreamComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  peerStore: PeerStore
  logger: ComponentLogger
}

export interface ChannelStreamInit {
  /** Inbound channel streams accepted per connection. @default 16 */
  maxInboundStreams?: number
}

export class ChannelStream implements Startable {
  readonly [Symbol.toStringTag] = 'tmsg:channels'
  private readonly components: ChannelStreamComponents
  private readonly log: Logger
  private readonly maxInboundStreams: number
  private handler?: ChannelHandler

  constructor (components: ChannelStreamComponents, init: ChannelStreamInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('tmsg:channels')
    this.maxInboundStreams = init.maxInboundStreams ?? 16
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(CHANNEL_PROTOCOL, (stream, connection) => { this.onInbound(stream, connection) }, { maxInboundStreams: this.maxInboundStreams })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(CHANNEL_PROTOCOL)
  }

  /**
   * Answers channel requests with `handler` (the provider). The handler's ChannelError
   * becomes an error response carrying its code; anything else is answered as BAD_MESSAGE.
   * Until a handler is set (and after `unserve`, also on streams already open) inbound
   * streams are closed: to a client, the provider cannot be reached.
   */
  serve (handler: ChannelHandler): void {
    this.handler = handler
  }

  unserve (): void {
    this.handler = undefined
  }

  /** The client's side: one stream to `peerId`, dialled through `addresses` when not connected. */
  link (peerId: string, addresses: string[]): ChannelLink {
    return new ChannelLink(this.components, peerId, addresses)
  }

  private onInbound (stream: Stream, connection: Connection): void {
    if (this.handler === undefined) {
      stream.abort(new Error('not serving channels'))
      return
    }
    const peer = connection.remotePeer.toString()
    const decoder = new LengthPrefixedDecoder({ maxDataLength: MAX_UNIT, maxBufferSize: 2 * MAX_UNIT })
    let queue = Promise.resolve()
    stream.addEventListener('message', evt => {
      let units: Uint8Array[]
      try {
        units = [...decoder.decode(evt.data)].map(u => u.subarray())
      } catch (err: unknown) {
        stream.abort(err as Error)
        return
      }
      for (const u of units) {
        queue = queue.then(async () => {
          // Layer-2 stopped while this stream was open: its ledger is closed, so stop answering.
          const handler = this.handler
          if (handler === undefined) {
            stream.abort(new Error('not serving channels'))
            return
          }
          let id = 0
          let response: ChannelResponse
          try {
            const req = decodeAs<{ id: number, body?: string } & Record<string, unknown>>(ChannelRequestType, u)
            id = req.id
            if (req.body === undefined) throw new ChannelError('BAD_MESSAGE', 'empty request')
            response = await handler(peer, { [req.body]: req[req.body] } as ChannelRequest)
          } catch (err: unknown) {
            response = { error: err instanceof ChannelError ? { code: err.code, message: err.message } : { code: 'BAD_MESSAGE', message: 'request could not be processed' } }
          }
          if (stream.writeStatus === 'writable') await sendUnit(stream, unit(ChannelResponseType, { id, ...response }))
        }).catch((err: unknown) => {
          this.log.error('channel stream from %s failed: %s', peer, (err as Error).message)
          stream.abort(new Error('channel stream failed'))
        })
      }
    })
  }
}

/** Registers the channel stream among a node's libp2p services: `services: { [CHANNEL_SERVICE]: channelStream() }`. */
export function channelStream (init: ChannelStreamInit = {}): (components: ChannelStreamComponents) => ChannelStream {
  return components => new ChannelStream(components, init)
}

/** The client's side: one stream to one provider, reopened when it breaks (made by ChannelStream.link). */
export class ChannelLink {
  private readonly components: ChannelStreamComponents
  private readonly peerId: string
  private readonly addresses: string[]
  private stream?: Stream
  private opening?: Promise<Stream>
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (r: ChannelResponse) => void, reject: (e: Error) => void }>()

  constructor (components: ChannelStreamComponents, peerId: string, addresses: string[]) {
    this.components = components
    this.peerId = peerId
    this.addresses = addresses
  }

  /** Sends a request; resolves with the response, or throws ChannelError (the provider's, or PEER_UNREACHABLE). */
  async request (req: ChannelRequest, timeoutMs = 15_000): Promise<ChannelResponse> {
    const stream = await this.open()
    const id = this.nextId++
    const answer = new Promise<ChannelResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new ChannelError('PEER_UNREACHABLE', `no answer from ${this.peerId} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, {
        resolve: r => { clearTimeout(timer); resolve(r) },
        reject: e => { clearTimeout(timer); reject(e) }
      })
    })
    try {
      await sendUnit(stream, unit(ChannelRequestType, { id, ...req }))
    } catch (err: unknown) {
      // The provider closed the stream under us (not serving channels, going away).
      this.pending.get(id)?.reject(new ChannelError('PEER_UNREACHABLE', `cannot send to ${this.peerId}: ${(err as Error).message}`))
      this.pending.delete(id)
    }
    const r = await answer
    if ('error' in r) throw new ChannelError(r.error.code as ChannelErrorCode, r.error.message, true)
    return r
  }

  private async open (): Promise<Stream> {
    if (this.stream !== undefined && this.stream.status === 'open') return this.stream
    this.opening ??= this.dial().finally(() => { this.opening = undefined })
    return await this.opening
  }

  private async dial (): Promise<Stream> {
    const peer = peerIdFromString(this.peerId)
    let stream: Stream
    try {
      if (this.components.connectionManager.getConnections(peer).length === 0 && this.addresses.length > 0) {
        await this.components.peerStore.merge(peer, { multiaddrs: this.addresses.map(a => multiaddr(a)) })
      }
      stream = await this.components.connectionManager.openStream(peer, CHANNEL_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    } catch (err: unknown) {
      throw new ChannelError('PEER_UNREACHABLE', `cannot reach provider ${this.peerId}: ${(err as Error).message}`)
    }
    const decoder = new LengthPrefixedDecoder({ maxDataLength: MAX_UNIT, maxBufferSize: 2 * MAX_UNIT })
    stream.addEventListener('message', evt => {
      try {
        for (const u of decoder.decode(evt.data)) {
          const r = decodeAs<{ id: number, body?: string } & Record<string, unknown>>(ChannelResponseType, u.subarray())
          const waiter = this.pending.get(r.id)
          if (waiter === undefined || r.body === undefined) continue
          this.pending.delete(r.id)
          waiter.resolve({ [r.body]: r[r.body] } as ChannelResponse)
        }
      } catch (err: unknown) {
        stream.abort(err as Error)
      }
    })
    stream.addEventListener('close', () => {
      if (this.stream === stream) this.stream = undefined
      for (const [id, w] of this.pending) {
        this.pending.delete(id)
        w.reject(new ChannelError('PEER_UNREACHABLE', `stream to ${this.peerId} closed`))
      }
    })
    this.stream = stream
    return stream
  }

  close (): void {
    this.stream?.abort(new Error('closing'))
  }
}
