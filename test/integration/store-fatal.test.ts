import { describe, expect, it } from 'vitest'
import { App } from '../../src/app.ts'
import { resolveConfig } from '../../src/config.ts'
import { datadirPaths, lockDatadir } from '../../src/node/datadir.ts'
import { tempDatadir } from '../helpers/proc.ts'
import { waitFor } from '../helpers/wait.ts'

describe('a disk that keeps failing', () => {
  it('stops the node cleanly with the reason, and releases the datadir', async () => {
    const datadir = tempDatadir()
    const app = await App.start(resolveConfig({ datadir, port: 0, rpcPort: 0, mdns: false, host: '127.0.0.1' }, {}), { logToStderr: false })
    const fatal: Error[] = []
    app.on('fatal', e => { fatal.push(e) })
    app.chat.join('#disk')
    app.chat.send('#disk', 'written')
    expect(app.store.history(app.node.subscriptions().find(t => t.short === '#disk')!.id, 10)!.map(m => m.text)).toEqual(['written'])
    // SQLite's own "disk full": the file may not grow any more.
    const pages = (app.store.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count
    app.store.db.exec(`PRAGMA max_page_count = ${pages}`)
    for (let i = 0; i < 50; i++) app.chat.send('#disk', `line ${i} ${'x'.repeat(3000)}`)
    await waitFor(() => fatal.length > 0, 'the store to give up after its retries', 30_000, 50)
    expect(fatal[0]!.name).toBe('StoreError')
    const m = /cannot write message history .*full.*; (\d+) received messages are not saved; stopping/.exec(fatal[0]!.message)
    expect(m).not.toBeNull()
    expect(Number(m![1])).toBeGreaterThanOrEqual(45) // a few may still have fitted in the last page
    await waitFor(() => app.node.libp2p.status === 'stopped', 'the node to stop', 10_000)
    lockDatadir(datadirPaths(datadir))() // the lock was released: a restart can take it
  }, 60_000)
})
