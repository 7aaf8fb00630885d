/**
 * Fault injection for the crash tests: with TMSG_CRASH_AT=<point>, the process kills itself
 * (SIGKILL, no cleanup, exactly like `kill -9`) when it reaches that point — each point sits
 * between persisting a state change and sending the message that depends on it.
 */
export type CrashPoint =
  | 'client:opening-persisted' | 'client:refund-persisted' | 'client:funding-broadcast' | 'client:payment-persisted'
  | 'client:topup-refund-persisted' | 'provider:refund-signed' | 'provider:open-persisted' | 'provider:payment-persisted'
  | 'provider:settlement-broadcast'

const armed = process.env.TMSG_CRASH_AT

export function crashPoint (point: CrashPoint): void {
  if (armed === point) process.kill(process.pid, 'SIGKILL')
}
