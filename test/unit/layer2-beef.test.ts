/**
 * BEEF (DESIGN §8a): a transaction handed to a peer with its ancestors and merkle paths. Two
 * nodes with separate dev ledgers: what one wallet builds, the other verifies and learns.
 */
import { describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Beef, MerklePath, Transaction } from '@bsv/sdk'
import type { ChainTracker } from '@bsv/sdk'
import { Identity } from '../../src/identity.ts'
import { DevLedger } from '../../src/layer2/chain/dev-ledger.ts'
import { LedgerRejectedError } from '../../src/layer2/chain/ledger.ts'
import { Wallet } from '../../src/layer2/wallet/wallet.ts'
import { Store } from '../../src/store/store.ts'
import { BeefError, beefOf, verifyBeef } from '../../src/layer2/chain/beef.ts'
import { FINAL_SEQUENCE, TX_VERSION, inputOf, outputOf, p2pkhLock, p2pkhUnlock, signInput } from '../../src/layer2/chain/tx.ts'

const NOW = 1_800_000_000

function side (): { ledger: DevLedger, wallet: Wallet, id: Identity } {
  const d = mkdtempSync(join(tmpdir(), 'tmsg-beef-'))
  const ledger = new DevLedger(join(d, 'ledger.db'), { now: () => NOW })
  const id = Identity.generate()
  return { ledger, id, wallet: new Wallet(id, ledger, new Store(join(d, 'tmsg.db')).db) }
}

const view = (tracker: ChainTracker): { tracker: ChainTracker, now: () => number } => ({ tracker, now: () => NOW })

/** A chain tracker that knows exactly these roots (what WhatsOnChain / headers would say). */
function knownRoots (ledger: DevLedger): ChainTracker {
  return {
    isValidRootForHeight: async (root, height) => {
      const txid = root // a dev block holds one coinbase: its root is its txid
      const k = await ledger.known(txid)
      return k?.proof?.blockHeight === height
    },
    currentHeight: async () => await Promise.resolve(ledger.height())
  }
}

async function rejection (p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err: unknown) {
    if (err instanceof BeefError) return err.reason
    throw err
  }
  throw new Error('expected a BeefError')
}

/** Pays `amount` from `from`'s wallet to `to`, signed; lets the test tamper with it before signing. */
async function pay (from: { wallet: Wallet }, to: Identity, amount: number): Promise<Transaction> {
  return await from.wallet.fund(p2pkhLock(to.account), amount)
}

