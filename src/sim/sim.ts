/**
 * The simulator's engine: real routers (src/flood) on a virtual clock. The model — what a
 * tick is, how links and queues behave, what is left out — is described in ./main.ts.
 */
import { PrivateKey } from '@bsv/sdk/primitives'
import { FloodRouter, type NeighbourLink, type SetTimer } from '../flood/router.ts'
import { PlumtreeRouter } from '../flood/plumtree.ts'
import { buildTMsg, idBytes, idKey, Kind } from '../wire/index.ts'
import type { Signer, TMsg } from '../wire/index.ts'
import { verifySignature } from '../identity.ts'
import { decodeUint8Array, encodingLength } from 'uint8-varint'
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
  /** TTL each message is published with. @default the router's own, as a node's (flood 7, plumtree 10) */
  ttl?: number
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
  readonly defaultTtl: number
}

export interface RouterSeams {
  /** The node's peer id, as its neighbours know it. */
  selfId: string
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
    selfId: seams.selfId,
    schedule: seams.schedule,
    setTimer: seams.setTimer,
    seenCacheMax: seams.seenCacheMax,
    retainMax: seams.seenCacheMax
  })
}

// ---- the event queue: a binary heap ordered by (time, insertion order) ------------------

/** A unit in flight, or a function to run (`node` ≥ 0 and `guarded`: only while that node is up). */
const KIND_FN = 0
const KIND_GUARDED = 1
const KIND_UNIT = 2

/**
 * Events live in flat arrays indexed by a slot that is reused once the event has run, and the
 * heap holds slot numbers: a 10,000-node run keeps ~10^5 events queued and runs ~10^7, and as
 * objects they outlived the young generation and filled the old one for the major GCs to walk.
 */
class EventQueue {
  private heap = new Int32Array(1024)
  private length = 0
  private t = new Float64Array(1024)
  private seqs = new Float64Array(1024)
  private kind = new Uint8Array(1024)
  private node = new Int32Array(1024)
  /** KIND_UNIT: the sender. */
  private from = new Int32Array(1024)
  /** KIND_UNIT: when the sender finished writing it. */
  private sentAt = new Float64Array(1024)
  private fns: Array<(() => void) | undefined> = []
  private bodies: Array<Uint8Array | undefined> = []
  private readonly free: number[] = []
  private used = 0
  private seq = 0

  get size (): number { return this.length }

  /** Queues a function; returns its slot (with `seqOf`, what `cancel` needs). */
  pushFn (t: number, node: number, guarded: boolean, fn: () => void): number {
    const e = this.slot(t, guarded ? KIND_GUARDED : KIND_FN, node)
    this.fns[e] = fn
    this.up(e)
    return e
  }

  pushUnit (t: number, node: number, from: number, body: Uint8Array, sentAt: number): void {
    const e = this.slot(t, KIND_UNIT, node)
    this.from[e] = from
    this.sentAt[e] = sentAt
    this.bodies[e] = body
    this.up(e)
  }

  /** A cancelled function stays queued (it still counts as an event) but does nothing. */
  cancel (e: number, seq: number): void {
    if (this.seqs[e] === seq) this.fns[e] = undefined
  }

