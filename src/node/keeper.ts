/**
 * Keeps the node connected (DESIGN §4): bootstrap peers are dialled at start and redialled
 * with exponential backoff whenever they are not connected, for as long as the node runs
 * (libp2p's own reconnect queue gives up after a few tries); peers found by mDNS are dialled
 * while the node has fewer than `minPeers` connections.
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import type { Logger } from '../log.ts'

export interface KeeperInit {
  bootstrap: string[]
  minPeers: number
  /** @default 500 ms */
  initialBackoffMs?: number
  /** @default 30 s */
  maxBackoffMs?: number
  /** How often connections are checked. @default 1 s */
  tickMs?: number
  /** Dial timeout. @default 10 s */
  dialTimeoutMs?: number
}

interface Target {
  addr?: Multiaddr
  peerId?: PeerId
  bootstrap: boolean
  attempts: number
  nextAt: number
  dialing: boolean
}

export class NeighbourKeeper {
  private readonly libp2p: Libp2p
  private readonly log: Logger
  private readonly init: Required<KeeperInit>
  private readonly targets = new Map<string, Target>()
  private timer?: NodeJS.Timeout
  private readonly onDiscovery = (evt: CustomEvent<PeerInfo>): void => {
    const id = evt.detail.id
    const key = id.toString()
    if (!this.targets.has(key)) this.targets.set(key, { peerId: id, bootstrap: false, attempts: 0, nextAt: 0, dialing: false })
    this.tick()
  }

  constructor (libp2p: Libp2p, init: KeeperInit, log: Logger) {
    this.libp2p = libp2p
    this.log = log
    this.init = { initialBackoffMs: 500, maxBackoffMs: 30_000, tickMs: 1000, dialTimeoutMs: 10_000, ...init }
    for (const a of init.bootstrap) {
      const addr = multiaddr(a)
      this.targets.set(a, { addr, bootstrap: true, attempts: 0, nextAt: 0, dialing: false })
    }
  }

  start (): void {
    this.libp2p.addEventListener('peer:discovery', this.onDiscovery)
    this.timer = setInterval(() => { this.tick() }, this.init.tickMs)
    this.timer.unref()
    this.tick()
  }

  stop (): void {
    this.libp2p.removeEventListener('peer:discovery', this.onDiscovery)
    clearInterval(this.timer)
  }

  /** Adds a peer to keep connected to, as if it were given with --bootstrap. */
  keep (address: string): void {
    if (!this.targets.has(address)) this.targets.set(address, { addr: multiaddr(address), bootstrap: true, attempts: 0, nextAt: 0, dialing: false })
  }

  /** Stops keeping a peer connected (it was disconnected on purpose). */
  forget (peerId: string): void {
    for (const [key, t] of this.targets) {
      if (t.peerId?.toString() === peerId || peerIdOf(t.addr) === peerId) this.targets.delete(key)
    }
  }

  private connected (t: Target): boolean {
    if (t.peerId !== undefined) return this.libp2p.getConnections(t.peerId).length > 0
    const id = peerIdOf(t.addr)
    return id !== undefined && this.libp2p.getConnections().some(c => c.remotePeer.toString() === id)
  }

  private tick (): void {
    const now = Date.now()
    // Counted from the connections' own PeerIds: getPeers() rebuilds every PeerId from its
    // string, and a secp256k1 key is decompressed in pure JS (a modular square root) each
    // time: once a second on every node, that was 9% of the 50-node network bench's CPU.
    const distinct = new Set<string>()
    for (const c of this.libp2p.getConnections()) distinct.add(c.remotePeer.toString())
    let peers = distinct.size
    for (const t of this.targets.values()) {
      if (t.dialing) continue
      if (this.connected(t)) {
        t.attempts = 0
        continue
      }
      if (now < t.nextAt) continue
      if (!t.bootstrap && peers >= this.init.minPeers) continue
      peers++
      this.dial(t)
    }
  }

  private dial (t: Target): void {
    t.dialing = true
    const target = t.addr ?? t.peerId!
    this.libp2p.dial(target, { signal: AbortSignal.timeout(this.init.dialTimeoutMs) })
      .then(conn => {
        t.peerId = conn.remotePeer
        if (t.attempts > 0) this.log.info({ peer: conn.remotePeer.toString() }, 'reconnected')
        t.attempts = 0
      })
      .catch((err: unknown) => {
        t.attempts++
        const backoff = Math.min(this.init.maxBackoffMs, this.init.initialBackoffMs * 2 ** (t.attempts - 1))
        t.nextAt = Date.now() + backoff * (0.75 + Math.random() * 0.5)
        this.log.debug({ target: target.toString(), attempt: t.attempts, retryInMs: Math.round(backoff) }, `dial failed: ${(err as Error).message}`)
      })
      .finally(() => { t.dialing = false })
  }
}

function peerIdOf (addr: Multiaddr | undefined): string | undefined {
  return addr?.getComponents().findLast(c => c.name === 'p2p')?.value
}
