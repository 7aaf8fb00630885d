/** Scripts, transactions, the development ledger and the wallet, with @bsv/sdk doing the checking. */
import { describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PrivateKey, PublicKey, Signature, TransactionSignature, Transaction } from '@bsv/sdk'
import { Identity } from '../../src/identity.ts'
import { DevLedger } from '../../src/layer2/chain/dev-ledger.ts'
import { LedgerRejectedError } from '../../src/layer2/chain/ledger.ts'
import { Wallet } from '../../src/layer2/wallet/wallet.ts'
import { Store } from '../../src/store/store.ts'
import { channelScript, completeChannelTx, depositOf, maxPayable, refundTx, signChannelTx, updateFee, updateTx, verifyChannelSigs } from '../../src/layer2/channels/transactions.ts'
import type { Parties } from '../../src/layer2/channels/transactions.ts'
import { MULTISIG_UNLOCK_MAX, fee, sighashDigest, sizeWith, validateInput } from '../../src/layer2/chain/tx.ts'

const dir = (): string => mkdtempSync(join(tmpdir(), 'tmsg-l2-'))

function setup (now = { t: 1_800_000_000 }): { ledger: DevLedger, client: Identity, provider: Identity, wallet: Wallet, parties: Parties, now: { t: number } } {
  const d = dir()
  const ledger = new DevLedger(join(d, 'ledger.db'), { now: () => now.t })
  const client = Identity.generate()
  const provider = Identity.generate()
  const store = new Store(join(d, 'tmsg.db'))
  const wallet = new Wallet(client, ledger, store.db)
  return { ledger, client, provider, wallet, now, parties: { clientKey: client.publicKey, providerKey: provider.publicKey, clientAddress: client.account, providerAddress: provider.account } }
}

describe('scripts and signatures', () => {
  it('the 2-of-2 script is OP_2 <C> <P> OP_2 OP_CHECKMULTISIG', () => {
    const { parties } = setup()
    const hex = Buffer.from(parties.clientKey).toString('hex')
    const phex = Buffer.from(parties.providerKey).toString('hex')
    expect(channelScript(parties).toASM()).toBe(`OP_2 ${hex} ${phex} OP_2 OP_CHECKMULTISIG`)
  })

  it('a signature made through node:crypto verifies with @bsv/sdk over the SDK sighash', async () => {
    const { wallet, client, parties } = setup()
    await wallet.faucet(50_000)
    const funding = await wallet.fund(channelScript(parties), 20_000)
    const f = [{ txid: funding.id('hex'), vout: 0, satoshis: 20_000 }]
    const u = updateTx(f, parties, 1000, 1)
    const [sig] = signChannelTx(u, f, parties, client)
    const digest = sighashDigest(u, 0, { satoshis: 20_000, lockingScript: channelScript(parties) })
    const s = TransactionSignature.fromChecksigFormat([...sig!])
    expect(s.scope).toBe(TransactionSignature.SIGHASH_ALL | TransactionSignature.SIGHASH_FORKID)
    // The SDK hashes what it is given once more: sha256(sha256(preimage)), as BSV signs.
    expect(PublicKey.fromString(Buffer.from(client.publicKey).toString('hex')).verify([...digest], new Signature(s.r, s.s))).toBe(true)
  })
})

describe('channel fees', () => {
  it('updateFee is the fee of a real update of that many inputs, whoever the parties are', () => {
    const { parties } = setup()
    for (const n of [1, 2, 3]) {
      const f = Array.from({ length: n }, (_, i) => ({ txid: String(i).repeat(64), vout: 0, satoshis: 50_000 }))
      const u = updateTx(f, parties, 1000, 1)
      expect(u.outputs).toHaveLength(2)
      expect(updateFee(n)).toBe(fee(sizeWith(u, f.map(() => MULTISIG_UNLOCK_MAX))))
    }
  })
})

