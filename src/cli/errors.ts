/** Errors a user can act on: printed as one line, without a stack trace. */
import { ConfigError } from '../config.ts'
import { DatadirError } from '../node/datadir.ts'
import { PortInUseError } from '../node/ports.ts'
import { IdentityError } from '../identity.ts'
import { TargetSyntaxError } from '../targets.ts'
import { StoreError } from '../store/store.ts'

const USER_ERRORS = new Set([ConfigError.name, DatadirError.name, PortInUseError.name, IdentityError.name, TargetSyntaxError.name, StoreError.name])

export class UsageError extends Error {
  static name = 'UsageError'
  override name = 'UsageError'
}
USER_ERRORS.add(UsageError.name)

export function isUserError (err: unknown): err is Error {
  return err instanceof Error && USER_ERRORS.has(err.name)
}

/** Prints an error for a human and returns the exit code: 2 for usage problems, 1 otherwise. */
export function reportError (err: unknown): number {
  const remote = err as { name?: string, code?: number, data?: { name?: string } }
  if (remote?.name === 'RemoteError') {
    process.stderr.write(`tmsg: ${(err as Error).message} (${remote.data?.name ?? 'error'} ${remote.code ?? ''})\n`)
    return 1
  }
  if (isUserError(err)) {
    process.stderr.write(`tmsg: ${err.message}\n`)
    return 2
  }
  const e = err as Error
  process.stderr.write(`tmsg: ${e?.message ?? String(err)}\n`)
  if (process.env.TMSG_DEBUG !== undefined) process.stderr.write(`${e?.stack ?? ''}\n`)
  return 1
}
