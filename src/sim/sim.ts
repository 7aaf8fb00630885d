/**
 * The simulator's engine: real routers (src/flood) on a virtual clock. The model — what a
 * tick is, how links and queues behave, what is left out — is described in ./main.ts.
 */
import { PrivateKey } from '@bsv/sdk'
import { FloodRouter, type NeighbourLink, type SetTimer } from '../flood/router.ts'
import { PlumtreeRouter } from '../flood/plumtree.ts'
import { buildTMsg, DEFAULT_TTL, idBytes, idKey, Kind } from '../wire/index.ts'
import { protobuf } from '../wire/proto.ts'
import type { Signer, TMsg } from '../wire/index.ts'
import { verifySignature } from '../identity.ts'
import type { RouterComponents } from '../routing.ts'
import { Prng } from './prng.ts'

/** Virtual time 0 is this wall-clock instant, so message timestamps pass the ±10 min check. */
export const SIM_EPOCH = 1_750_000_000_000

export interface SimOptions {
  nodes: number
  degree: number
  router: string
  msgs: number
  /** Fraction of nodes stopped abruptly when half the messages have been published. */
  fail: number
  /** Probability that a unit (one frame) is lost on a link. */
  loss: number
  /** One-way latency per link in ms: fixed, or drawn per link uniformly from [lo, hi]. */
  latency: { lo: number, hi: number }
  /** Per link and direction, in Mbit/s (Infinity: no serialisation delay). */
  bandwidthMbps: number
  seed: number
  /** Virtual ms between two publishes. */
  intervalMs: number
  payloadBytes: number
  /** TTL each message is published with (DESIGN §5; the node's default is 7). */
  ttl: number
  /** Neighbours of a failed node are told it is gone this long after it fails (Infinity: never). */
  detectMs: number
  /** An explicit graph (undirected edges) instead of the random one. */
  edges?: Array<[number, number]>
}

export const DEFAULTS: SimOptions = {
  nodes: 1000,
  degree: 6,
  router: 'flood',
  msgs: 100,
  fail: 0,
  loss: 0,
  latency: { lo: 10, hi: 100 },
  bandwidthMbps: 100,
  seed: 1,
  intervalMs: 100,
  payloadBytes: 100,
  ttl: DEFAULT_TTL,
  detectMs: Infinity
}

export interface SimResult {
  router: string
  nodes: number
  meanDegree: number
  msgs: number
  fail: number
  loss: number
  seed: number
  ttl: number
  /** Deliveries at nodes that never failed / (messages × (those nodes − origin)). */
  deliveryRatio: number
  deliveries: number
  /** Full TMsg copies written to links per delivery (all nodes). */
  copiesPerDelivery: number
  /** Relative message redundancy (Plumtree paper): copies / deliveries − 1. */
  rmr: number
  /** Frame entries that are not TMsgs (router control fields), per delivery. */
  controlPerDelivery: number
  ldhMax: number
  ldhMean: number
  latencyP50: number
  latencyP99: number
  bytesPerNode: number
  bytesPerNodeMax: number
  unitsLost: number
  seenEntriesPerNode: number
  /** Estimated bytes per node of the seen cache (preallocated slots + entries). */
  seenCacheBytesPerNode: number
  virtualMs: number
  events: number
}

/** What the simulator needs of a router: the RouterComponents/NeighbourLink seam. */
export interface SimRouter {
  addNeighbour: (peerId: string, link?: NeighbourLink) => void
  removeNeighbour: (peerId: string) => void
  receiveUnit: (peerId: string, body: Uint8Array) => void
  drained: (peerId: string) => void
  publish: (msg: TMsg) => unknown
  stats: () => { seenCacheSize: number }
}

export interface RouterSeams {
  schedule: (fn: () => void) => void
  setTimer: SetTimer
  seenCacheMax: number
}

export type SimRouterFactory = (components: RouterComponents, seams: RouterSeams) => SimRouter

export const ROUTER_FACTORIES: Record<string, SimRouterFactory> = {
  flood: (components, seams) => new FloodRouter(components, {
    schedule: seams.schedule,
    setTimer: seams.setTimer,
    seenCacheMax: seams.seenCacheMax
  }),
  plumtree: (components, seams) => new PlumtreeRouter(components, {
    schedule: seams.schedule,
    setTimer: seams.setTimer,
    seenCacheMax: seams.seenCacheMax,
    retainMax: seams.seenCacheMax
  })
}

// ---- the event queue: a binary heap ordered by (time, insertion order) ------------------

