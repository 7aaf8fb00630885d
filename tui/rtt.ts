/**
 * Round-trip times for the status bar: connected peers are pinged in the background, one
 * ping per peer at a time, each bounded by the node's own ping timeout; a slow or silent
 * peer only delays its own figure.
 */

/** Pings again this often. */
export const RTT_INTERVAL_MS = 10_000

export interface RttSource {
  peers: () => Array<{ peerId: string }>
  ping: (peerId: string) => Promise<number>
}

export class RttMonitor {
  private readonly source: RttSource
  private readonly rtts = new Map<string, number>()
  private readonly inFlight = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private readonly onChange: () => void

  constructor (source: RttSource, onChange: () => void = () => {}) {
    this.source = source
    this.onChange = onChange
  }

  start (intervalMs = RTT_INTERVAL_MS): void {
    this.pingAll()
    this.timer = setInterval(() => { this.pingAll() }, intervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** Pings every connected peer that is not being pinged already. */
  pingAll (): void {
    for (const { peerId } of this.source.peers()) this.pingPeer(peerId)
  }

  pingPeer (peerId: string): void {
    if (this.inFlight.has(peerId)) return
    this.inFlight.add(peerId)
    this.source.ping(peerId).then(ms => {
      // A peer that left while the ping was out does not come back into the average.
      if (this.source.peers().some(p => p.peerId === peerId)) {
        this.rtts.set(peerId, ms)
        this.onChange()
      }
    }, () => {
      // No answer (or no ping protocol): an old figure would be a lie.
      this.forget(peerId)
    }).finally(() => { this.inFlight.delete(peerId) })
  }

  forget (peerId: string): void {
    if (this.rtts.delete(peerId)) this.onChange()
  }

  rtt (peerId: string): number | undefined {
    return this.rtts.get(peerId)
  }

  /** Mean of the latest round trips to connected peers; undefined before the first answer. */
  average (): number | undefined {
    if (this.rtts.size === 0) return undefined
    let sum = 0
    for (const v of this.rtts.values()) sum += v
    return sum / this.rtts.size
  }
}
