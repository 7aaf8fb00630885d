/**
 * The client's budget, shown like a laptop's battery: warnings at 80% and 95% spent, and
 * payments stop at 100%. One place for the thresholds and the gauge (CLI, chat UI, RPC).
 */
import type { Alert } from './store.ts'

/** Share of the budget spent at which each warning is raised. */
export const BUDGET_WARNINGS: ReadonlyArray<readonly [number, Alert]> = [[0.8, 'warn-80'], [0.95, 'warn-95']]

/** The alerts a channel has earned at `paid` of `budget` (in order). */
export function alertsAt (paid: number, budget: number): Alert[] {
  const out: Alert[] = BUDGET_WARNINGS.filter(([share]) => paid >= share * budget).map(([, a]) => a)
  if (paid >= budget) out.push('exhausted')
  return out
}

/** An amount as people read it: `25,000 sat`. */
export function sats (n: number): string {
  return `${n.toLocaleString('en-US')} sat`
}

/** What is left, as a gauge: `[██████░░░░] 60%`. */
export function battery (paid: number, budget: number, width = 10): string {
  const left = budget <= 0 ? 0 : Math.max(0, Math.min(1, (budget - paid) / budget))
  const full = Math.round(left * width)
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}] ${Math.round(left * 100)}%`
}
