/**
 * A FloodRouter with stubbed neighbours: each link records what it was asked to write, and
 * flushes run only when the test says so (so batching is observable).
 */
import { randomBytes } from 'node:crypto'
import { FloodRouter } from '../../src/flood/router.ts'
import type { FloodRouterInit, NeighbourLink } from '../../src/flood/router.ts'
import { buildTMsg, decodeFrame, encodeFrameUnit, encodeTMsg, Kind } from '../../src/wire/index.ts'
import type { TMsg, BuildOptions } from '../../src/wire/index.ts'
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
  readonly router: FloodRouter

  constructor (init: FloodRouterInit = {}) {
    this.router = new FloodRouter({
      now: () => this.now,
      isSubscribed: t => this.subscribed.has(Buffer.from(t).toString('hex')),
      deliver: (msg, from, history) => { this.delivered.push({ msg, from, history }) },
      accepted: (msg, from) => { this.accepted.push({ msg, from }) }
    }, { schedule: fn => { this.pending.push(fn) }, onBan: p => { this.bans.push(p) }, ...init })
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
