/**
 * Ways a peer could make a node accept money that does not exist (DESIGN §8a), each closed by
 * a check whose removal fails one of these tests.
 */
import { describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Beef, MerklePath, Transaction, UnlockingScript } from '@bsv/sdk'
import type { ChainTracker } from '@bsv/sdk'
import { Identity } from '../../src/identity.ts'
import { BeefError, beefOf, verifyBeef } from '../../src/layer2/chain/beef.ts'
import { DevLedger } from '../../src/layer2/chain/dev-ledger.ts'
import { Wallet } from '../../src/layer2/wallet/wallet.ts'
import { Store } from '../../src/store/store.ts'
import { FINAL_SEQUENCE, TX_VERSION, inputOf, outputOf, p2pkhLock, p2pkhUnlock, signInput } from '../../src/layer2/chain/tx.ts'

const NOW = 1_800_000_000

/** A tracker of a real chain that knows none of these roots; records what it was asked. */
function strictTracker (): ChainTracker & { asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    isValidRootForHeight: async (root, height) => { asked.push(`${height}:${root}`); return await Promise.resolve(false) },
    currentHeight: async () => await Promise.resolve(900_000)
  }
}

async function rejection (p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err: unknown) {
    if (err instanceof BeefError) return err.reason
    throw err
  }
  return 'accepted'
}

/** Mallory "mines" `satoshis` to herself on a made-up path and pays `to` from it. */
function forgedPayment (path: (txid: string) => MerklePath, to: Identity, satoshis: number): { beef: Beef, pay: Transaction } {
  const mallory = Identity.generate()
  const lock = p2pkhLock(mallory.account)
  const fake = new Transaction(TX_VERSION, [{ sourceTXID: '11'.repeat(32), sourceOutputIndex: 0, sequence: FINAL_SEQUENCE, unlockingScript: new UnlockingScript([]) }], [outputOf(satoshis, lock)], 0)
  fake.merklePath = path(fake.id('hex'))
  const pay = new Transaction(TX_VERSION, [inputOf({ txid: fake.id('hex'), vout: 0, satoshis }, FINAL_SEQUENCE)], [outputOf(satoshis - 1000, p2pkhLock(to.account))], 0)
  pay.inputs[0]!.unlockingScript = p2pkhUnlock(signInput(pay, 0, { satoshis, lockingScript: lock }, mallory), mallory.publicKey)
  const beef = new Beef()
  beef.mergeTransaction(fake)
  beef.mergeTransaction(pay)
  return { beef, pay }
}

describe('BEEF a peer forges', () => {
  it('a mined ancestor on a merkle path leaf not flagged as a txid still has its root checked by the tracker', async () => {
    // The SDK's verifyValid only computes roots from flagged leaves: with none flagged, no root was asked.
    const { beef, pay } = forgedPayment(txid => new MerklePath(800_000, [[{ offset: 0, hash: txid }, { offset: 1, hash: 'ab'.repeat(32) }]]), Identity.generate(), 21e14)
    const tracker = strictTracker()
    expect(await rejection(verifyBeef(beef.toUint8ArrayAtomic(pay.id('hex')), { tracker, now: () => NOW }, pay.id('hex')))).toBe('merkle-root')
    expect(tracker.asked.length).toBe(1)
  })
})

describe('value a transaction in a BEEF may not create', () => {
  it('one coin spent twice by the same transaction is refused (its value would count twice)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tmsg-review-'))
    const alice = new DevLedger(join(d, 'a.db'), { now: () => NOW })
    const aliceId = Identity.generate()
    const wallet = new Wallet(aliceId, alice, new Store(join(d, 'a-store.db')).db)
    await wallet.faucet(10_000)
    const coin = (await alice.unspent(wallet.script.toHex()))[0]!
    const tx = new Transaction(TX_VERSION, [inputOf(coin, FINAL_SEQUENCE), inputOf(coin, FINAL_SEQUENCE)], [outputOf(19_000, p2pkhLock(Identity.generate().account))], 0)
    for (const i of [0, 1]) tx.inputs[i]!.unlockingScript = p2pkhUnlock(signInput(tx, i, { satoshis: coin.satoshis, lockingScript: wallet.script }, aliceId), aliceId.publicKey)
    expect(await rejection(verifyBeef(await beefOf(tx, alice), { tracker: alice.tracker, now: () => NOW }))).toBe('malformed')
  })
})

describe('what a ledger learns from a mined transaction', () => {
  it('the outputs a mined transaction spends are spent in this view too', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tmsg-review-'))
    const alice = new DevLedger(join(d, 'a.db'), { now: () => NOW })
    const bob = new DevLedger(join(d, 'b.db'), { now: () => NOW })
    const aliceId = Identity.generate()
    const wallet = new Wallet(aliceId, alice, new Store(join(d, 'a-store.db')).db)
    await wallet.faucet(20_000)
    const pay = await wallet.fund(p2pkhLock(Identity.generate().account), 5_000)
    await alice.broadcast(pay)
    // Bob learns the coin unmined, then sees the same coin's spend as mined (in a dev block of its own).
    const first = await wallet.fund(p2pkhLock(aliceId.account), 3_000)
    await alice.broadcast(first)
    await bob.learn(await verifyBeef(await beefOf(pay, alice), { tracker: bob.tracker, now: () => NOW }))
    const coin = { txid: pay.id('hex'), vout: 1 }
    expect((await bob.output(coin.txid, coin.vout))?.spentBy).toBeUndefined()
    const mined = Transaction.fromBinary(first.toBinary())
    expect(mined.inputs.some(i => i.sourceTXID === coin.txid && i.sourceOutputIndex === coin.vout)).toBe(true)
    mined.merklePath = new MerklePath(12_345, [[{ offset: 0, hash: mined.id('hex'), txid: true }]])
    const beef = new Beef()
    beef.mergeTransaction(mined)
    await bob.learn(await verifyBeef(beef.toUint8ArrayAtomic(mined.id('hex')), { tracker: bob.tracker, now: () => NOW }))
    expect((await bob.output(coin.txid, coin.vout))?.spentBy).toBe(mined.id('hex'))
  })
})
