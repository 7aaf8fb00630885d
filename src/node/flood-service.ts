/**
 * The libp2p side of the flood router (DESIGN §4): every connected peer that speaks
 * `/tmsg/flood/1.0.0` — known from identify, or because it opened such a stream — is a
 * neighbour. We send on one long-lived outbound stream per neighbour and read every inbound
 * stream it opens; each unit is an unsigned-varint length + Frame.
 */
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { serviceDependencies } from '@libp2p/interface'
import type { ComponentLogger, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { FLOOD_PROTOCOL } from '../flood/constants.ts'
import type { FloodRouter, NeighbourLink } from '../flood/router.ts'
import { MAX_FRAME_BYTES } from '../wire/constants.ts'

export interface FloodServiceComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

export interface FloodServiceInit {
  router: FloodRouter
  /** Inbound flood streams accepted per connection. @default 4 */
  maxInboundStreams?: number
  /**
   * True while this node is running late (src/node/loop-lag.ts). Inbound streams are then
   * paused — yamux stops opening its window, so senders wait or drop by their own queue rules —
   * and resumed once it has caught up, so one event-loop turn never takes on every socket's
   * backlog at once. @default never
   */
  lagging?: () => boolean
}

export class FloodService implements Startable {
  readonly [Symbol.toStringTag] = 'tmsg:flood'
  readonly [serviceDependencies] = ['@libp2p/identify']
  private readonly components: FloodServiceComponents
  private readonly router: FloodRouter
  private readonly log: Logger
  private readonly maxInboundStreams: number
  private topologyId?: string
  /** Peers whose outbound stream is being opened, so concurrent triggers open only one. */
  private readonly opening = new Set<string>()
  private readonly outbound = new Map<string, Stream>()
  /** Outbound streams reopened per connection: a peer that keeps resetting them is left alone. */
  private readonly reopened = new WeakMap<Connection, number>()
  private readonly lagging: () => boolean
  /** Inbound streams paused while the node catches up, and the timer that resumes them. */
  private readonly paused = new Set<Stream>()
  private resumeTimer?: ReturnType<typeof setInterval>
  /** True while a paused stream's buffered data is being handed over (resumeAll). */
  private resuming = false
  private started = false

  constructor (components: FloodServiceComponents, init: FloodServiceInit) {
    this.components = components
    this.router = init.router
    this.log = components.logger.forComponent('tmsg:flood')
    this.maxInboundStreams = init.maxInboundStreams ?? 4
    this.lagging = init.lagging ?? (() => false)
  }

  async start (): Promise<void> {
    this.started = true
    await this.components.registrar.handle(FLOOD_PROTOCOL, (stream, connection) => { this.onInbound(stream, connection) }, {
      maxInboundStreams: this.maxInboundStreams,
      maxOutboundStreams: 2
    })
    this.topologyId = await this.components.registrar.register(FLOOD_PROTOCOL, {
      onConnect: (peerId, connection) => { this.ensureNeighbour(peerId, connection) },
      onDisconnect: (peerId) => { this.router.removeNeighbour(peerId.toString()) }
    })
  }

  async stop (): Promise<void> {
    this.started = false
    if (this.topologyId !== undefined) this.components.registrar.unregister(this.topologyId)
    await this.components.registrar.unhandle(FLOOD_PROTOCOL)
    for (const [peer, stream] of this.outbound) {
      this.router.removeNeighbour(peer)
      stream.abort(new Error('node stopping'))
    }
    this.outbound.clear()
    clearInterval(this.resumeTimer)
    this.resumeTimer = undefined
    this.paused.clear()
  }

  private onInbound (stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer.toString()
    if (this.router.isBanned(peer)) {
      stream.abort(new Error('banned'))
      return
    }
    this.ensureNeighbour(connection.remotePeer, connection)
    // The buffer holds at most one unit plus whatever else the read that completed it carried.
    const decoder = new LengthPrefixedDecoder({ maxDataLength: MAX_FRAME_BYTES, maxBufferSize: 2 * MAX_FRAME_BYTES + 16 })
    stream.addEventListener('message', (evt) => {
      try {
        for (const unit of decoder.decode(evt.data)) this.router.receiveUnit(peer, unit.subarray())
      } catch (err: unknown) {
        // A bad length prefix leaves no way to find the next unit: count it and drop the stream.
        this.log('bad unit from %s - %e', peer, err)
        this.router.receiveUnit(peer, INVALID_UNIT)
        stream.abort(err as Error)
        return
      }
      // Not while resumeAll hands over what the stream buffered: it pauses after, if need be.
      if (!this.resuming && stream.readStatus === 'readable' && this.lagging()) this.pause(stream)
    })
    stream.addEventListener('close', () => { this.paused.delete(stream) })
  }

  private pause (stream: Stream): void {
    stream.pause()
    this.paused.add(stream)
    this.resumeTimer ??= setInterval(() => { this.resumeAll() }, RESUME_CHECK_MS)
  }

  /**
   * Once the node has caught up, resumes the paused streams one by one, and pauses again those
   * left once it is late again. `resume()` hands the stream's buffered data to its listener
   * first and opens the yamux window after, so a pause from inside that listener would be
   * undone at once: the stream would read 'paused' with its window open, buffering all the
   * sender has (up to libp2p's 4 MiB, then an abort), and no timer left to resume it.
   */
  private resumeAll (): void {
    if (this.lagging()) return
    const streams = [...this.paused]
    this.paused.clear()
    clearInterval(this.resumeTimer)
    this.resumeTimer = undefined
    for (const s of streams) {
      if (s.readStatus !== 'paused') continue
      if (this.lagging()) {
        this.pause(s)
        continue
      }
      this.resuming = true
      try {
        s.resume()
      } finally {
        this.resuming = false
      }
      // (read again: resume() changed it, which the narrowing above cannot know)
      if (readStatus(s) === 'readable' && this.lagging()) this.pause(s)
    }
  }

  /** Makes `peerId` a neighbour with an outbound stream, unless it already is one. */
  private ensureNeighbour (peerId: PeerId, connection: Connection): void {
    const peer = peerId.toString()
    if (!this.started || this.outbound.has(peer) || this.opening.has(peer) || this.router.isBanned(peer)) return
    this.router.addNeighbour(peer)
    this.opening.add(peer)
    this.openOutbound(peer, connection)
      .catch((err: unknown) => {
        this.log('no flood stream to %s - %e', peer, err)
        this.router.removeNeighbour(peer)
      })
      .finally(() => this.opening.delete(peer))
  }

  private async openOutbound (peer: string, connection: Connection): Promise<void> {
    const stream = await connection.newStream(FLOOD_PROTOCOL)
    if (!this.started) {
      stream.abort(new Error('node stopping'))
      return
    }
    const link: NeighbourLink = {
      write: (unit) => stream.send(unit),
      disconnect: (reason) => {
        this.log('disconnecting %s: %s', peer, reason)
        this.components.connectionManager.closeConnections(connection.remotePeer).catch(() => {})
      }
    }
    this.outbound.set(peer, stream)
    stream.addEventListener('drain', () => { this.router.drained(peer) })
    stream.addEventListener('close', () => {
      if (this.outbound.get(peer) === stream) this.outbound.delete(peer)
      this.router.removeNeighbour(peer, link)
      // The stream died but the connection lives (remote restarted its service, say):
      // become neighbours again over the same connection. Not at once: when the whole
      // connection is going down its streams close first while it still reads 'open', and a
      // stream opened then makes yamux write to the closed transport from a microtask — an
      // uncaught exception that would kill the node (js-libp2p#2505 / js-libp2p-yamux#91).
      const reopen = setTimeout(() => {
        const reopened = this.reopened.get(connection) ?? 0
        if (this.started && connection.status === 'open' && reopened < MAX_REOPENS) {
          this.reopened.set(connection, reopened + 1)
          this.ensureNeighbour(connection.remotePeer, connection)
        }
      }, REOPEN_DELAY_MS)
      reopen.unref()
    })
    this.router.attachLink(peer, link)
  }
}

const readStatus = (s: Stream): Stream['readStatus'] => s.readStatus

const MAX_REOPENS = 3
/** How often paused inbound streams check whether the node has caught up. */
const RESUME_CHECK_MS = 100
/** Long enough for a closing connection to say so; short next to a redial. */
const REOPEN_DELAY_MS = 250

/** A unit that can never decode: used to charge a peer for a broken length prefix. */
const INVALID_UNIT = new Uint8Array([0x0a, 0xff])

export function floodService (init: FloodServiceInit): (components: FloodServiceComponents) => FloodService {
  return (components) => new FloodService(components, init)
}
