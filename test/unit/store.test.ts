import { describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Store, StoreError, MIGRATIONS } from '../../src/store/store.ts'
import { buildTMsg, Kind, toHex } from '../../src/wire/index.ts'
import { Identity } from '../../src/identity.ts'
import { channelTarget } from '../../src/targets.ts'
import { encodeChat } from '../../src/chat/codec.ts'

const dbPath = (): string => join(mkdtempSync(join(tmpdir(), 'tmsg-store-')), 'tmsg.db')
const id = Identity.generate()
const room = channelTarget('#store')

function chat (text: string): ReturnType<typeof buildTMsg> {
  return buildTMsg({ target: room.id, payload: encodeChat({ nick: 'ann', text, action: false }), kind: Kind.CHAT, signer: id })
}

describe('store', () => {
  it('keeps history per target, newest last, with paging by msgId, across reopening', () => {
    const path = dbPath()
    let s = new Store(path)
    const msgs = Array.from({ length: 10 }, (_, i) => chat(`line ${i}`))
    for (const m of msgs) s.addMessage({ msg: m, verified: true, receivedAt: 1, targetName: '#store' })
    s.addMessage({ msg: buildTMsg({ target: randomBytes(16), payload: Buffer.from('elsewhere'), kind: Kind.DATA }), verified: false, receivedAt: 2 })
    const last3 = s.history(room.id, 3)!
    expect(last3.map(m => m.text)).toEqual(['line 7', 'line 8', 'line 9'])
    expect(last3[0]).toMatchObject({ targetName: '#store', nick: 'ann', kind: 'chat', verified: true, account: id.account })
    expect(s.history(room.id, 2, msgs[7]!.msgId)!.map(m => m.text)).toEqual(['line 5', 'line 6'])
    expect(s.history(room.id, 2, randomBytes(16))).toBeUndefined()
    s.close()
    s = new Store(path)
    expect(s.history(room.id, 100)!.map(m => m.msgId)).toEqual(msgs.map(m => toHex(m.msgId)))
    s.close()
  })

  it('ignores a message stored twice', () => {
    const s = new Store(dbPath())
    const m = chat('once')
    s.addMessage({ msg: m, verified: true, receivedAt: 1 })
    s.addMessage({ msg: m, verified: true, receivedAt: 2 })
    expect(s.history(room.id, 10)).toHaveLength(1)
    s.close()
  })

  it('caps the history of a target', () => {
    const s = new Store(dbPath(), { historyPerTarget: 50 })
    for (let i = 0; i < 450; i++) s.addMessage({ msg: chat(`n${i}`), verified: true, receivedAt: i })
    s.flush()
    const all = s.history(room.id, 1000)!
    expect(all.length).toBeLessThanOrEqual(50 + 200) // pruned every 200 inserts
    expect(all.at(-1)!.text).toBe('n449')
    s.close()
  })

  it('keeps subscriptions and settings across reopening', () => {
    const path = dbPath()
    let s = new Store(path)
    s.addSubscription({ target: room.id, kind: 'channel', name: room.name })
    s.setSetting('nick', 'ann')
    s.setSetting('nick', 'bob')
    s.close()
    s = new Store(path)
    expect(s.subscriptions()).toEqual([{ target: new Uint8Array(room.id), kind: 'channel', name: 'chan:#store' }])
    expect(s.getSetting('nick')).toBe('bob')
    s.removeSubscription(room.id)
    expect(s.subscriptions()).toEqual([])
    s.close()
  })

  it('refuses a corrupt database with a clear error and leaves the file alone', () => {
    const path = dbPath()
    const junk = randomBytes(8192)
    writeFileSync(path, junk)
    expect(() => new Store(path)).toThrow(StoreError)
    expect(() => new Store(path)).toThrow(/corrupt or not a tmsg database.*move it aside/)
  })

  it('refuses a database from a newer tmsg', () => {
    const path = dbPath()
    const s = new Store(path)
    s.db.exec(`PRAGMA user_version = ${MIGRATIONS.at(-1)!.version + 1}`)
    s.close()
    expect(() => new Store(path)).toThrow(/newer than this tmsg understands/)
  })
})
