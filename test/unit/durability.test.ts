import { afterEach, describe, expect, it, vi } from 'vitest'
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Store, StoreError, FLUSH_RETRY_DELAYS_MS } from '../../src/store/store.ts'
import { buildTMsg, Kind } from '../../src/wire/index.ts'
import { channelTarget } from '../../src/targets.ts'
import { createLogger } from '../../src/log.ts'
import { datadirPaths, lockDatadir, DatadirError } from '../../src/node/datadir.ts'

const tmp = (): string => mkdtempSync(join(tmpdir(), 'tmsg-t11-'))
const room = channelTarget('#durable')
const msg = (i: number): ReturnType<typeof buildTMsg> => buildTMsg({ target: room.id, payload: Buffer.from(`line ${i} ${'x'.repeat(2000)}`), kind: Kind.DATA })

/** SQLite's own "disk full": the file may not grow past its current size. */
function fillDisk (s: Store): void {
  const pages = (s.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count
  s.db.exec(`PRAGMA max_page_count = ${pages}`)
}
function freeDisk (s: Store): void {
  s.db.exec('PRAGMA max_page_count = 1073741823')
}
const stored = (s: Store): number => (s.db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n

afterEach(() => { vi.useRealTimers() })

describe('store under a failing disk', () => {
  it('keeps the batch when a write fails and writes it once the disk has room again', async () => {
    vi.useFakeTimers()
    const s = new Store(join(tmp(), 'tmsg.db'))
    const fatal: StoreError[] = []
    s.on('fatal', e => { fatal.push(e) })
    s.addMessage({ msg: msg(0), verified: false, receivedAt: 1 })
    s.flush()
    expect(stored(s)).toBe(1)
    fillDisk(s)
    for (let i = 1; i <= 50; i++) s.addMessage({ msg: msg(i), verified: false, receivedAt: 1 })
    await vi.advanceTimersByTimeAsync(FLUSH_RETRY_DELAYS_MS[0]! + 10) // first attempt and one retry fail
    expect(s.unsaved).toBe(50)
    expect(stored(s)).toBe(1)
    freeDisk(s)
    await vi.advanceTimersByTimeAsync(FLUSH_RETRY_DELAYS_MS[1]! + 10)
    expect(s.unsaved).toBe(0)
    expect(stored(s)).toBe(51)
    expect(fatal).toEqual([])
    s.close()
  })

  it('gives up loudly after the last retry, naming the unsaved messages, and never drops them quietly', async () => {
    vi.useFakeTimers()
    const s = new Store(join(tmp(), 'tmsg.db'))
    const fatal: StoreError[] = []
    s.on('fatal', e => { fatal.push(e) })
    s.addMessage({ msg: msg(0), verified: false, receivedAt: 1 })
    s.flush()
    fillDisk(s)
    for (let i = 1; i <= 20; i++) s.addMessage({ msg: msg(i), verified: false, receivedAt: 1 })
    await vi.advanceTimersByTimeAsync(FLUSH_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0) - 50)
    expect(fatal).toEqual([]) // still retrying
    await vi.advanceTimersByTimeAsync(1000)
    expect(fatal).toHaveLength(1)
    expect(fatal[0]).toBeInstanceOf(StoreError)
    expect(fatal[0]!.message).toMatch(/cannot write message history .*full.*20 received messages are not saved; stopping/)
    s.close()
    expect(fatal).toHaveLength(1)
  })

  it('without a fatal listener the failure is thrown, not swallowed', () => {
    const s = new Store(join(tmp(), 'tmsg.db'))
    s.addMessage({ msg: msg(0), verified: false, receivedAt: 1 })
    s.flush()
    fillDisk(s)
    s.addMessage({ msg: msg(1), verified: false, receivedAt: 1 })
    expect(() => { s.close() }).toThrow(/1 received messages are not saved/)
  })

  it('commits channel and wallet writes with synchronous=FULL, history batches with NORMAL', () => {
    const s = new Store(join(tmp(), 'tmsg.db'))
    expect((s.db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous).toBe(2) // FULL
    s.addMessage({ msg: msg(0), verified: false, receivedAt: 1 })
    s.flush()
    expect((s.db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous).toBe(2)
    s.close()
  })
})

describe('one process per datadir', () => {
  it('refuses a second lock on the same datadir with a one-line error, and allows it once released', () => {
    const d = datadirPaths(tmp())
    const release = lockDatadir(d)
    expect(() => lockDatadir(d)).toThrow(DatadirError)
    expect(() => lockDatadir(d)).toThrow(/^datadir .* is in use by another tmsg process; stop it or choose another --datadir$/)
    release()
    lockDatadir(d)()
  })
})

describe('log rotation', () => {
  it('rotates tmsg.log by size and keeps a bounded number of files', () => {
    const dir = tmp()
    const log = createLogger({ level: 'info', dir, stderr: false, maxBytes: 4096, keep: 3 })
    for (let i = 0; i < 2000; i++) log.info({ i, pad: 'y'.repeat(50) }, 'line')
    const files = readdirSync(dir).sort()
    expect(files).toEqual(['tmsg.log', 'tmsg.log.1', 'tmsg.log.2', 'tmsg.log.3'])
    for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(4096)
    const last = readFileSync(join(dir, 'tmsg.log'), 'utf8').trim().split('\n').at(-1)!
    expect(JSON.parse(last)).toMatchObject({ i: 1999, msg: 'line' })
    const older = readFileSync(join(dir, 'tmsg.log.1'), 'utf8').trim().split('\n').map(l => JSON.parse(l) as { i: number })
    expect(older.at(-1)!.i + 1).toBe(JSON.parse(readFileSync(join(dir, 'tmsg.log'), 'utf8').split('\n')[0]!).i) // no line lost at the seam
  })
})