  /** Removes the next event and returns its slot, valid until the next pop; -1 when empty. */
  pop (): number {
    if (this.length === 0) return -1
    const h = this.heap
    const top = h[0]!
    const last = h[--this.length]!
    if (this.length > 0) {
      const n = this.length
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && this.before(h[r]!, h[l]!) ? r : l
        if (!this.before(h[c]!, last)) break
        h[i] = h[c]!
        i = c
      }
      h[i] = last
    }
    // The slot is free for the next push; its fields stay readable until then.
    this.free.push(top)
    return top
  }

  seqOf (e: number): number { return this.seqs[e]! }
  timeOf (e: number): number { return this.t[e]! }
  kindOf (e: number): number { return this.kind[e]! }
  nodeOf (e: number): number { return this.node[e]! }
  fromOf (e: number): number { return this.from[e]! }
  sentAtOf (e: number): number { return this.sentAt[e]! }

  /** The event's function or body, released from the slot. */
  takeFn (e: number): (() => void) | undefined {
    const fn = this.fns[e]
    this.fns[e] = undefined
    return fn
  }

  takeBody (e: number): Uint8Array {
    const b = this.bodies[e]!
    this.bodies[e] = undefined
    return b
  }

  private slot (t: number, kind: number, node: number): number {
    let e = this.free.pop()
    if (e === undefined) {
      e = this.used++
      if (e === this.t.length) this.grow()
    }
    this.t[e] = t
    this.seqs[e] = this.seq++
    this.kind[e] = kind
    this.node[e] = node
    return e
  }

  private up (e: number): void {
    if (this.length === this.heap.length) {
      const h = new Int32Array(this.heap.length * 2)
      h.set(this.heap)
      this.heap = h
    }
    const h = this.heap
    let i = this.length++
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.before(e, h[p]!)) break
      h[i] = h[p]!
      i = p
    }
    h[i] = e
  }

  private before (a: number, b: number): boolean {
    const ta = this.t[a]!
    const tb = this.t[b]!
    return ta < tb || (ta === tb && this.seqs[a]! < this.seqs[b]!)
  }

  private grow (): void {
    const n = this.t.length * 2
    const more = <T extends Float64Array | Int32Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const a = make(n)
      a.set(old)
      return a
    }
    this.t = more(this.t, k => new Float64Array(k))
    this.seqs = more(this.seqs, k => new Float64Array(k))
    this.kind = more(this.kind, k => new Uint8Array(k))
    this.node = more(this.node, k => new Int32Array(k))
    this.from = more(this.from, k => new Int32Array(k))
    this.sentAt = more(this.sentAt, k => new Float64Array(k))
  }
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
const verified = new Map<string, Array<{ signature: Uint8Array, ok: boolean }>>()
function verifyOnce (msg: TMsg): boolean {
  const key = idKey(msg.msgId)
  let known = verified.get(key)
  if (known === undefined) {
    known = []
    verified.set(key, known)
  }
  for (const v of known) if (Buffer.compare(v.signature, msg.signature) === 0) return v.ok
  const ok = verifySignature(msg.sender, idBytes(msg), msg.signature)
  known.push({ signature: Uint8Array.from(msg.signature), ok })
  return ok
}

// ---- the run -----------------------------------------------------------------------------

/** Where the varint `varint` read ends: a variable, not an object, as this runs per unit. */
let varintEnd = 0
/** The varint at `buf[pos]` (uint8-varint; the units are the routers': well formed). */
function varint (buf: Uint8Array, pos: number): number {
  const value = decodeUint8Array(buf, pos)
  varintEnd = pos + encodingLength(value)
  return value
}

/**
 * Counts the TMsg entries (field 1) and the other entries of one length-prefixed Frame unit
 * into `counted` (reused: this runs for every unit written).
 */
