/**
 * The data directory (DESIGN §7): identity.key, rpc.cookie, tmsg.db, config.json, logs/.
 */
import { accessSync, constants as fsConstants, mkdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { holdExclusiveLock, LockedError } from '../store/sqlite.ts'

/** The datadir cannot be created, is not a directory, or is not writable. */
export class DatadirError extends Error {
  static name = 'DatadirError'
  override name = 'DatadirError'
}

export interface Datadir {
  root: string
  identityKey: string
  rpcCookie: string
  /** The RPC URL of the running node, for clients (removed at shutdown). */
  rpcUrl: string
  database: string
  logs: string
  /** Held by the one process using this datadir (see `lockDatadir`). */
  lock: string
}

export function datadirPaths (root: string): Datadir {
  return {
    root,
    identityKey: join(root, 'identity.key'),
    rpcCookie: join(root, 'rpc.cookie'),
    rpcUrl: join(root, 'rpc.url'),
    database: join(root, 'tmsg.db'),
    logs: join(root, 'logs'),
    lock: join(root, 'tmsg.lock')
  }
}

/** Creates the directory (mode 0700: it holds the node's private key) and checks access. */
export function prepareDatadir (root: string): Datadir {
  const d = datadirPaths(root)
  try {
    makeDir(root)
    makeDir(d.logs)
  } catch (err: unknown) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'ENOTDIR' || e.code === 'EEXIST') throw new DatadirError(`datadir ${root} is not a directory`)
    throw new DatadirError(`cannot create datadir ${root}: ${e.code ?? e.message}`)
  }
  if (!statSync(root).isDirectory()) throw new DatadirError(`datadir ${root} is not a directory`)
  try {
    accessSync(root, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK)
  } catch {
    throw new DatadirError(`datadir ${root} is not readable and writable by this user`)
  }
  return d
}

/**
 * Refuses a second process on one datadir (same identity, one cookie, one database), as
 * bitcoind's `.lock` does. Call before writing anything into it. Returns the release function.
 */
export function lockDatadir (d: Datadir): () => void {
  try {
    return holdExclusiveLock(d.lock)
  } catch (err: unknown) {
    if (err instanceof LockedError) throw new DatadirError(`datadir ${d.root} is in use by another tmsg process; stop it or choose another --datadir`)
    throw new DatadirError(`cannot lock datadir ${d.root}: ${(err as Error).message}`)
  }
}

/**
 * mkdir -p, one level at a time: Node's `recursive: true` spins forever where the kernel
 * answers ENOENT although the parent exists (e.g. under /proc).
 */
function makeDir (dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch (err: unknown) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return
    const parent = dirname(dir)
    if (code !== 'ENOENT' || parent === dir) throw err
    makeDir(parent)
    mkdirSync(dir, { mode: 0o700 })
  }
}
