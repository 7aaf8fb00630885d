import { describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Identity } from '../../src/identity.ts'
import { open, seal, SealError, SEAL_OVERHEAD } from '../../src/chat/seal.ts'
import { AmbiguousNickError, NickBook, UnknownNickError } from '../../src/chat/nicks.ts'
import { DirectMessages } from '../../src/chat/direct.ts'
import { Store } from '../../src/store/store.ts'
import { toRpcError } from '../../src/rpc/errors.ts'
import { buildTMsg, Kind } from '../../src/wire/index.ts'
import { accountTarget } from '../../src/targets.ts'
import type { SendResult } from '../../src/node/node.ts'
import { toHex } from '../../src/wire/tmsg.ts'

const alice = Identity.generate()
const bob = Identity.generate()
const mallory = Identity.generate()
const text = Buffer.from('secret dm: meet at noon')

const newStore = (): Store => new Store(join(mkdtempSync(join(tmpdir(), 'tmsg-direct-')), 'tmsg.db'))

describe('seal / open', () => {
  it('round-trips for the recipient, and the wire bytes hide the text', () => {
    const sealed = seal(text, bob.publicKey, alice.publicKey)
    expect(sealed.length).toBe(text.length + SEAL_OVERHEAD)
    expect(Buffer.from(sealed).includes(Buffer.from('secret'))).toBe(false)
    expect(Buffer.from(open(sealed, bob.secret, bob.publicKey, alice.publicKey)).toString()).toBe(text.toString())
    // A fresh ephemeral key each time: the same text never seals to the same bytes.
    expect(Buffer.from(seal(text, bob.publicKey, alice.publicKey)).equals(Buffer.from(sealed))).toBe(false)
  })

  it('fails for a tampered ciphertext, tag or ephemeral key', () => {
    const sealed = seal(text, bob.publicKey, alice.publicKey)
    for (const i of [1, 20, 34, 40, sealed.length - 1]) {
      const bad = Uint8Array.from(sealed)
      bad[i]! ^= 0x01
      expect(() => open(bad, bob.secret, bob.publicKey, alice.publicKey)).toThrow(SealError)
    }
  })

  it('fails for the wrong recipient, and for another signer re-wrapping it', () => {
    const sealed = seal(text, bob.publicKey, alice.publicKey)
    expect(() => open(sealed, mallory.secret, mallory.publicKey, alice.publicKey)).toThrow(SealError)
    // The secret alone is not enough either: the recipient key is bound in the KDF.
    expect(() => open(sealed, bob.secret, mallory.publicKey, alice.publicKey)).toThrow(SealError)
    expect(() => open(sealed, bob.secret, bob.publicKey, mallory.publicKey)).toThrow(SealError)
  })

  it('fails for truncated, empty, unknown-version and oversized-garbage payloads', () => {
    const sealed = seal(text, bob.publicKey, alice.publicKey)
    for (const n of [0, 1, 33, SEAL_OVERHEAD - 1, SEAL_OVERHEAD, sealed.length - 1]) {
      expect(() => open(sealed.subarray(0, n), bob.secret, bob.publicKey, alice.publicKey)).toThrow(SealError)
    }
    const v2 = Uint8Array.from(sealed)
    v2[0] = 2
    expect(() => open(v2, bob.secret, bob.publicKey, alice.publicKey)).toThrow(/version/)
    expect(() => open(new Uint8Array(200).fill(7), bob.secret, bob.publicKey, alice.publicKey)).toThrow(SealError)
    expect(() => seal(text, new Uint8Array(33).fill(9), alice.publicKey)).toThrow(SealError)
  })
})

describe('nick book', () => {
  it('resolves a nick heard from zero, one and two keys', () => {
    const book = new NickBook(newStore().db)
    expect(() => book.resolve('@bob')).toThrow(UnknownNickError)
    const none = toRpcError(catching(() => book.resolve('@bob')))
    expect(none.code).toBe(-32002)
    expect(none.message).toMatch(/no signed message from @bob has been heard.*acct:/)

    expect(book.heard('Bob', bob.publicKey, 1000)).toEqual({ newPair: true, others: [] })
    expect(book.resolve('@BOB')).toBe(bob.account)
    expect(toHex(book.publicKey(bob.account)!)).toBe(toHex(bob.publicKey))
    expect(book.heard('bob', bob.publicKey, 2000)).toEqual({ newPair: false, others: [] })

    expect(book.heard('bob', mallory.publicKey, 3000)).toEqual({ newPair: true, others: [bob.account] })
    expect(() => book.resolve('@bob')).toThrow(AmbiguousNickError)
    const several = toRpcError(catching(() => book.resolve('@bob')))
    expect(several.code).toBe(-32602)
    expect(several.message).toContain(bob.account)
    expect(several.message).toContain(mallory.account)
    expect(several.data.accounts).toEqual([bob.account, mallory.account])
    expect(book.keysOf('@bob').map(k => [k.account, k.firstSeen])).toEqual([[bob.account, 1000], [mallory.account, 3000]])
  })

  it('takes acct:<address> and bare addresses as they are, and refuses anything else', () => {
    const book = new NickBook(newStore().db)
    expect(book.resolve('acct:' + alice.account)).toBe(alice.account)
    expect(book.resolve(alice.account)).toBe(alice.account)
    expect(toRpcError(catching(() => book.resolve('acct:1notanaddress'))).code).toBe(-32602)
    expect(toRpcError(catching(() => book.resolve('@no spaces'))).code).toBe(-32602)
  })
})

