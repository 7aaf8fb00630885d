/**
 * Store and forward over libp2p (DESIGN §10): `/tmsg/history/1.0.0`. The asker opens a stream,
 * writes one length-prefixed HistoryRequest and closes its side; the answerer writes the stored
 * originals as length-prefixed Frames, oldest first, and closes. A node asks every neighbour
 * that speaks the protocol when it connects (so also at start), and all of them when it
 * subscribes to a new target, for each target since the newest message it holds for it.
 *
 * The rules for answers live in the router (`ingestHistory`: validated like flooded messages
 * but for the time window, delivered once, never forwarded, junk charged); this file only
 * checks an answer against its request and keeps the transport's limits.
 */
import { LengthPrefixedDecoder } from '@libp2p/utils'
import * as lp from 'it-length-prefixed'
import { serviceDependencies } from '@libp2p/interface'
import type { ComponentLogger, Connection, Logger, Startable, Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import { LRUCache } from 'lru-cache'
import type { Router } from '../routing.ts'
import { TokenBucket } from '../flood/token-bucket.ts'
import { decodeFrame, encodeFrameUnit, frameEntrySize } from '../wire/frame.ts'
import { decodeHistoryRequest, encodeHistoryRequest, HISTORY_MAX_LIMIT, HISTORY_MAX_REQUEST_BYTES, HISTORY_MAX_TARGETS } from '../wire/history.ts'
import type { HistoryRequest } from '../wire/history.ts'
import { DEFAULT_MAX_PAYLOAD, MAX_FRAME_BYTES, MAX_FRAME_MSGS, TIMESTAMP_WINDOW_MS } from '../wire/constants.ts'
import { idKey } from '../wire/tmsg.ts'
import type { TMsg } from '../wire/tmsg.ts'

export const HISTORY_PROTOCOL = '/tmsg/history/1.0.0'
/** Bytes of originals one answer carries at most: 1000 chat lines fit ~8 times over. */
export const HISTORY_MAX_ANSWER_BYTES = 2 * 1024 * 1024
/** An answer may pass its byte budget by the one message that crossed it (the answerer always sends one). */
const ANSWER_BYTES_SLACK = DEFAULT_MAX_PAYLOAD + 1024
/** Bytes per Frame the answerer writes, as the flood does (smaller units start the reader sooner). */
const ANSWER_UNIT_BYTES = 128 * 1024
/**
 * A node asks for what came after the newest message it holds, less this: messages from
 * other senders whose clocks run a little behind arrive out of timestamp order.
 */
export const HISTORY_SINCE_SLACK_MS = 60_000
/** Pages asked per target group in one sync: 50,000 messages, twice a full day of a busy room. */
export const HISTORY_MAX_PAGES = 50
/** Requests one peer may make: a burst covers a node with many rooms paging in a day. */
export const HISTORY_PEER_RATE = { perSecond: 4, burst: 60 }
/** Requests all peers together may make: each answer is an SQLite read of up to 2 MiB. */
export const HISTORY_TOTAL_RATE = { perSecond: 40, burst: 200 }
/** How far back a node asks, and replays what it kept, for a target it holds nothing of (DESIGN §10: a day). */
export const DEFAULT_HISTORY_MAX_AGE_MS = 24 * 60 * 60 * 1000
/** A request or answer that takes longer than this is abandoned. */
const HISTORY_TIMEOUT_MS = 30_000
/**
 * A sync holds the queue while pages keep coming, at most this long between two of them and
 * HISTORY_TURN_MAX_MS in all; then the next neighbour is asked alongside it. One that answers
 * slowly or not at all (30 s per page, for up to 50 pages) must not keep a node from the
 * history its other neighbours hold; an honest day of history (10,000 lines in ~14 s on a
 * loaded machine) keeps its turn, so the next neighbour is not asked for the same lines.
 */
export const HISTORY_TURN_IDLE_MS = 5_000
export const HISTORY_TURN_MAX_MS = 30_000

/** Where the signed originals are kept (the node's store; DESIGN §10). */
export interface HistoryBackend {
  /** Keeps the signed original of a message seen (own, delivered, relayed); batched by the store. */
  keep: (msg: TMsg, receivedAt: number) => void
  /** Whether a message is kept already: delivered before, perhaps before a restart. */
  has: (msgId: Uint8Array) => boolean
  /** The newest timestamp kept for a target. */
  newest: (target: Uint8Array) => number | undefined
  /** Ids of the originals with a timestamp at or after `since`, newest first, at most `limit`. */
  recentIds?: (since: number, limit: number) => Uint8Array[]
  /** Encoded originals for `targets` at or after `since`, oldest first, at most `limit` and about `maxBytes`. */
  since: (targets: readonly Uint8Array[], since: number, limit: number, maxBytes: number) => Uint8Array[]
}

export interface HistoryServiceComponents {
  registrar: Registrar
  logger: ComponentLogger
}

export interface HistoryServiceInit {
  backend: HistoryBackend
  /** The node's router (late-bound: it is built after libp2p). */
  router: () => Router | undefined
  /** Targets to ask for when a neighbour connects: the node's subscriptions. */
  targets: () => Uint8Array[]
  /** The earliest time worth asking for a target, when later than the window (Node.historyFrom). */
  from?: (target: Uint8Array) => number | undefined
  /** @default Date.now */
  now?: () => number
  /** How far back a node asks for a target it holds nothing of. @default 24 h */
  maxAgeMs?: number
  peerRate?: { perSecond: number, burst: number }
  totalRate?: { perSecond: number, burst: number }
  /** How long a request, or an answer, may take in all. @default 30 s */
  timeoutMs?: number
}

/** What one sync with one peer brought. */
export interface HistorySyncResult {
  requests: number
  /** New messages taken from the answers. */
  accepted: number
  /** Messages already held. */
  duplicates: number
  /** Junk charged to the peer. */
  invalid: number
  bytes: number
}

export interface HistoryStats {
  requestsServed: number
  /** Requests refused by the rate limits, or malformed. */
  requestsRefused: number
  messagesServed: number
  bytesServed: number
  syncs: number
  /** Syncs finished (answered, failed or cut short). */
  syncsDone: number
  messagesReceived: number
  bytesReceived: number
}

/**
 * One request per distinct `since`: targets held up to different times are asked separately
 * so nobody is sent what it holds already. Targets never seen are asked for the whole window,
 * or from `from(target)` when later (a nick taken a minute ago: not its last holder's messages).
 */
export function planRequests (targets: readonly Uint8Array[], newest: (t: Uint8Array) => number | undefined, now: number, maxAgeMs: number, from: (t: Uint8Array) => number | undefined = () => undefined): HistoryRequest[] {
  const window = Math.max(0, now - maxAgeMs)
  const bySince = new Map<number, Uint8Array[]>()
  const unique = new Map<string, Uint8Array>()
  for (const t of targets) if (t.length === 16) unique.set(idKey(t), t)
  for (const t of unique.values()) {
    const n = newest(t)
    const floor = Math.max(window, from(t) ?? 0)
    const since = n === undefined ? floor : Math.max(floor, n - HISTORY_SINCE_SLACK_MS)
    const group = bySince.get(since) ?? []
    group.push(t)
    bySince.set(since, group)
  }
  const out: HistoryRequest[] = []
  for (const [since, ts] of [...bySince].sort((a, b) => a[0] - b[0])) {
    for (let i = 0; i < ts.length; i += HISTORY_MAX_TARGETS) out.push({ targets: ts.slice(i, i + HISTORY_MAX_TARGETS), since, limit: HISTORY_MAX_LIMIT })
  }
  return out
}

/**
 * The check of an answer's messages against the request they answer: a target asked, a
 * timestamp inside the window asked (and not from the future), each id once. Stateful:
 * a second copy of an id in the same answer is refused.
 */
export function answerCheck (req: HistoryRequest, now: number): (msg: TMsg) => boolean {
  const asked = new Set(req.targets.map(idKey))
  const seen = new Set<string>()
  return (msg) => {
    if (!asked.has(idKey(msg.target))) return false
    if (!(msg.timestamp >= req.since && msg.timestamp <= now + TIMESTAMP_WINDOW_MS)) return false
    const key = idKey(msg.msgId)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  }
}

/** Budgets for answering: per peer and for all peers together, on an injected clock. */
export class HistoryRequestLimiter {
  private readonly peers: LRUCache<string, TokenBucket>
  private readonly total: TokenBucket
  private readonly peerRate: { perSecond: number, burst: number }
  private readonly now: () => number
  /** Requests refused because a budget was spent. */
  refused = 0

  constructor (peerRate = HISTORY_PEER_RATE, totalRate = HISTORY_TOTAL_RATE, now: () => number = Date.now) {
    this.now = now
    this.peerRate = peerRate
    this.total = new TokenBucket(totalRate.perSecond, totalRate.burst, now())
    // Peers forgotten beyond this start with a full bucket: the total budget still holds.
    this.peers = new LRUCache({ max: 1024 })
  }

  allow (peer: string): boolean {
    const now = this.now()
    let bucket = this.peers.get(peer)
    if (bucket === undefined) {
      bucket = new TokenBucket(this.peerRate.perSecond, this.peerRate.burst, now)
      this.peers.set(peer, bucket)
    }
    if (bucket.take(now) && this.total.take(now)) return true
    this.refused++
    return false
  }
}

/** An answer broke the protocol's bounds (more messages than asked, or bytes); nothing of it is taken. */
export class HistoryAnswerError extends Error {
  static name = 'HistoryAnswerError'
  override name = 'HistoryAnswerError'
}

export class HistoryService implements Startable {
  readonly [Symbol.toStringTag] = 'tmsg:history'
  readonly [serviceDependencies] = ['@libp2p/identify']
  private readonly components: HistoryServiceComponents
  private readonly init: HistoryServiceInit
  private readonly log: Logger
  private readonly now: () => number
  private readonly maxAgeMs: number
  private readonly timeoutMs: number
  private readonly limiter: HistoryRequestLimiter
  /**
   * Syncs run one after another: the second neighbour is asked only for what the first did
   * not bring, instead of every neighbour sending the same day of history at once. A slow one
   * loses its turn (HISTORY_TURN_IDLE_MS, HISTORY_TURN_MAX_MS).
   */
  private queue: Promise<unknown> = Promise.resolve()
  /** Neighbours that speak the protocol, with the connection to ask them on. */
  private readonly neighbours = new Map<string, Connection>()
  private topologyId?: string
  private started = false
  /** Syncs running, so a test or benchmark can wait for them. */
  private readonly running = new Set<Promise<HistorySyncResult>>()
  readonly counters: HistoryStats = { requestsServed: 0, requestsRefused: 0, messagesServed: 0, bytesServed: 0, syncs: 0, syncsDone: 0, messagesReceived: 0, bytesReceived: 0 }

  constructor (components: HistoryServiceComponents, init: HistoryServiceInit) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('tmsg:history')
    this.now = init.now ?? Date.now
    this.maxAgeMs = init.maxAgeMs ?? DEFAULT_HISTORY_MAX_AGE_MS
    this.timeoutMs = init.timeoutMs ?? HISTORY_TIMEOUT_MS
    this.limiter = new HistoryRequestLimiter(init.peerRate, init.totalRate, this.now)
  }

  async start (): Promise<void> {
    this.started = true
    await this.components.registrar.handle(HISTORY_PROTOCOL, (stream, connection) => { this.onRequest(stream, connection) }, {
      maxInboundStreams: 2,
      maxOutboundStreams: 2
    })
    this.topologyId = await this.components.registrar.register(HISTORY_PROTOCOL, {
      onConnect: (peerId, connection) => {
        this.neighbours.set(peerId.toString(), connection)
        this.enqueue(peerId.toString(), connection, () => this.init.targets())
      },
      onDisconnect: (peerId) => { this.neighbours.delete(peerId.toString()) }
    })
  }

  async stop (): Promise<void> {
    this.started = false
    if (this.topologyId !== undefined) this.components.registrar.unregister(this.topologyId)
    await this.components.registrar.unhandle(HISTORY_PROTOCOL)
    this.neighbours.clear()
  }

  /** Asks every neighbour for the history of targets just subscribed to. */
  requestFromAll (targets: Uint8Array[]): void {
    if (!this.started) return
    for (const [peer, connection] of this.neighbours) this.enqueue(peer, connection, () => targets)
  }

  /** Resolves when every sync started so far has finished (tests, benchmarks). */
  async idle (): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running])
  }

  /** Runs a sync after those queued before it; what to ask is decided when its turn comes. */
  private enqueue (peer: string, connection: Connection, targets: () => Uint8Array[]): void {
    let progress = (): void => {}
    const p = this.queue.then(async () => await this.sync(peer, connection, targets(), () => { progress() }))
    this.queue = this.queue.then(async () => { await new Promise<void>(resolve => {
      let idle: ReturnType<typeof setTimeout> | undefined
      const done = (): void => { clearTimeout(idle); clearTimeout(cap); resolve() }
      const cap = setTimeout(done, HISTORY_TURN_MAX_MS)
      cap.unref()
      progress = () => {
        clearTimeout(idle)
        idle = setTimeout(done, HISTORY_TURN_IDLE_MS)
        idle.unref()
      }
      progress()
      p.catch(() => {}).finally(done)
    }) })
    this.track(p)
  }

  private track (p: Promise<HistorySyncResult>): void {
    this.running.add(p)
    p.catch(() => {}).finally(() => {
      this.running.delete(p)
      this.counters.syncsDone++
    })
  }

  // ---- answering --------------------------------------------------------------------------

  private onRequest (stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer.toString()
    const router = this.init.router()
    if (router === undefined || router.isBanned(peer) || !this.limiter.allow(peer)) {
      this.counters.requestsRefused++
      stream.abort(new Error('history request refused'))
      return
    }
    this.answer(stream, peer).catch((err: unknown) => {
      this.log('history answer to %s failed - %e', peer, err)
      stream.abort(err as Error)
    })
  }

  private async answer (stream: Stream, peer: string): Promise<void> {
    const body = await readRequest(stream, this.timeoutMs)
    let req: HistoryRequest
    try {
      req = decodeHistoryRequest(body)
    } catch (err: unknown) {
      this.counters.requestsRefused++
      throw err
    }
    // One deadline for the whole answer: a timeout per write let an asker that reads just fast
    // enough hold the rows read for it (up to 2 MiB) for minutes, on every stream it may open.
    const signal = AbortSignal.timeout(this.timeoutMs)
    const rows = this.init.backend.since(req.targets, req.since, Math.min(req.limit, HISTORY_MAX_LIMIT), HISTORY_MAX_ANSWER_BYTES)
    this.counters.requestsServed++
    this.counters.messagesServed += rows.length
    let batch: Uint8Array[] = []
    let batchBytes = 0
    const write = async (): Promise<void> => {
      const unit = encodeFrameUnit(batch)
      this.counters.bytesServed += unit.length
      batch = []
      batchBytes = 0
      if (!stream.send(unit)) await stream.onDrain({ signal })
    }
    for (const r of rows) {
      const size = frameEntrySize(r.length)
      if (batch.length > 0 && (batchBytes + size > ANSWER_UNIT_BYTES || batch.length >= MAX_FRAME_MSGS)) await write()
      batch.push(r)
      batchBytes += size
    }
    if (batch.length > 0) await write()
    this.log('answered %s: %d messages', peer, rows.length)
    await stream.close({ signal })
  }

  // ---- asking -----------------------------------------------------------------------------

  /** Asks one neighbour for `targets`, page by page, and hands what comes to the router. */
  async sync (peer: string, connection: Connection, targets: Uint8Array[], onPage?: () => void): Promise<HistorySyncResult> {
    const result: HistorySyncResult = { requests: 0, accepted: 0, duplicates: 0, invalid: 0, bytes: 0 }
    if (targets.length === 0) return result
    this.counters.syncs++
    const backend = this.init.backend
    for (const first of planRequests(targets, t => backend.newest(t), this.now(), this.maxAgeMs, this.init.from)) {
      let req = first
      for (let page = 0; page < HISTORY_MAX_PAGES && this.started && connection.status === 'open'; page++) {
        const router = this.init.router()
        if (router === undefined || router.isBanned(peer)) return result
        result.requests++
        let answer: Answer
        try {
          answer = await this.ask(connection, req)
        } catch (err: unknown) {
          this.log('history request to %s failed - %e', peer, err)
          return result
        }
        onPage?.()
        result.bytes += answer.bytes
        this.counters.bytesReceived += answer.bytes
        if (answer.oversized) {
          // More than asked for: none of it is taken, all of it is charged.
          const r = router.ingestHistory(peer, answer.msgs, () => false, answer.malformed)
          result.invalid += r.invalid
          return result
        }
        const check = answerCheck(req, this.now())
        // What is held already (delivered before a restart, say) is not delivered again; a
        // repeated id still goes to the router, whose check refuses and charges it.
        const inAnswer = new Set<string>()
        const fresh: TMsg[] = []
        for (const m of answer.msgs) {
          const key = idKey(m.msgId)
          const repeated = inAnswer.has(key)
          inAnswer.add(key)
          if (!repeated && m.msgId.length === 16 && backend.has(m.msgId)) {
            if (check(m)) { result.duplicates++; continue }
          }
          fresh.push(m)
        }
        const r = router.ingestHistory(peer, fresh, check, answer.malformed)
        this.counters.messagesReceived += r.accepted
        result.accepted += r.accepted
        result.duplicates += r.duplicates
        result.invalid += r.invalid
        // A full page means there may be more: ask again from where it ended. Ids at that
        // very timestamp come again and are skipped as held; a page with nothing new ends it.
        const full = answer.msgs.length >= req.limit || answer.bytes >= HISTORY_MAX_ANSWER_BYTES - ANSWER_BYTES_SLACK
        if (!full || r.accepted === 0 || r.invalid > 0) break
        const last = answer.msgs.reduce((t, m) => Math.max(t, m.timestamp), req.since)
        req = { ...req, since: last }
      }
    }
    if (result.accepted > 0 || result.invalid > 0) this.log('history from %s: %d new, %d held, %d junk', peer, result.accepted, result.duplicates, result.invalid)
    return result
  }

  private async ask (connection: Connection, req: HistoryRequest): Promise<Answer> {
    const signal = AbortSignal.timeout(this.timeoutMs)
    const stream = await connection.newStream(HISTORY_PROTOCOL, { signal })
    const onAbort = (): void => { stream.abort(new Error('history answer timed out')) }
    signal.addEventListener('abort', onAbort, { once: true })
    const answer: Answer = { msgs: [], malformed: 0, bytes: 0, oversized: false }
    const decoder = new LengthPrefixedDecoder({ maxDataLength: MAX_FRAME_BYTES, maxBufferSize: 2 * MAX_FRAME_BYTES + 16 })
    try {
      if (!stream.send(lp.encode.single(encodeHistoryRequest(req)).subarray())) await stream.onDrain({ signal })
      await stream.close({ signal })
      // The answer ends when the answerer closes its side: the iteration ends with it.
      for await (const chunk of stream) {
        try {
          for (const unit of decoder.decode(chunk)) {
            answer.bytes += unit.byteLength
            const frame = decodeFrame(unit.subarray(), MAX_FRAME_MSGS)
            for (const m of frame.msgs) answer.msgs.push(m)
            answer.malformed += frame.malformed
          }
        } catch {
          // A broken length prefix or frame: the rest cannot be trusted to line up.
          answer.malformed++
          answer.oversized = true
        }
        if (answer.msgs.length + answer.malformed > req.limit || answer.bytes > HISTORY_MAX_ANSWER_BYTES + ANSWER_BYTES_SLACK) answer.oversized = true
        if (answer.oversized) {
          stream.abort(new HistoryAnswerError('history answer larger than asked, or malformed'))
          break
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
    if (signal.aborted && !answer.oversized) throw new Error('history answer timed out')
    return answer
  }

}

interface Answer {
  msgs: TMsg[]
  malformed: number
  bytes: number
  /** Past the count or byte bounds, or undecodable: taken as junk. */
  oversized: boolean
}

/** Reads the one request unit of a history stream. */
async function readRequest (stream: Stream, timeoutMs: number): Promise<Uint8Array> {
  const decoder = new LengthPrefixedDecoder({ maxDataLength: HISTORY_MAX_REQUEST_BYTES, maxBufferSize: 2 * HISTORY_MAX_REQUEST_BYTES })
  return await new Promise<Uint8Array>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('no history request in time')) }, timeoutMs)
    const settle = (fn: () => void): void => { clearTimeout(timer); fn() }
    stream.addEventListener('message', evt => {
      try {
        for (const u of decoder.decode(evt.data)) {
          settle(() => { resolve(u.subarray()) })
          return
        }
      } catch (err: unknown) {
        settle(() => { reject(err instanceof Error ? err : new Error(String(err))) })
      }
    })
    stream.addEventListener('close', () => { settle(() => { reject(new Error('stream closed before the request')) }) })
    stream.addEventListener('remoteCloseWrite', () => { settle(() => { reject(new Error('no request before the end of the stream')) }) })
  })
}

export function historyService (init: HistoryServiceInit): (components: HistoryServiceComponents) => HistoryService {
  return (components) => new HistoryService(components, init)
}
