/** Settings shared by the benchmark processes. */
import { readFileSync } from 'node:fs'
import type { FloodRouterInit } from '../src/flood/router.ts'

/**
 * The benchmark measures what the router can do, so the per-neighbour rate limit (a policy
 * against abusive peers, 1,000 msg/s per neighbour by default) is lifted out of the way:
 * the README says which figures are measured this way.
 */
export const BENCH_FLOOD: FloodRouterInit = { rateLimit: { messagesPerSecond: 10_000_000, burst: 10_000_000 } }

/** A process's VmRSS (now) or VmHWM (the kernel's high-water mark since it started), in MiB. */
export function statusMB (pid: number, key: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith(key + ':'))
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024
}