interface Event {
  t: number
  seq: number
  node: number
  fn: (() => void) | undefined
  /** A unit in flight: receiver gets `body` from `from` unless its sender failed before `sentAt`. */
  from: number
  body: Uint8Array | undefined
  sentAt: number
}

class EventQueue {
  private readonly heap: Event[] = []
  private seq = 0

  get size (): number { return this.heap.length }

  push (e: Omit<Event, 'seq'>): Event {
    const ev = e as Event
    ev.seq = this.seq++
    const h = this.heap
    let i = h.length
    h.push(ev)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(ev, h[p]!)) break
      h[i] = h[p]!
      i = p
    }
    h[i] = ev
    return ev
  }

  pop (): Event | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (top === undefined || last === undefined || h.length === 0) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= h.length) break
      const r = l + 1
      const c = r < h.length && before(h[r]!, h[l]!) ? r : l
      if (!before(h[c]!, last)) break
      h[i] = h[c]!
      i = c
    }
    h[i] = last
    return top
  }
}

function before (a: Event, b: Event): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq)
}

// ---- graphs ------------------------------------------------------------------------------

/**
 * A ring (so the graph is connected) plus random edges pairing the remaining stubs, without
 * self-loops or duplicate edges: every node has degree `degree`, give or take a leftover stub.
 */
export function randomGraph (n: number, degree: number, rng: Prng): Array<[number, number]> {
  const adj: Array<Set<number>> = Array.from({ length: n }, () => new Set())
  const edges: Array<[number, number]> = []
  const add = (a: number, b: number): void => { adj[a]!.add(b); adj[b]!.add(a); edges.push([a, b]) }
  if (n < 2) return edges
  if (n === 2) { add(0, 1); return edges }
  for (let i = 0; i < n; i++) add(i, (i + 1) % n)
  const stubs: number[] = []
  for (let i = 0; i < n; i++) for (let k = 2; k < degree; k++) stubs.push(i)
  for (let i = stubs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = stubs[i]!; stubs[i] = stubs[j]!; stubs[j] = t
  }
  // Pair stubs in order; a pair that would be a loop or a repeat is retried against later stubs.
  const open: number[] = []
  for (const s of stubs) {
    let paired = false
    for (let k = open.length - 1; k >= 0 && k >= open.length - 8; k--) {
      const o = open[k]!
      if (o !== s && !adj[s]!.has(o)) {
        add(o, s)
        open.splice(k, 1)
        paired = true
        break
      }
    }
    if (!paired) open.push(s)
  }
  return edges
}

// ---- signing and verifying once per process ----------------------------------------------

/** RFC 6979 signatures (@bsv/sdk) are deterministic, so the same seed gives the same bytes. */
function signer (secret: Uint8Array): Signer {
  const key = PrivateKey.fromHex(Buffer.from(secret).toString('hex'))
  return {
    publicKey: Uint8Array.from(key.toPublicKey().encode(true) as number[]),
    sign: (data) => Uint8Array.from(key.sign(Array.from(data)).toDER() as number[])
  }
}

// Every simulated node verifies what it delivers, but each distinct (id, signature) pair is
// verified for real once per process: 10,000 nodes × 100 messages at ~0.3 ms each would be
// five minutes of CPU spent proving the same thing again. The verdict is the real one.
const verified = new Map<string, boolean>()
function verifyOnce (msg: TMsg): boolean {
  const key = idKey(msg.msgId) + Buffer.from(msg.signature).toString('latin1')
  let ok = verified.get(key)
  if (ok === undefined) {
    ok = verifySignature(msg.sender, idBytes(msg), msg.signature)
    verified.set(key, ok)
  }
  return ok
}

// ---- the run -----------------------------------------------------------------------------

const { Reader } = protobuf

/** Counts the TMsg entries (field 1) and other entries of one length-prefixed Frame unit. */
function countEntries (unit: Uint8Array): { msgs: number, other: number } {
  const r = Reader.create(unit)
  const end = r.uint32() + r.pos
  let msgs = 0
  let other = 0
  while (r.pos < end) {
    const tag = r.uint32()
    if (tag === 0x0a) msgs++
    else other++
    r.skipType(tag & 7)
  }
  return { msgs, other }
}

function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!
}

/** Unsent bytes a link holds before it says "wait for drain", like a stream's high-water mark. */
const LINK_WINDOW_BYTES = 256 * 1024
/**
 * Bytes per seen-cache slot (src/flood/seen-cache.ts): id, value, expiry, hash, serial, two
 * links, and two hash-table cells. Slots grow by doubling from 1,024 up to the cache's max.
 */
