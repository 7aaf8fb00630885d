/**
 * Answers to flooded requests (BALANCE_REQUEST, TERMS_REQUEST) cost the answering node a
 * wallet sync, SQLite reads and a signature each, while a request costs its sender almost
 * nothing and reaches every node. So answers have a budget per node, and the expensive part
 * of a balance answer is reused for a moment: a request flood costs the network little.
 */
import { TokenBucket } from '../flood/token-bucket.ts'

/** Far more than people asking by hand; a flood beyond it goes unanswered. */
export const ANSWERS_PER_SECOND = 20
export const ANSWER_BURST = 50
/** A balance computed for one request serves the next ones for this long (ms). */
export const ANSWER_CACHE_MS = 2000

export interface AnswerLimiterInit {
  perSecond?: number
  burst?: number
  cacheMs?: number
  /** @default Date.now */
  now?: () => number
}

export class AnswerLimiter {
  private readonly bucket: TokenBucket
  private readonly cacheMs: number
  private readonly now: () => number
  private readonly cache = new Map<string, { at: number, value: Promise<unknown> }>()
  /** Requests left unanswered because the budget was spent. */
  refused = 0

  constructor (init: AnswerLimiterInit = {}) {
    this.now = init.now ?? Date.now
    this.bucket = new TokenBucket(init.perSecond ?? ANSWERS_PER_SECOND, init.burst ?? ANSWER_BURST, this.now())
    this.cacheMs = init.cacheMs ?? ANSWER_CACHE_MS
  }

  /** Takes one answer from the budget; false = do not answer this request. */
  allow (): boolean {
    if (this.bucket.take(this.now())) return true
    this.refused++
    return false
  }

  /** `compute()`'s result for `key`, computed at most once per cache period. */
  async cached<T> (key: string, compute: () => Promise<T>): Promise<T> {
    const now = this.now()
    const hit = this.cache.get(key)
    if (hit !== undefined && now - hit.at < this.cacheMs) return await (hit.value as Promise<T>)
    if (this.cache.size > 1000) this.cache.clear() // keys come from requests: keep it small
    const value = compute()
    this.cache.set(key, { at: now, value })
    value.catch(() => { this.cache.delete(key) })
    return await value
  }
}