const counted = { msgs: 0, other: 0 }
function countEntries (unit: Uint8Array): void {
  let msgs = 0
  let other = 0
  const end = varint(unit, 0) + varintEnd
  let pos = varintEnd
  while (pos < end) {
    const tag = varint(unit, pos)
    pos = varintEnd
    if (tag === 0x0a) msgs++
    else other++
    switch (tag & 7) {
      case 0: varint(unit, pos); pos = varintEnd; break
      case 1: pos += 8; break
      case 2: pos = varint(unit, pos) + varintEnd; break
      case 5: pos += 4; break
      default: throw new Error(`unexpected wire type in tag ${tag}`)
    }
  }
  counted.msgs = msgs
  counted.other = other
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
  // Peer ids as strings made once: the routers key their maps by them, and V8 hashes a string
  // once, when it is the same string object each time.
  const ids = Array.from({ length: n }, (_, i) => String(i))
  const clock = (): number => SIM_EPOCH + now
  const subscribed = (): boolean => true
  for (let i = 0; i < n; i++) {
    const self = i
    const components: RouterComponents = {
      now: clock,
      isSubscribed: subscribed,
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
      selfId: ids[i]!,
      // A flush runs at the same virtual instant, after the events already due then.
      // Both run only while the node is up (the queue checks).
      schedule: (fn) => { q.pushFn(now, self, true, fn) },
      setTimer: (fn, ms) => {
        const e = q.pushFn(now + ms, self, true, fn)
        const seq = q.seqOf(e)
        return () => { q.cancel(e, seq) }
      },
      seenCacheMax: 2 * opts.msgs + 16
    }))
  }

  // What the run reports; each message goes out with its origin's default, as `node.send` does.
  const ttl = opts.ttl ?? routers[0]!.defaultTtl
  const connect = (a: number, b: number): void => {
    const latency = opts.latency.lo + (opts.latency.hi - opts.latency.lo) * rng.next()
    let busyUntil = 0 // when this direction finishes serialising what it was given
    let drainPending = false
    const link: NeighbourLink = {
      write: (unit) => {
        countEntries(unit)
        copies += counted.msgs
        control += counted.other
        bytesSent[a]! += unit.length
        const start = Math.max(now, busyUntil)
        busyUntil = start + (Number.isFinite(bytesPerMs) ? unit.length / bytesPerMs : 0)
        if (rng.next() < opts.loss) {
          lost++
        } else {
          q.pushUnit(busyUntil + latency, b, a, unit, busyUntil)
        }
        if ((busyUntil - now) * bytesPerMs <= LINK_WINDOW_BYTES) return true
        if (!drainPending) {
          drainPending = true
          q.pushFn(busyUntil, a, false, () => { drainPending = false; if (failedAt[a]! > now) routers[a]!.drained(ids[b]!) })
        }
        return false
      },
      disconnect: () => {}
    }
    routers[a]!.addNeighbour(ids[b]!, link)
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
      q.pushFn(t, -1, false, () => {
        for (const f of failing) failedAt[f] = now
        if (!Number.isFinite(opts.detectMs)) return
        q.pushFn(now + opts.detectMs, -1, false, () => {
          for (const f of failing) for (const nb of neighbours[f]!) routers[nb]!.removeNeighbour(ids[f]!)
        })
      })
    }
    const origin = survivors[rng.int(survivors.length)]!
    const payload = rng.bytes(opts.payloadBytes)
    const nonce = rng.bytes(16)
    q.pushFn(t, origin, false, () => {
      let s = keys.get(origin)
      if (s === undefined) {
        s = signer(Uint8Array.from(new Prng(opts.seed * 1_000_003 + origin).bytes(32).map((b, k) => k === 0 ? (b & 0x7f) | 1 : b)))
        keys.set(origin, s)
      }
      const msg = buildTMsg({ ttl: opts.ttl ?? routers[origin]!.defaultTtl, target: TARGET, payload, kind: Kind.DATA, timestamp: SIM_EPOCH + now, nonce, signer: s })
      byKey.set(idKey(msg.msgId), publishedAt.length)
      publishedAt.push(now)
      origins.push(origin)
      const seen = new Uint8Array(n)
      seen[origin] = 1 // the origin has its own message; it is not counted as a delivery
      got.push(seen)
      ldh.push(0)
      routers[origin]!.publish(msg)
    })
  }

  let events = 0
  for (let e = q.pop(); e >= 0; e = q.pop()) {
    now = q.timeOf(e)
    events++
    const node = q.nodeOf(e)
    const kind = q.kindOf(e)
    if (kind === KIND_UNIT) {
      const body = q.takeBody(e)
      // Lost with its sender if the sender died before the unit left; with its receiver if dead.
      if (failedAt[q.fromOf(e)]! < q.sentAtOf(e) || failedAt[node]! <= now) continue
      // The body without its length prefix, as the libp2p side hands it over.
      const len = varint(body, 0)
      routers[node]!.receiveUnit(ids[q.fromOf(e)]!, body.subarray(varintEnd, varintEnd + len))
    } else {
      const fn = q.takeFn(e)
      if (fn !== undefined && (kind === KIND_FN || failedAt[node]! > now)) fn()
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
    ttl,
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
