/**
 * Sealed direct messages (DESIGN §9): how many a core can seal and open per second, and the
 * whole path of one DM in process (resolve, seal, sign, keep; verify, open, keep) over SQLite.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Identity, verifySignature } from '../src/identity.ts'
import { open, seal } from '../src/chat/seal.ts'
import { encodeChat } from '../src/chat/codec.ts'
import { NickBook } from '../src/chat/nicks.ts'
import { DirectMessages } from '../src/chat/direct.ts'
import { Store } from '../src/store/store.ts'
import { buildTMsg, idBytes, toHex } from '../src/wire/index.ts'

export interface DirectBench {
  sealPerSec: number
  openPerSec: number
  /** Sender side: resolve @nick, seal, sign, keep in tmsg.db. */
  sendPerSec: number
  /** Recipient side: verify the signature, open, keep in tmsg.db. */
  receivePerSec: number
  plaintextBytes: number
  sealedBytes: number
}

function rate (seconds: number, f: () => void): number {
  const end = performance.now() + seconds * 1000
  let n = 0
  const t0 = performance.now()
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) f()
    n += 50
  }
  return n / ((performance.now() - t0) / 1000)
}

export function directBench (seconds = 2): DirectBench {
  const alice = Identity.generate()
  const bob = Identity.generate()
  const plain = encodeChat({ nick: 'alice', text: 'x'.repeat(100), action: false })
  const sealed = seal(plain, bob.publicKey, alice.publicKey)
  const sealPerSec = rate(seconds, () => { seal(plain, bob.publicKey, alice.publicKey) })
  const openPerSec = rate(seconds, () => { open(sealed, bob.secret, bob.publicKey, alice.publicKey) })

  const dir = mkdtempSync(join(tmpdir(), 'tmsg-bench-dm-'))
  const storeA = new Store(join(dir, 'a.db'))
  const storeB = new Store(join(dir, 'b.db'))
  const sent: ReturnType<typeof buildTMsg>[] = []
  const a = new DirectMessages({
    identity: alice,
    nicks: new NickBook(storeA.db),
    store: storeA,
    send: o => {
      const msg = buildTMsg({ ...o, signer: alice })
      sent.push(msg)
      return { msg, msgId: toHex(msg.msgId), neighbours: 1 }
    }
  })
  const b = new DirectMessages({ identity: bob, nicks: new NickBook(storeB.db), store: storeB, send: () => { throw new Error('bob only receives') } })
  new NickBook(storeA.db).heard('bob', bob.publicKey)
  const sendPerSec = rate(seconds, () => { a.send('@bob', 'alice', 'x'.repeat(100), false) })
  let i = 0
  const receivePerSec = rate(seconds, () => {
    const msg = sent[i++ % sent.length]!
    const verified = verifySignature(msg.sender, idBytes(msg), msg.signature)
    if (b.receive(msg, verified, Date.now()) === undefined && i <= sent.length) throw new Error('a DM did not open')
  })
  storeA.close()
  storeB.close()
  return { sealPerSec, openPerSec, sendPerSec, receivePerSec, plaintextBytes: plain.length, sealedBytes: sealed.length }
}
