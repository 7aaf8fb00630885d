/**
 * Penalties for neighbours that send invalid data (DESIGN §5 step 1): points decay
 * exponentially; crossing the threshold bans the peer for a while, longer on each repeat.
 */
import { LRUCache } from 'lru-cache'
import { DEFAULT_BAN_MS, DEFAULT_BAN_THRESHOLD, DEFAULT_PENALTY_HALF_LIFE_MS, MAX_BAN_MS } from './constants.ts'

export interface PenaltyInit {
  /** Points at which a peer is banned. @default 20 */
  threshold: number
  /** Points halve after this long. @default 60 s */
  halfLifeMs: number
  /** First ban duration; doubles with every repeat. @default 10 min */
  banMs: number
}

interface Record {
  points: number
  at: number
  bannedUntil: number
  bans: number
}

export class PenaltyBox {
  private readonly init: PenaltyInit
  // Bounded so a stream of fresh peer ids cannot grow it without limit. Created on the first
  // penalty: lru-cache allocates for its `max` up front (~220 kB here), which a simulator of
  // 10,000 routers, almost none of which ever penalise anyone, cannot afford per node.
  private recordsCache: LRUCache<string, Record> | undefined

  constructor (init: Partial<PenaltyInit> = {}) {
    this.init = {
      threshold: init.threshold ?? DEFAULT_BAN_THRESHOLD,
      halfLifeMs: init.halfLifeMs ?? DEFAULT_PENALTY_HALF_LIFE_MS,
      banMs: init.banMs ?? DEFAULT_BAN_MS
    }
  }

  private get records (): LRUCache<string, Record> {
    this.recordsCache ??= new LRUCache<string, Record>({ max: 10_000 })
    return this.recordsCache
  }

  /** Adds points; returns true when this pushes the peer over the threshold (newly banned). */
  penalise (peer: string, points: number, now: number): boolean {
    let r = this.records.get(peer)
    if (r === undefined) {
      r = { points: 0, at: now, bannedUntil: 0, bans: 0 }
      this.records.set(peer, r)
    }
    r.points = this.decayed(r, now) + points
    r.at = now
    if (r.bannedUntil > now || r.points < this.init.threshold) return false
    r.bans++
    r.bannedUntil = now + Math.min(this.init.banMs * 2 ** (r.bans - 1), MAX_BAN_MS)
    r.points = 0
    return true
  }

  isBanned (peer: string, now: number): boolean {
    const r = this.recordsCache?.get(peer)
    return r !== undefined && r.bannedUntil > now
  }

  bannedUntil (peer: string): number | undefined {
    const r = this.recordsCache?.get(peer)
    return r === undefined || r.bannedUntil === 0 ? undefined : r.bannedUntil
  }

  score (peer: string, now: number): number {
    const r = this.recordsCache?.get(peer)
    return r === undefined ? 0 : this.decayed(r, now)
  }

  bannedCount (now: number): number {
    let n = 0
    if (this.recordsCache === undefined) return 0
    for (const r of this.recordsCache.values()) if (r.bannedUntil > now) n++
    return n
  }

  private decayed (r: Record, now: number): number {
    return r.points * 0.5 ** (Math.max(0, now - r.at) / this.init.halfLifeMs)
  }
}
