/** Settings shared by the benchmark processes. */
import type { FloodRouterInit } from '../src/flood/router.ts'

/**
 * The benchmark measures what the router can do, so the per-neighbour rate limit (a policy
 * against abusive peers, 1,000 msg/s per neighbour by default) is lifted out of the way:
 * the README says which figures are measured this way.
 */
export const BENCH_FLOOD: FloodRouterInit = { rateLimit: { messagesPerSecond: 10_000_000, burst: 10_000_000 } }