describe('development ledger', () => {
  it('accepts a valid spend and rejects a double spend, a missing input, bad scripts and created value', async () => {
    const { ledger, wallet, parties, client } = setup()
    await wallet.faucet(100_000)
    const funding = await wallet.fund(channelScript(parties), 30_000)
    expect(await ledger.broadcast(funding)).toBe(funding.id('hex'))
    expect(await ledger.broadcast(funding)).toBe(funding.id('hex')) // same transaction again: fine
    const f = [{ txid: funding.id('hex'), vout: 0, satoshis: 30_000 }]
    // A second, different spend of the same coin.
    const other = new Transaction(1, funding.inputs, [{ satoshis: 1000, lockingScript: funding.outputs[0]!.lockingScript }], 0)
    await expect(ledger.broadcast(other)).rejects.toMatchObject({ reason: 'double-spend' })
    // Only the client signed: the 2-of-2 script fails.
    const u = updateTx(f, parties, 1000, 1)
    const sigs = signChannelTx(u, f, parties, client)
    u.inputs[0]!.unlockingScript = (await import('../../src/layer2/chain/tx.ts')).multisigUnlock(sigs[0]!, sigs[0]!)
    await expect(ledger.broadcast(u)).rejects.toMatchObject({ reason: 'script' })
    const ghost = updateTx([{ txid: 'ab'.repeat(32), vout: 0, satoshis: 30_000 }], parties, 1000, 1)
    await expect(ledger.broadcast(ghost)).rejects.toBeInstanceOf(LedgerRejectedError)
    await expect(ledger.broadcast(ghost)).rejects.toMatchObject({ reason: 'missing-input' })
    const greedy = new Transaction(1, u.inputs, [{ satoshis: 40_000, lockingScript: u.outputs[0]!.lockingScript }], 0)
    await expect(ledger.broadcast(greedy)).rejects.toMatchObject({ reason: 'value' })
  })

  it('holds a refund until its lock time has passed (injected clock), then accepts it', async () => {
    const env = setup()
    const { ledger, wallet, parties, client, provider, now } = env
    await wallet.faucet(100_000)
    const funding = await wallet.fund(channelScript(parties), 30_000)
    await ledger.broadcast(funding)
    const f = [{ txid: funding.id('hex'), vout: 0, satoshis: 30_000 }]
    const expiry = now.t + 3600
    const unsigned = refundTx(f, client.account, expiry)
    const r = completeChannelTx(unsigned, f, parties, signChannelTx(unsigned, f, parties, client), signChannelTx(unsigned, f, parties, provider))
    await expect(ledger.broadcast(r)).rejects.toMatchObject({ reason: 'non-final' })
    now.t = expiry // not yet: nLockTime must be strictly below the clock
    await expect(ledger.broadcast(r)).rejects.toMatchObject({ reason: 'non-final' })
    now.t = expiry + 1
    expect(await ledger.broadcast(r)).toBe(r.id('hex'))
    expect((await wallet.balance()).balance).toBeGreaterThan(99_000)
  })

  it('settles an update signed by both, paying each side exactly', async () => {
    const { ledger, wallet, parties, client, provider } = setup()
    await wallet.faucet(100_000)
    const funding = await wallet.fund(channelScript(parties), 30_000)
    await ledger.broadcast(funding)
    const f = [{ txid: funding.id('hex'), vout: 0, satoshis: 30_000 }]
    const u = updateTx(f, parties, 12_345, 7)
    const cs = signChannelTx(u, f, parties, client)
    expect(verifyChannelSigs(u, f, parties, client.publicKey, cs)).toBe(true)
    expect(verifyChannelSigs(u, f, parties, provider.publicKey, cs)).toBe(false)
    await ledger.broadcast(completeChannelTx(u, f, parties, cs, signChannelTx(u, f, parties, provider)))
    expect((await ledger.unspent((await import('../../src/layer2/chain/tx.ts')).p2pkhLock(provider.account).toHex()))[0]!.satoshis).toBe(12_345)
    expect(depositOf(f) - maxPayable(f)).toBeGreaterThan(0) // the fee
  })

  it('runs the SDK interpreter on a wallet payment (P2PKH signed via node:crypto)', async () => {
    const { wallet, parties, ledger } = setup()
    await wallet.faucet(10_000)
    const tx = await wallet.fund(channelScript(parties), 5_000)
    const src = (await ledger.output(tx.inputs[0]!.sourceTXID!, 0))!
    expect(() => { validateInput(tx, 0, { satoshis: src.satoshis, lockingScript: wallet.script }) }).not.toThrow()
    expect(tx.version).toBe(1)
  })

  it('reserves the coins of an unbroadcast funding, and releases them', async () => {
    const { wallet, parties } = setup()
    await wallet.faucet(10_000)
    const tx = await wallet.fund(channelScript(parties), 5_000)
    expect(await wallet.balance()).toMatchObject({ balance: 0, reserved: 10_000 })
    await expect(wallet.fund(channelScript(parties), 1_000)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' })
    wallet.release(tx.id('hex'))
    expect((await wallet.balance()).balance).toBe(10_000)
  })

  it('shares one ledger file between two processes-worth of handles', async () => {
    const d = dir()
    const a = new DevLedger(join(d, 'shared.db'))
    const b = new DevLedger(join(d, 'shared.db'))
    const key = PrivateKey.fromRandom().toPublicKey().toAddress()
    const script = (await import('../../src/layer2/chain/tx.ts')).p2pkhLock(key).toHex()
    await a.mint(script, 777)
    expect((await b.unspent(script)).map(o => o.satoshis)).toEqual([777])
    a.close(); b.close()
  })
})