describe('BEEF between two separate ledgers', () => {
  it('round trip: alice pays bob through two unmined hops; bob verifies and his ledger learns the coin', async () => {
    const alice = side()
    const bob = side()
    await alice.wallet.faucet(100_000)
    const first = await pay(alice, alice.id, 60_000) // an unmined ancestor, to herself
    await alice.ledger.broadcast(first)
    const tx = await pay(alice, bob.id, 25_000)
    await alice.ledger.broadcast(tx)

    const bytes = await alice.wallet.beef(tx)
    const beef = Beef.fromBinary(bytes)
    expect(beef.atomicTxid).toBe(tx.id('hex'))
    expect(beef.txs.length).toBe(3) // coinbase (mined), first, tx
    expect(beef.bumps.length).toBe(1)

    // Bob checks roots against what alice's chain really mined, not against trust.
    const v = await verifyBeef(bytes, view(knownRoots(alice.ledger)), tx.id('hex'))
    expect(v.txs.map(t => t.id('hex')).at(-1)).toBe(tx.id('hex'))
    expect(await bob.wallet.balance()).toMatchObject({ balance: 0 })
    await bob.ledger.learn(v)
    await bob.ledger.learn(v) // again: no change
    expect(await bob.wallet.balance()).toMatchObject({ balance: 25_000, utxos: 1 })

    // Bob can now spend it on his own ledger, and hand that on as BEEF in turn.
    const onward = await pay(bob, alice.id, 10_000)
    await bob.ledger.broadcast(onward)
    const carol = side()
    await carol.ledger.learn(await verifyBeef(await bob.wallet.beef(onward), view(carol.ledger.tracker)))
    expect((await carol.ledger.output(onward.id('hex'), 0))?.satoshis).toBe(10_000)
  })

  it('the dev tracker accepts dev-chain roots (the named shortcut) — a wrong root fails a real tracker', async () => {
    const alice = side()
    const bob = side()
    await alice.wallet.faucet(50_000)
    const tx = await pay(alice, bob.id, 20_000)
    const bytes = await alice.wallet.beef(tx)
    await expect(verifyBeef(bytes, view(bob.ledger.tracker))).resolves.toMatchObject({ txid: tx.id('hex') })
    // A tracker of another chain (bob's own dev blocks) does not know alice's root.
    await bob.wallet.faucet(1)
    expect(await rejection(verifyBeef(bytes, view(knownRoots(bob.ledger))))).toBe('merkle-root')
  })

  it('rejects a BEEF that lacks an unmined ancestor', async () => {
    const alice = side()
    await alice.wallet.faucet(50_000)
    const mid = await pay(alice, alice.id, 30_000)
    await alice.ledger.broadcast(mid)
    const tx = await pay(alice, Identity.generate(), 10_000)
    const full = Beef.fromBinary(await alice.wallet.beef(tx))
    const cut = new Beef()
    for (const b of full.txs) {
      if (b.txid === mid.id('hex')) continue
      const t = b.tx!
      if (b.bumpIndex !== undefined) t.merklePath = full.bumps[b.bumpIndex]
      cut.mergeTransaction(t)
    }
    expect(await rejection(verifyBeef(cut.toUint8ArrayAtomic(tx.id('hex')), view(alice.ledger.tracker)))).toBe('missing-ancestor')
    // And the builder refuses to build from a history with a gap.
    const stranger = side()
    expect(await rejection(beefOf(tx, stranger.ledger))).toBe('missing-ancestor')
  })

  it('rejects a bad script, value created, a non-final transaction, the wrong subject, and garbage', async () => {
    const alice = side()
    await alice.wallet.faucet(50_000)
    const coin = (await alice.ledger.unspent(alice.wallet.script.toHex()))[0]!
    const bob = Identity.generate()
    const build = (amount: number, lockTime: number, sequence: number, signer: Identity): Transaction => {
      const tx = new Transaction(TX_VERSION, [inputOf(coin, sequence)], [outputOf(amount, p2pkhLock(bob.account))], lockTime)
      const sig = signInput(tx, 0, { satoshis: coin.satoshis, lockingScript: alice.wallet.script }, signer)
      tx.inputs[0]!.unlockingScript = p2pkhUnlock(sig, signer.publicKey)
      return tx
    }
    const beefOfTx = async (tx: Transaction): Promise<Uint8Array> => await beefOf(tx, alice.ledger)
    const tracker = view(alice.ledger.tracker)

    await expect(verifyBeef(await beefOfTx(build(40_000, 0, FINAL_SEQUENCE, alice.id)), tracker)).resolves.toBeDefined()
    expect(await rejection(verifyBeef(await beefOfTx(build(40_000, 0, FINAL_SEQUENCE, Identity.generate())), tracker))).toBe('script')
    expect(await rejection(verifyBeef(await beefOfTx(build(50_001, 0, FINAL_SEQUENCE, alice.id)), tracker))).toBe('value')
    expect(await rejection(verifyBeef(await beefOfTx(build(40_000, NOW + 3600, 0, alice.id)), tracker))).toBe('non-final')
    // The same lock time once passed, or with a final input, is final.
    await expect(verifyBeef(await beefOfTx(build(40_000, NOW - 1, 0, alice.id)), tracker)).resolves.toBeDefined()
    await expect(verifyBeef(await beefOfTx(build(40_000, NOW + 3600, FINAL_SEQUENCE, alice.id)), tracker)).resolves.toBeDefined()
    expect(await rejection(verifyBeef(await beefOfTx(build(40_000, 0, FINAL_SEQUENCE, alice.id)), tracker, coin.txid))).toBe('wrong-subject')
    expect(await rejection(verifyBeef(Uint8Array.from([1, 2, 3, 4, 5]), tracker))).toBe('malformed')
  })

  it('a mined ancestor with a merkle path that does not lead to its block root is refused', async () => {
    const alice = side()
    await alice.wallet.faucet(50_000)
    const tx = await pay(alice, Identity.generate(), 10_000)
    const full = Beef.fromBinary(await alice.wallet.beef(tx))
    const coinbase = full.txs.find(b => b.bumpIndex !== undefined)!
    // Claim the coinbase sits in a two-transaction block next to a made-up sibling.
    const forged = new Beef()
    const path = new MerklePath(full.bumps[0]!.blockHeight, [[{ offset: 0, hash: coinbase.txid, txid: true }, { offset: 1, hash: 'ab'.repeat(32) }]])
    const cb = coinbase.tx!
    cb.merklePath = path
    forged.mergeTransaction(cb)
    forged.mergeTransaction(Transaction.fromBinary(tx.toBinary()))
    expect(await rejection(verifyBeef(forged.toUint8ArrayAtomic(tx.id('hex')), view(knownRoots(alice.ledger))))).toBe('merkle-root')
  })

  it('the learning ledger refuses a transaction that spends what it already saw spent', async () => {
    const alice = side()
    const bob = side()
    await alice.wallet.faucet(50_000)
    const coin = (await alice.ledger.unspent(alice.wallet.script.toHex()))[0]!
    const spendTo = (who: Identity, amount: number): Transaction => {
      const tx = new Transaction(TX_VERSION, [inputOf(coin, FINAL_SEQUENCE)], [outputOf(amount, p2pkhLock(who.account))], 0)
      tx.inputs[0]!.unlockingScript = p2pkhUnlock(signInput(tx, 0, { satoshis: coin.satoshis, lockingScript: alice.wallet.script }, alice.id), alice.id.publicKey)
      return tx
    }
    const one = spendTo(bob.id, 40_000)
    const two = spendTo(Identity.generate(), 39_000)
    await bob.ledger.learn(await verifyBeef(await beefOf(one, alice.ledger), view(bob.ledger.tracker)))
    const conflict = await verifyBeef(await beefOf(two, alice.ledger), view(bob.ledger.tracker))
    await expect(bob.ledger.learn(conflict)).rejects.toBeInstanceOf(LedgerRejectedError)
    expect(await bob.wallet.balance()).toMatchObject({ balance: 40_000 })
  })
})
