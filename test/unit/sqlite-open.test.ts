import { describe, it, expect } from 'vitest'
import { Worker } from 'node:worker_threads'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// Several processes opening one fresh database at once (nodes sharing a new --ledger):
// each must end up with the migrated file, none with "table already exists" or "locked".
// Threads stand in for processes: each has its own SQLite connection, and a shared barrier
// releases them together so their opens really overlap.
const sqliteModule = fileURLToPath(new URL('../../src/store/sqlite.ts', import.meta.url))

const workerSource = `
const { workerData, parentPort } = require('node:worker_threads')
import(workerData.module).then(({ openDatabase }) => {
  const gate = new Int32Array(workerData.gate)
  Atomics.add(gate, 1, 1)
  Atomics.wait(gate, 0, 0)
  try {
    const db = openDatabase(workerData.path, [
      { version: 1, sql: 'CREATE TABLE a (x INTEGER)' },
      { version: 2, sql: 'CREATE TABLE b (y INTEGER)' }
    ])
    const v = db.prepare('PRAGMA user_version').get().user_version
    db.close()
    parentPort.postMessage({ ok: true, version: v })
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err.message) })
  }
})
`

async function openTogether (path: string, n: number): Promise<Array<{ ok: boolean, version?: number, error?: string }>> {
  const gate = new SharedArrayBuffer(8)
  const view = new Int32Array(gate)
  const workers = Array.from({ length: n }, () => new Worker(workerSource, { eval: true, workerData: { module: sqliteModule, path, gate } }))
  const results = workers.map(async w => await new Promise<{ ok: boolean, version?: number, error?: string }>((resolve, reject) => {
    w.once('message', resolve)
    w.once('error', reject)
  }))
  // Release them only when all are waiting at the barrier.
  const deadline = Date.now() + 20_000
  while (Atomics.load(view, 1) < n) {
    if (Date.now() > deadline) throw new Error('workers did not reach the barrier')
    await new Promise(resolve => setImmediate(resolve))
  }
  Atomics.store(view, 0, 1)
  Atomics.notify(view, 0)
  try {
    return await Promise.all(results)
  } finally {
    await Promise.all(workers.map(async w => await w.terminate()))
  }
}

describe('openDatabase from several processes at once', () => {
  it('migrates a fresh file once; every opener gets the latest schema', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmsg-sqlite-open-'))
    try {
      for (let round = 0; round < 3; round++) {
        const results = await openTogether(join(dir, `ledger-${round}.db`), 4)
        expect(results).toEqual(Array.from({ length: 4 }, () => ({ ok: true, version: 2 })))
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
