/**
 * Balance answers that prove themselves (DESIGN §8a): the owner's BEEF of the coins it counts,
 * checked by an asker with its own ledger and chain tracker. Anything that does not add up is
 * unproven — the answer is kept, only `proven` says false.
 */
import { describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Beef, Transaction, UnlockingScript } from '@bsv/sdk'
import type { ChainTracker } from '@bsv/sdk'
import { Identity } from '../../src/identity.ts'
import { DevLedger } from '../../src/layer2/chain/dev-ledger.ts'
import { Wallet } from '../../src/layer2/wallet/wallet.ts'
import { Store } from '../../src/store/store.ts'
import { MAX_PROOF_COINS, checkBalanceProof, proofOf } from '../../src/layer2/balances/balance.ts'
import { BalanceResponseType, encodeAs } from '../../src/layer2/proto.ts'
import { DEFAULT_MAX_PAYLOAD } from '../../src/wire/constants.ts'
import { p2pkhLock } from '../../src/layer2/chain/tx.ts'

const NOW = 1_800_000_000

function side (): { ledger: DevLedger, wallet: Wallet, id: Identity } {
  const d = mkdtempSync(join(tmpdir(), 'tmsg-proof-'))
  const ledger = new DevLedger(join(d, 'ledger.db'), { now: () => NOW })
  const id = Identity.generate()
  return { ledger, id, wallet: new Wallet(id, ledger, new Store(join(d, 'tmsg.db')).db) }
}

/** The asker's view: its own ledger's tracker (dev: trusts dev roots) and clock. */
const chainOf = (s: { ledger: DevLedger }): { tracker: ChainTracker, now: () => number } => ({ tracker: s.ledger.tracker, now: () => NOW })

/** A proven-looking answer from `owner`'s wallet, as the owner would send it. */
async function answerOf (owner: ReturnType<typeof side>, maxBytes = 256 * 1024): Promise<{ account: string, balance: number, status: string, beef: Uint8Array, coins: Array<{ txid: string, vout: number }> }> {
  const coins = await owner.wallet.spendable()
  const p = await proofOf(coins, owner.ledger, maxBytes)
  return { account: owner.id.account, balance: coins.reduce((s, c) => s + c.satoshis, 0), status: p.complete ? 'ok' : 'truncated', beef: p.beef, coins: p.coins }
}