const SEEN_SLOT_BYTES = 16 + 4 + 8 + 4 + 4 + 4 + 4 + 8
/** Bytes per id a neighbour brought in: its place in that neighbour's quota list. A rough estimate, not measured per run (that would not be deterministic). */
const SEEN_ENTRY_BYTES = 16

/** Slots a seen cache holding `entries` (at most `max`) has grown to. */
function seenSlots (entries: number, max: number): number {
  let slots = Math.min(max, 1024)
  while (slots < entries && slots < max) slots = Math.min(max, slots * 2)
  return slots
}

export function simulate (opts: SimOptions): SimResult {
  const factory = ROUTER_FACTORIES[opts.router]
  if (factory === undefined) throw new Error(`unknown router '${opts.router}' (have: ${Object.keys(ROUTER_FACTORIES).join(', ')})`)
  const rng = new Prng(opts.seed)
  const n = opts.nodes
  const edges = opts.edges ?? randomGraph(n, opts.degree, rng)
  const q = new EventQueue()
  let now = 0
  const failedAt = new Float64Array(n).fill(Infinity)
  const bytesSent = new Float64Array(n)
  let copies = 0
  let control = 0
  let lost = 0
  const bytesPerMs = opts.bandwidthMbps * 1000 / 8

  // Messages: index by id key; who has delivered each, when, at which hop.
  const byKey = new Map<string, number>()
  const publishedAt: number[] = []
  const origins: number[] = []
  const got: Uint8Array[] = []
  const ldh: number[] = []
  const latencies: number[] = []
  let deliveries = 0

  const routers: SimRouter[] = []
  const neighbours: number[][] = Array.from({ length: n }, () => [])
  for (let i = 0; i < n; i++) {
    const self = i
    const alive = (): boolean => failedAt[self]! > now
    const components: RouterComponents = {
      now: () => SIM_EPOCH + now,
      isSubscribed: () => true,
      deliver: (msg) => {
        const m = byKey.get(idKey(msg.msgId))
        if (m === undefined || !verifyOnce(msg)) return
        if (got[m]![self] === 1) throw new Error(`node ${self} delivered message ${m} twice`)
        got[m]![self] = 1
        deliveries++
        const hop = msg.hops + 1
        if (hop > ldh[m]!) ldh[m] = hop
        latencies.push(now - publishedAt[m]!)
      }
    }
    routers.push(factory(components, {
      // A flush runs at the same virtual instant, after the events already due then.
      schedule: (fn) => { q.push({ t: now, node: self, fn: () => { if (alive()) fn() }, from: -1, body: undefined, sentAt: 0 }) },
      setTimer: (fn, ms) => {
        const ev = q.push({ t: now + ms, node: self, fn: () => { if (alive()) fn() }, from: -1, body: undefined, sentAt: 0 })
        return () => { ev.fn = undefined }
      },
      seenCacheMax: 2 * opts.msgs + 16
    }))
  }

  const connect = (a: number, b: number): void => {
    const latency = opts.latency.lo + (opts.latency.hi - opts.latency.lo) * rng.next()
    let busyUntil = 0 // when this direction finishes serialising what it was given
    let drainPending = false
    const link: NeighbourLink = {
      write: (unit) => {
        const c = countEntries(unit)
        copies += c.msgs
        control += c.other
        bytesSent[a]! += unit.length
        const start = Math.max(now, busyUntil)
        busyUntil = start + (Number.isFinite(bytesPerMs) ? unit.length / bytesPerMs : 0)
        if (rng.next() < opts.loss) {
          lost++
        } else {
          q.push({ t: busyUntil + latency, node: b, fn: undefined, from: a, body: unit, sentAt: busyUntil })
        }
        if ((busyUntil - now) * bytesPerMs <= LINK_WINDOW_BYTES) return true
        if (!drainPending) {
          drainPending = true
          q.push({ t: busyUntil, node: a, fn: () => { drainPending = false; if (failedAt[a]! > now) routers[a]!.drained(String(b)) }, from: -1, body: undefined, sentAt: 0 })
        }
        return false
      },
      disconnect: () => {}
    }
    routers[a]!.addNeighbour(String(b), link)
    neighbours[a]!.push(b)
  }
  for (const [a, b] of edges) {
    connect(a, b)
    connect(b, a)
  }

  // Who fails (chosen up front, stopped halfway) and who publishes (only nodes that never fail).
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = order[i]!; order[i] = order[j]!; order[j] = t
  }
  const failCount = Math.floor(opts.fail * n)
  const failing = order.slice(0, failCount)
  const survivors = order.slice(failCount)
  const keys = new Map<number, Signer>()
  const half = Math.floor(opts.msgs / 2)
  for (let m = 0; m < opts.msgs; m++) {
    const t = m * opts.intervalMs
    if (m === half && failCount > 0) {
      q.push({
        t,
        node: -1,
        fn: () => {
          for (const f of failing) failedAt[f] = now
          if (!Number.isFinite(opts.detectMs)) return
          q.push({
            t: now + opts.detectMs,
            node: -1,
            fn: () => { for (const f of failing) for (const nb of neighbours[f]!) routers[nb]!.removeNeighbour(String(f)) },
            from: -1, body: undefined, sentAt: 0
          })
        },
        from: -1, body: undefined, sentAt: 0
      })
    }
    const origin = survivors[rng.int(survivors.length)]!
    const payload = rng.bytes(opts.payloadBytes)
    const nonce = rng.bytes(16)
    q.push({
      t,
      node: origin,
      fn: () => {
        let s = keys.get(origin)
        if (s === undefined) {
          s = signer(Uint8Array.from(new Prng(opts.seed * 1_000_003 + origin).bytes(32).map((b, k) => k === 0 ? (b & 0x7f) | 1 : b)))
          keys.set(origin, s)
        }
        const msg = buildTMsg({ ttl: opts.ttl, target: TARGET, payload, kind: Kind.DATA, timestamp: SIM_EPOCH + now, nonce, signer: s })
        byKey.set(idKey(msg.msgId), publishedAt.length)
        publishedAt.push(now)
        origins.push(origin)
        const seen = new Uint8Array(n)
        seen[origin] = 1 // the origin has its own message; it is not counted as a delivery
        got.push(seen)
        ldh.push(0)
        routers[origin]!.publish(msg)
      },
      from: -1, body: undefined, sentAt: 0
    })
  }

  let events = 0
  for (let e = q.pop(); e !== undefined; e = q.pop()) {
    now = e.t
    events++
    if (e.body !== undefined) {
      // Lost with its sender if the sender died before the unit left; with its receiver if dead.
      if (failedAt[e.from]! < e.sentAt || failedAt[e.node]! <= now) continue
      // The body without its length prefix, as the libp2p side hands it over.
      const r = Reader.create(e.body)
      const len = r.uint32()
      routers[e.node]!.receiveUnit(String(e.from), e.body.subarray(r.pos, r.pos + len))
    } else {
      e.fn?.()
    }
  }

  // Delivery ratio over nodes that never failed, excluding each message's origin.
  let correctGot = 0
  for (let m = 0; m < got.length; m++) {
    for (const s of survivors) if (s !== origins[m] && got[m]![s] === 1) correctGot++
  }
  const expected = got.length * (survivors.length - 1)
  const lat = Float64Array.from(latencies).sort()
  let seenTotal = 0
  for (const r of routers) seenTotal += r.stats().seenCacheSize
  let bytesTotal = 0
  let bytesMax = 0
  for (const b of bytesSent) { bytesTotal += b; if (b > bytesMax) bytesMax = b }
  let degreeTotal = 0
  for (const nb of neighbours) degreeTotal += nb.length
  const round = (x: number, d = 3): number => Number(x.toFixed(d))
  return {
    router: opts.router,
    nodes: n,
    meanDegree: round(degreeTotal / n),
    msgs: opts.msgs,
    fail: opts.fail,
    loss: opts.loss,
    seed: opts.seed,
    ttl: opts.ttl,
    deliveryRatio: expected === 0 ? 0 : round(correctGot / expected, 5),
    deliveries,
    copiesPerDelivery: deliveries === 0 ? 0 : round(copies / deliveries),
    rmr: deliveries === 0 ? 0 : round(copies / deliveries - 1),
    controlPerDelivery: deliveries === 0 ? 0 : round(control / deliveries),
    ldhMax: Math.max(0, ...ldh),
    ldhMean: ldh.length === 0 ? 0 : round(ldh.reduce((a, b) => a + b, 0) / ldh.length, 2),
    latencyP50: round(percentile(lat, 0.5), 1),
    latencyP99: round(percentile(lat, 0.99), 1),
    bytesPerNode: Math.round(bytesTotal / n),
    bytesPerNodeMax: bytesMax,
    unitsLost: lost,
    seenEntriesPerNode: round(seenTotal / n, 1),
    seenCacheBytesPerNode: Math.round(seenSlots(seenTotal / n, 2 * opts.msgs + 16) * SEEN_SLOT_BYTES + (seenTotal / n) * SEEN_ENTRY_BYTES),
    virtualMs: round(now, 1),
    events
  }
}

const TARGET = new Uint8Array(16).fill(0x5a)
