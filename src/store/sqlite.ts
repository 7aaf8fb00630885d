/**
 * Opening `<datadir>/tmsg.db` with Node's built-in SQLite (node:sqlite).
 *
 * Why not better-sqlite3: npm builds it against the system Node's headers (Node 20 here),
 * and the Node 22 that runs tmsg then refuses to load it. node:sqlite ships inside Node.
 */
import type { DatabaseSync } from 'node:sqlite'
import { existsSync } from 'node:fs'

/** The database cannot be used as it is; the message says what the user can do. */
export class StoreError extends Error {
  static name = 'StoreError'
  override name = 'StoreError'
}

type SqliteModule = typeof import('node:sqlite')
let sqlite: SqliteModule | undefined

/**
 * node:sqlite announces itself with an ExperimentalWarning on first load; the API we use
 * (open, exec, prepare, run/get/all) is stable in practice, and the warning would land in
 * every user's terminal, so that one warning is filtered.
 */
function loadSqlite (): SqliteModule {
  if (sqlite !== undefined) return sqlite
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept only to be put back as it was
  const original = process.emitWarning
  const filtered = (warning: string | Error, ...rest: unknown[]): void => {
    if (!String(warning).includes('SQLite')) Reflect.apply(original, process, [warning, ...rest])
  }
  process.emitWarning = filtered
  try {
    sqlite = process.getBuiltinModule('node:sqlite')
  } finally {
    process.emitWarning = original
  }
  return sqlite
}

export interface Migration {
  /** The schema version this migration produces (1, 2, ...). */
  version: number
  sql: string
}

/**
 * Opens (or creates) the database, checks it is a healthy SQLite file, and migrates it
 * forward. A corrupt file or one written by a newer tmsg is an error, never replaced.
 */
export function openDatabase (path: string, migrations: readonly Migration[]): DatabaseSync {
  const { DatabaseSync } = loadSqlite()
  const existed = path !== ':memory:' && existsSync(path)
  let db: DatabaseSync
  try {
    db = new DatabaseSync(path)
  } catch (err: unknown) {
    throw new StoreError(`cannot open database ${path}: ${(err as Error).message}`)
  }
  try {
    // First, so that a second process opening the same file at the same moment (two nodes
    // sharing a fresh --ledger) waits for the first instead of failing with 'database is locked'.
    db.exec('PRAGMA busy_timeout = 5000')
    const check = whileLocked(() => db.prepare('PRAGMA quick_check(1)').get()) as { quick_check?: string } | undefined
    if (check?.quick_check !== 'ok') throw new Error(check?.quick_check ?? 'integrity check failed')
    whileLocked(() => { db.exec('PRAGMA journal_mode = WAL') })
    // WAL + FULL: every commit is on disk before it returns, so a power cut cannot lose the
    // last acknowledged payment or coin. Bulk writes that can be fetched again (the history)
    // opt down to NORMAL for their own commit (`relaxedTransaction`).
    db.exec('PRAGMA synchronous = FULL')
    db.exec('PRAGMA foreign_keys = ON')
  } catch (err: unknown) {
    db.close()
    throw new StoreError(`database ${path} is ${existed ? 'corrupt or not a tmsg database' : 'unusable'} (${(err as Error).message}); ` +
      'move it aside to start with an empty one (history, rooms and wallet state are in it)')
  }
  const latest = migrations.at(-1)?.version ?? 0
  const current = whileLocked(() => userVersion(db))
  if (current > latest) {
    db.close()
    throw new StoreError(`database ${path} has schema version ${current}, newer than this tmsg understands (${latest}): upgrade tmsg`)
  }
  for (const m of migrations) {
    if (m.version <= current) continue
    whileLocked(() => { db.exec('BEGIN IMMEDIATE') })
    try {
      // Read again under the write lock: another process may have migrated the file between
      // our first read and this transaction.
      if (userVersion(db) >= m.version) {
        db.exec('COMMIT')
        continue
      }
      db.exec(m.sql)
      db.exec(`PRAGMA user_version = ${m.version}`)
      db.exec('COMMIT')
    } catch (err: unknown) {
      db.exec('ROLLBACK')
      db.close()
      throw new StoreError(`cannot migrate database ${path} to version ${m.version}: ${(err as Error).message}`)
    }
  }
  return db
}

/**
 * Retries `fn` while SQLite says the file is locked, for up to the busy timeout. The busy
 * handler does not cover every case: switching a fresh file to WAL while another connection
 * does the same (two nodes opening a new --ledger at once) can fail at once with "database is
 * locked" — SQLite refuses to wait where waiting could deadlock. Only at open, so a blocking
 * wait (a few ms at a time) is fine.
 */
function whileLocked<T> (fn: () => T, ms = 5000): T {
  const until = Date.now() + ms
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (;;) {
    try {
      return fn()
    } catch (err: unknown) {
      if (!/locked|busy/i.test((err as Error).message) || Date.now() > until) throw err
      Atomics.wait(pause, 0, 0, 5 + Math.random() * 20)
    }
  }
}

function userVersion (db: DatabaseSync): number {
  return (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version
}

/** Runs `fn` in one transaction: all of it is written, or none. */
export function transaction<T> (db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE')
  try {
    const result = fn()
    db.exec('COMMIT')
    return result
  } catch (err: unknown) {
    // SQLite has already rolled back after some errors (SQLITE_FULL, SQLITE_IOERR): a second
    // ROLLBACK would fail and hide the real cause.
    if (db.isTransaction) db.exec('ROLLBACK')
    throw err
  }
}

/**
 * One transaction committed with synchronous=NORMAL (WAL): it survives a process crash, and
 * only an OS crash or power cut can lose it. For data a neighbour can send again (history),
 * where an fsync per batch would cost more than it protects. Put back to FULL afterwards.
 */
export function relaxedTransaction<T> (db: DatabaseSync, fn: () => T): T {
  db.exec('PRAGMA synchronous = NORMAL')
  try {
    return transaction(db, fn)
  } finally {
    db.exec('PRAGMA synchronous = FULL')
  }
}

/** Another process holds the lock. */
export class LockedError extends Error {
  static name = 'LockedError'
  override name = 'LockedError'
}

/**
 * Takes an exclusive lock on `path` (an empty SQLite file) for as long as the process runs,
 * through SQLite's own file locking: the OS drops it when the process dies, even by kill -9,
 * so there is never a stale lock to clean up. Returns the release function.
 */
export function holdExclusiveLock (path: string): () => void {
  const { DatabaseSync } = loadSqlite()
  const db = new DatabaseSync(path)
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    db.exec('BEGIN EXCLUSIVE')
  } catch (err: unknown) {
    db.close()
    throw new LockedError((err as Error).message)
  }
  return () => {
    try {
      db.exec('ROLLBACK')
    } finally {
      db.close()
    }
  }
}