describe('balance proofs', () => {
  it('coins minted, paid on from another ledger and changed: an asker on its own ledger proves them', async () => {
    const owner = side()
    const payer = side()
    const asker = side()
    await owner.wallet.faucet(40_000)
    await payer.wallet.faucet(90_000)
    // A payment from another ledger, learned by the owner (its BEEF has an unmined hop).
    const gift = await payer.wallet.fund(p2pkhLock(owner.id.account), 25_000)
    await payer.ledger.broadcast(gift)
    const { verifyBeef } = await import('../../src/layer2/chain/beef.ts')
    await owner.ledger.learn(await verifyBeef(await payer.wallet.beef(gift), chainOf(owner)))
    // And the owner's own change: an unmined transaction of its own.
    await owner.ledger.broadcast(await owner.wallet.fund(p2pkhLock(Identity.generate().account), 5_000))

    const a = await answerOf(owner)
    expect(a.status).toBe('ok')
    expect(a.coins.length).toBe(2)
    expect(a.balance).toBe((await owner.wallet.balance()).balance)
    expect(await checkBalanceProof(a, chainOf(asker))).toBe(true)
  })

  it('an answer that claims more, counts a coin twice, counts a stranger\'s coin, or has none is not proven', async () => {
    const owner = side()
    const stranger = side()
    const asker = side()
    await owner.wallet.faucet(10_000)
    await owner.wallet.faucet(20_000)
    await stranger.wallet.faucet(7_000)
    const a = await answerOf(owner)
    expect(await checkBalanceProof(a, chainOf(asker))).toBe(true)
    expect(await checkBalanceProof({ ...a, balance: a.balance + 1 }, chainOf(asker))).toBe(false)
    expect(await checkBalanceProof({ ...a, coins: [a.coins[0]!, a.coins[0]!], balance: 2 * 20_000 }, chainOf(asker))).toBe(false)
    // The stranger's real, provable coin is not the owner's.
    const s = await answerOf(stranger)
    expect(await checkBalanceProof({ ...s, account: owner.id.account }, chainOf(asker))).toBe(false)
    // An output that does not exist.
    expect(await checkBalanceProof({ ...a, coins: [{ txid: a.coins[0]!.txid, vout: 5 }, a.coins[1]!] }, chainOf(asker))).toBe(false)
    // Nothing to check proves nothing; a channel holder's answer and a truncated one are not proofs of the balance.
    expect(await checkBalanceProof({ ...a, coins: [], beef: new Uint8Array(0), balance: 0 }, chainOf(asker))).toBe(false)
    expect(await checkBalanceProof({ ...a, status: 'channels' }, chainOf(asker))).toBe(false)
    expect(await checkBalanceProof({ ...a, status: 'truncated' }, chainOf(asker))).toBe(false)
  })

  it('a merkle root the asker\'s chain does not know, a forged script or garbage: not proven', async () => {
    const owner = side()
    const asker = side()
    await owner.wallet.faucet(10_000)
    await owner.ledger.broadcast(await owner.wallet.fund(p2pkhLock(Identity.generate().account), 1_000))
    const a = await answerOf(owner)
    const noRoots: ChainTracker = { isValidRootForHeight: async () => await Promise.resolve(false), currentHeight: async () => await Promise.resolve(1) }
    expect(await checkBalanceProof(a, { tracker: noRoots, now: () => NOW })).toBe(false)
    // Re-sign nothing, just swap the unmined transaction's unlocking script for another's: Spend fails.
    const beef = Beef.fromBinary([...a.beef])
    const unmined = beef.txs.find(b => b.bumpIndex === undefined)!
    const orig = unmined.tx!
    // Built afresh (the SDK caches a parsed transaction's bytes): the same spend, unlocked by no signature at all.
    const forged = new Transaction(orig.version, orig.inputs.map(i => ({ sourceTXID: i.sourceTXID!, sourceOutputIndex: i.sourceOutputIndex, sequence: i.sequence!, unlockingScript: UnlockingScript.fromHex('00') })),
      orig.outputs.map(o => ({ satoshis: o.satoshis!, lockingScript: o.lockingScript })), orig.lockTime)
    const bad = new Beef()
    for (const b of beef.txs) {
      const t = b.txid === unmined.txid ? forged : b.tx!
      if (b.bumpIndex !== undefined) t.merklePath = beef.bumps[b.bumpIndex]
      bad.mergeTransaction(t)
    }
    const forgedId = forged.id('hex')
    expect(await checkBalanceProof({ ...a, beef: Uint8Array.from(bad.toBinary()), coins: a.coins.map(c => c.txid === unmined.txid ? { ...c, txid: forgedId } : c) }, chainOf(asker))).toBe(false)
    expect(await checkBalanceProof({ ...a, beef: Uint8Array.from([1, 2, 3]) }, chainOf(asker))).toBe(false)
    // A tracker that cannot be reached is not a false proof either way: the caller hears it.
    const down: ChainTracker = { isValidRootForHeight: async () => await Promise.reject(new Error('unreachable')), currentHeight: async () => await Promise.resolve(1) }
    await expect(checkBalanceProof(a, { tracker: down, now: () => NOW })).rejects.toThrow('unreachable')
  })

  it('bounded: at most 100 coins, and only what fits the bytes; beyond that the owner says "truncated"', async () => {
    const owner = side()
    for (let i = 0; i < MAX_PROOF_COINS + 2; i++) await owner.wallet.faucet(1_000 + i)
    const all = await answerOf(owner)
    expect(all.status).toBe('truncated')
    expect(all.coins.length).toBe(MAX_PROOF_COINS)
    // The largest coins are the ones carried.
    expect(Math.min(...(await Promise.all(all.coins.map(async c => (await owner.ledger.output(c.txid, c.vout))!.satoshis))))).toBe(1_002)
    const small = await answerOf(owner, 2_000)
    expect(small.status).toBe('truncated')
    expect(small.beef.length).toBeLessThanOrEqual(2_000)
    expect(small.coins.length).toBeGreaterThan(0)
    expect(small.coins.length).toBeLessThan(MAX_PROOF_COINS)
    expect(await checkBalanceProof(small, chainOf(side()))).toBe(false)
    // The same coins, claimed as the whole balance, do check out: the bound is what made it unproven.
    const sum = (await Promise.all(small.coins.map(async c => (await owner.ledger.output(c.txid, c.vout))!.satoshis))).reduce((s, v) => s + v, 0)
    expect(await checkBalanceProof({ ...small, status: 'ok', balance: sum }, chainOf(side()))).toBe(true)
  })

  it('a proven answer always fits one default-size message, coin list included', async () => {
    const owner = side()
    for (let i = 0; i < 80; i++) await owner.wallet.faucet(500 + i)
    const coins = await owner.wallet.spendable()
    const base = { account: owner.id.account, asOf: Date.now(), channels: [], balance: coins.reduce((s, c) => s + c.satoshis, 0) }
    const rest = encodeAs(BalanceResponseType, { ...base, status: 'truncated' }).length + 16
    const p = await proofOf(coins, owner.ledger, DEFAULT_MAX_PAYLOAD - rest)
    expect(p.complete).toBe(false)
    expect(p.coins.length).toBeGreaterThan(20)
    const payload = encodeAs(BalanceResponseType, { ...base, status: 'truncated', beef: p.beef, coins: p.coins })
    expect(payload.length).toBeLessThanOrEqual(DEFAULT_MAX_PAYLOAD)
  })
})
