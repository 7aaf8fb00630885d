/** A token bucket: `rate` tokens per second, holding at most `burst`. Time is injected. */
export class TokenBucket {
  private readonly rate: number
  private readonly burst: number
  private tokens: number
  private last: number

  constructor (rate: number, burst: number, now: number) {
    this.rate = rate
    this.burst = burst
    this.tokens = burst
    this.last = now
  }

  /** Takes `cost` tokens if available. */
  take (now: number, cost = 1): boolean {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.rate / 1000)
      this.last = now
    }
    if (this.tokens < cost) return false
    this.tokens -= cost
    return true
  }
}