describe('direct messages', () => {
  function endpoint (id: Identity): { dm: DirectMessages, store: Store, sent: SendResult[] } {
    const store = newStore()
    const sent: SendResult[] = []
    const dm = new DirectMessages({
      identity: id,
      nicks: new NickBook(store.db),
      store,
      send: o => {
        const msg = buildTMsg({ ...o, signer: id })
        const r = { msg, msgId: toHex(msg.msgId), neighbours: 1 }
        sent.push(r)
        return r
      }
    })
    return { dm, store, sent }
  }

  it('sends to a key heard as @bob; only bob opens it; both keep the conversation', () => {
    const a = endpoint(alice)
    const b = endpoint(bob)
    const m = endpoint(mallory)
    expect(() => a.dm.send('@bob', 'alice', 'hi', false)).toThrow(UnknownNickError)
    a.dm['host'].nicks.heard('bob', bob.publicKey)
    const { result, message } = a.dm.send('@bob', 'alice', 'secret dm', false)
    expect(result.msg.kind).toBe(Kind.DIRECT)
    expect(toHex(result.msg.target)).toBe(accountTarget(bob.account).hex)
    expect(message).toMatchObject({ kind: 'direct', text: 'secret dm', nick: 'alice', account: alice.account, peer: bob.account, encrypted: true, verified: true })

    const got = b.dm.receive(result.msg, true, 5)
    expect(got).toMatchObject({ kind: 'direct', text: 'secret dm', nick: 'alice', account: alice.account, peer: alice.account, encrypted: true, msgId: result.msgId })
    expect(b.dm.receive(result.msg, true, 6)).toBeUndefined() // a second copy is not shown again
    expect(b.dm.unopened).toBe(0)
    expect(b.dm.history(alice.account, 10)!.map(x => x.text)).toEqual(['secret dm'])
    expect(a.dm.history(bob.account, 10)!.map(x => [x.text, x.account])).toEqual([['secret dm', alice.account]])

    // Someone else who hears it (a subscriber to bob's account) gets nothing, and counts it.
    expect(m.dm.receive(result.msg, true, 5)).toBeUndefined()
    expect(m.dm.unopened).toBe(1)
    // Unverified, or re-signed by another key: dropped and counted, never shown.
    expect(b.dm.receive({ ...result.msg, signature: new Uint8Array(0) }, false, 5)).toBeUndefined()
    const resigned = buildTMsg({ target: result.msg.target, payload: result.msg.payload, kind: Kind.DIRECT, signer: mallory })
    expect(b.dm.receive(resigned, true, 5)).toBeUndefined()
    expect(b.dm.unopened).toBe(2)
  })
})

describe('conversation store', () => {
  it('keeps conversations per peer, pages by msgId, and caps each one', () => {
    const store = new Store(join(mkdtempSync(join(tmpdir(), 'tmsg-direct-')), 'tmsg.db'), { historyPerTarget: 50 })
    const row = (peer: string, i: number): Parameters<Store['addDirect']>[0] => ({
      msgId: Buffer.from(`${peer.slice(0, 4)}${String(i).padStart(12, '0')}`), peer, outgoing: i % 2 === 0, target: Buffer.alloc(16), sender: alice.publicKey,
      payload: Buffer.from('sealed'), nick: 'n', text: `m${i}`, action: false, verified: true, ttl: 7, hops: 0, timestamp: i, receivedAt: i
    })
    for (let i = 0; i < 400; i++) expect(store.addDirect(row(bob.account, i))).toBe(true)
    expect(store.addDirect(row(bob.account, 399))).toBe(false) // the same message twice is kept once
    for (let i = 0; i < 3; i++) store.addDirect(row(mallory.account, i))
    const bobs = store.directHistory(bob.account, 1000)!
    expect(bobs.length).toBeLessThan(400)
    expect(bobs.length).toBeGreaterThanOrEqual(50)
    expect(bobs.at(-1)!.text).toBe('m399')
    expect(store.directHistory(mallory.account, 1000)!.map(r => r.text)).toEqual(['m0', 'm1', 'm2'])
    expect(store.directHistory(mallory.account, 10, row(mallory.account, 2).msgId)!.map(r => r.text)).toEqual(['m0', 'm1'])
    expect(store.directHistory(mallory.account, 10, row(bob.account, 399).msgId)).toBeUndefined()
    expect(store.directPeers()).toEqual([mallory.account, bob.account])
  })
})

function catching (f: () => unknown): unknown {
  try {
    f()
  } catch (err: unknown) {
    return err
  }
  throw new Error('expected an error')
}
