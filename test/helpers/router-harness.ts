/**
 * A FloodRouter with stubbed neighbours: each link records what it was asked to write, and
 * flushes run only when the test says so (so batching is observable).
 */
import { randomBytes } from 'node:crypto'
import { FloodRouter } from '../../src/flood/router.ts'
import type { FloodRouterInit, NeighbourLink } from '../../src/flood/router.ts'
import type { RouterComponents } from '../../src/routing.ts'
import { buildTMsg, decodeFrame, encodeFrameControl, encodeFrameUnit, encodeTMsg, Kind } from '../../src/wire/index.ts'
import type { FrameControl, TMsg, BuildOptions } from '../../src/wire/index.ts'
import { Identity } from '../../src/identity.ts'

export const T0 = 1_750_000_000_000

export class StubLink implements NeighbourLink {
  units: Uint8Array[] = []
  accept = true
  disconnected: string | undefined
  write (unit: Uint8Array): boolean {
    this.units.push(unit)
    return this.accept
  }

  disconnect (reason: string): void {
    this.disconnected = reason
  }

  /** Every message written so far, decoded, in order. */
  messages (): TMsg[] {
    return this.units.flatMap(u => decodeFrame(stripPrefix(u)).msgs)
  }

  /** The plumtree control fields written so far, merged (ids as hex). */
  control (): { ihave: string[], graft: string[], prune: number, lazy: number, rank?: { root: string, dist: number, parent: boolean } } {
    const out: ReturnType<StubLink['control']> = { ihave: [], graft: [], prune: 0, lazy: 0 }
    for (const u of this.units) {
      const c = decodeFrame(stripPrefix(u)).control
      if (c === undefined) continue
      out.ihave.push(...c.ihave.map(a => hex(a.id)))
      out.graft.push(...c.graft.map(hex))
      if (c.prune) out.prune++
      if (c.lazy) out.lazy++
      // The last word on the sender's place in the tree.
      if (c.rank !== undefined) out.rank = { root: Buffer.from(c.rank.root).toString('latin1'), dist: c.rank.dist, parent: c.rank.parent }
    }
    return out
  }

  clear (): void {
    this.units = []
  }
}

export function stripPrefix (unit: Uint8Array): Uint8Array {
  let i = 0
  while ((unit[i]! & 0x80) !== 0) i++
  return unit.subarray(i + 1)
}

export class Harness {
  now = T0
  readonly subscribed = new Set<string>()
  readonly delivered: Array<{ msg: TMsg, from: string, history?: boolean }> = []
  /** Every new valid id the router accepted (the store-and-forward feed). */
  readonly accepted: Array<{ msg: TMsg, from: string }> = []
  readonly links = new Map<string, StubLink>()
  readonly bans: string[] = []
  private pending: Array<() => void> = []
  /** Timers set through the router's SetTimer seam, run by `advance`. */
  private timers: Array<{ at: number, fn: (() => void) | undefined }> = []
  readonly router: FloodRouter

  constructor (init: FloodRouterInit = {}, make: (c: RouterComponents, init: FloodRouterInit) => FloodRouter = (c, i) => new FloodRouter(c, i)) {
    this.router = make({
      now: () => this.now,
      isSubscribed: t => this.subscribed.has(Buffer.from(t).toString('hex')),
      deliver: (msg, from, history) => { this.delivered.push({ msg, from, history }) },
      accepted: (msg, from) => { this.accepted.push({ msg, from }) }
    }, {
      schedule: fn => { this.pending.push(fn) },
      setTimer: (fn, ms) => {
        const t: { at: number, fn: (() => void) | undefined } = { at: this.now + ms, fn }
        this.timers.push(t)
        return () => { t.fn = undefined }
      },
      onBan: p => { this.bans.push(p) },
      ...init
    })
  }

  /** Moves the clock on, running due timers in order, then flushes. */
  advance (ms: number): void {
    const end = this.now + ms
    for (;;) {
      const due = this.timers.filter(t => t.at <= end && t.fn !== undefined).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      this.now = due.at
      const fn = due.fn!
      due.fn = undefined
      fn()
    }
    this.now = end
    this.timers = this.timers.filter(t => t.fn !== undefined)
    this.flush()
  }

  /** Live timers (not run, not cancelled). */
  get timerCount (): number {
    return this.timers.filter(t => t.fn !== undefined).length
  }

  /** Control fields from neighbour `from` as one frame (and messages, if any), then flushes. */
  receiveControl (from: string, control: Partial<FrameControl>, ...msgs: TMsg[]): void {
    this.router.receiveUnit(from, stripPrefix(encodeFrameUnit(msgs.map(m => encodeTMsg(m)), encodeFrameControl(control))))
    this.flush()
  }

  connect (...ids: string[]): StubLink[] {
    return ids.map(id => {
      const link = new StubLink()
      this.links.set(id, link)
      this.router.addNeighbour(id, link)
      return link
    })
  }

  link (id: string): StubLink {
    return this.links.get(id)!
  }

  /** Runs scheduled flushes. */
  flush (): void {
    const p = this.pending
    this.pending = []
    for (const fn of p) fn()
  }

  /** Delivers messages from neighbour `from` as one frame and flushes. */
  receive (from: string, ...msgs: TMsg[]): void {
    this.router.receiveUnit(from, stripPrefix(encodeFrameUnit(msgs.map(m => encodeTMsg(m)))))
    this.flush()
  }
}

export const origin = Identity.generate()

export function msg (o: Partial<BuildOptions> & { hops?: number } = {}): TMsg {
  const m = buildTMsg({ target: randomBytes(16), payload: Buffer.from('x'), kind: Kind.DATA, timestamp: T0, signer: origin, ...o })
  m.hops = o.hops ?? 0
  return m
}

export function hex (b: Uint8Array): string {
  return Buffer.from(b).toString('hex')
}
