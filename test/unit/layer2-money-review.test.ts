/**
 * Ways a peer could make a node accept money that does not exist (DESIGN §8a), each closed by
 * a check whose removal fails one of these tests.
 */
import { describe, expect, it } from 'vitest'
import { Beef, MerklePath, Transaction, UnlockingScript } from '@bsv/sdk'
import type { ChainTracker } from '@bsv/sdk'
import { Identity } from '../../src/identity.ts'
import { BeefError, verifyBeef } from '../../src/layer2/chain/beef.ts'
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
