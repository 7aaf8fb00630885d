/** The channel checks (terms, funding + refund, payments), field by field; merkle proofs; terms; the ARC adapter. */
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { Transaction } from '@bsv/sdk'
import type { HttpClient } from '@bsv/sdk'
import { Identity } from '../../src/identity.ts'
import { checkFundingAndRefund, checkPayment, checkTerms } from '../../src/layer2/channels/checks.ts'
import type { ChannelView, PaymentClaim } from '../../src/layer2/channels/checks.ts'
import { channelScript, maxPayable, refundTx, signChannelTx, updateTx } from '../../src/layer2/channels/transactions.ts'
import type { Parties } from '../../src/layer2/channels/transactions.ts'
import { ChannelError } from '../../src/layer2/errors.ts'
import { inputOf, outputOf, p2pkhLock } from '../../src/layer2/chain/tx.ts'
import { MerkleFile, verifyChunk } from '../../src/layer2/channels/merkle.ts'
import { decodeTerms, encodeTerms } from '../../src/layer2/terms/terms.ts'
import { ArcBroadcaster } from '../../src/layer2/chain/arc.ts'
import { LedgerRejectedError } from '../../src/layer2/chain/ledger.ts'

const client = Identity.generate()
const provider = Identity.generate()
const stranger = Identity.generate()
const parties: Parties = { clientKey: client.publicKey, providerKey: provider.publicKey, clientAddress: client.account, providerAddress: provider.account }
const fundings = [{ txid: 'aa'.repeat(32), vout: 0, satoshis: 50_000 }]
const NOW = 1_800_000_000
const view: ChannelView = { fundings, parties, sequence: 4, paid: 4000, expiry: NOW + 3600 }

/** A correct next payment, then `tamper` applied to it (re-signed by `signer` unless told not to). */
function claim (tamper: (tx: Transaction, c: { sequence: number, paid: number }) => Transaction | void = () => {}, over: Partial<{ sequence: number, paid: number, signer: Identity, resign: boolean }> = {}): PaymentClaim {
  const c = { sequence: over.sequence ?? 5, paid: over.paid ?? 5000 }
  const base = updateTx(fundings, parties, Math.min(c.paid, maxPayable(fundings)), Math.min(Math.max(c.sequence, 1), 0xfffffffe))
  const tx = tamper(base, c) ?? base
  const signatures = signChannelTx(over.resign === false ? base : tx, fundings, parties, over.signer ?? client)
  return { sequence: c.sequence, paid: c.paid, tx, signatures }
}

function rebuilt (tx: Transaction, edit: (t: { version: number, lockTime: number, inputs: Transaction['inputs'], outputs: Transaction['outputs'] }) => void): Transaction {
  const t = { version: tx.version, lockTime: tx.lockTime, inputs: tx.inputs.map(i => ({ ...i })), outputs: tx.outputs.map(o => ({ ...o })) }
  edit(t)
  return new Transaction(t.version, t.inputs, t.outputs, t.lockTime)
}

function codeOf (fn: () => void): string | undefined {
  try {
    fn()
    return undefined
  } catch (err: unknown) {
    if (err instanceof ChannelError) return err.code
    throw err
  }
}

describe('provider payment checks (tamper matrix)', () => {
  it('accepts the honest next payment', () => {
    expect(codeOf(() => { checkPayment(view, claim(), NOW, 60) })).toBeUndefined()
  })

  it.each<[string, () => PaymentClaim, string]>([
    ['version 2', () => claim(tx => rebuilt(tx, t => { t.version = 2 })), 'BAD_VERSION'],
    ['non-zero lock time', () => claim(tx => rebuilt(tx, t => { t.lockTime = NOW + 10 })), 'BAD_LOCKTIME'],
    ['another outpoint', () => claim(tx => rebuilt(tx, t => { t.inputs[0]!.sourceTXID = 'bb'.repeat(32) })), 'WRONG_OUTPOINT'],
    ['another output index', () => claim(tx => rebuilt(tx, t => { t.inputs[0]!.sourceOutputIndex = 1 })), 'WRONG_OUTPOINT'],
    ['a second input', () => claim(tx => rebuilt(tx, t => { t.inputs.push({ ...t.inputs[0]!, sourceTXID: 'cc'.repeat(32) }) })), 'WRONG_OUTPOINT'],
    ['an old sequence', () => claim(undefined, { sequence: 4 }), 'SEQUENCE_NOT_INCREASING'],
    ['nSequence not the declared one', () => claim(tx => rebuilt(tx, t => { t.inputs[0]!.sequence = 9 })), 'BAD_SEQUENCE'],
    ['a final nSequence', () => claim(undefined, { sequence: 0xffffffff }), 'BAD_SEQUENCE'],
    ['an amount not above the last', () => claim(undefined, { paid: 4000 }), 'AMOUNT_NOT_INCREASING'],
    ['more than the deposit', () => claim(undefined, { paid: 50_000 }), 'OVER_DEPOSIT'],
    ['the provider output short-changed', () => claim(tx => rebuilt(tx, t => { t.outputs[0]!.satoshis = 4999 })), 'WRONG_OUTPUTS'],
    ['the change sent elsewhere', () => claim(tx => rebuilt(tx, t => { t.outputs[1]!.lockingScript = p2pkhLock(stranger.account) })), 'WRONG_OUTPUTS'],
    ['an extra output', () => claim(tx => rebuilt(tx, t => { t.outputs.push({ satoshis: 1, lockingScript: p2pkhLock(stranger.account) }) })), 'WRONG_OUTPUTS'],
    ['signed by someone else', () => claim(undefined, { signer: stranger }), 'BAD_SIGNATURE'],
    ['signed for other bytes', () => claim(tx => rebuilt(tx, t => { t.outputs.reverse() }), { resign: false }), 'WRONG_OUTPUTS'],
    ['a truncated signature', () => ({ ...claim(), signatures: [randomBytes(20)] }), 'BAD_SIGNATURE'],
    ['no signature', () => ({ ...claim(), signatures: [] }), 'BAD_SIGNATURE']
  ])('refuses %s', (_what, make, code) => {
    expect(codeOf(() => { checkPayment(view, make(), NOW, 60) })).toBe(code)
  })

  it('refuses payments inside the settlement margin before expiry', () => {
    expect(codeOf(() => { checkPayment(view, claim(), NOW + 3600 - 60, 60) })).toBe('TOO_CLOSE_TO_EXPIRY')
    expect(codeOf(() => { checkPayment(view, claim(), NOW + 3600 - 61, 60) })).toBeUndefined()
  })

  it('after a top-up, the same amount may be signed again over every funding, and only then', () => {
    const two = [...fundings, { txid: 'dd'.repeat(32), vout: 0, satoshis: 10_000 }]
    const again = (covered: number, paid = 4000): string | undefined => {
      const tx = updateTx(two, parties, paid, 5)
      return codeOf(() => { checkPayment({ ...view, fundings: two, covered }, { sequence: 5, paid, tx, signatures: signChannelTx(tx, two, parties, client) }, NOW, 60) })
    }
    expect(again(1)).toBeUndefined()
    expect(again(2)).toBe('AMOUNT_NOT_INCREASING')
    expect(again(1, 3999)).toBe('AMOUNT_NOT_INCREASING')
  })

  it('a signature for payment n does not validate payment n with another amount', () => {
    const honest = claim()
    const forged = claim(undefined, { paid: 9000 })
    expect(codeOf(() => { checkPayment(view, { ...forged, signatures: honest.signatures }, NOW, 60) })).toBe('BAD_SIGNATURE')
  })
})

describe('provider checks on a funding and its refund', () => {
  const EXPIRY = NOW + 3600
  const range = [EXPIRY - 120, EXPIRY + 120] as const
  const fundingOf = (over: { version?: number, script?: ReturnType<typeof channelScript>, satoshis?: number } = {}): Transaction =>
    new Transaction(over.version ?? 1, [inputOf({ txid: 'cc'.repeat(32), vout: 1, satoshis: 60_000 }, 0xffffffff)], [outputOf(over.satoshis ?? 50_000, over.script ?? channelScript(parties))], 0)
  const refundFor = (funding: Transaction, expiry = EXPIRY): Transaction => refundTx([{ txid: funding.id('hex'), vout: 0, satoshis: funding.outputs[0]!.satoshis! }], client.account, expiry)
  const check = (funding: Transaction, refund: Transaction, minDeposit = 10_000): string | undefined => codeOf(() => { checkFundingAndRefund(funding, refund, parties, range, minDeposit) })

  it('accepts an honest pair and hands back the refund to sign', () => {
    const funding = fundingOf()
    const r = checkFundingAndRefund(funding, refundFor(funding), parties, range, 10_000)
    expect(r.outpoint).toEqual({ txid: funding.id('hex'), vout: 0, satoshis: 50_000 })
    expect(r.expiry).toBe(EXPIRY)
    expect(r.refund.id('hex')).toBe(refundFor(funding).id('hex'))
  })

  it.each<[string, () => [Transaction, Transaction], string]>([
    ['a version 2 funding', () => { const f = fundingOf({ version: 2 }); return [f, refundFor(f)] }, 'BAD_FUNDING'],
    ['a funding paying another script', () => { const f = fundingOf({ script: p2pkhLock(client.account) }); return [f, refundFor(f)] }, 'BAD_FUNDING'],
    ['a funding below the minimum deposit', () => { const f = fundingOf({ satoshis: 9_999 }); return [f, refundFor(f)] }, 'BELOW_MIN_DEPOSIT'],
    ['a refund maturing too late', () => { const f = fundingOf(); return [f, refundFor(f, EXPIRY + 121)] }, 'BAD_REFUND'],
    ['a refund maturing too early', () => { const f = fundingOf(); return [f, refundFor(f, EXPIRY - 121)] }, 'BAD_REFUND'],
    ['a refund of another funding', () => { const f = fundingOf(); return [f, refundFor(fundingOf({ satoshis: 50_001 }))] }, 'BAD_REFUND'],
    ['a refund paying someone else', () => {
      const f = fundingOf()
      const r = refundFor(f)
      return [f, new Transaction(1, r.inputs, [outputOf(r.outputs[0]!.satoshis!, p2pkhLock(stranger.account))], r.lockTime)]
    }, 'BAD_REFUND']
  ])('refuses %s', (_name, make, code) => {
    const [funding, refund] = make()
    expect(check(funding, refund)).toBe(code)
  })
})

describe('client checks on terms', () => {
  const t = { provider: 'p', windowSeconds: 3600, minDeposit: 5_000 }
  it('accepts a window up to --max-window and a deposit from the minimum', () => {
    expect(codeOf(() => { checkTerms(t, 5_000, 3600) })).toBeUndefined()
  })
  it('refuses a longer window, then a smaller deposit', () => {
    expect(codeOf(() => { checkTerms(t, 5_000, 3599) })).toBe('WINDOW_TOO_LONG')
    expect(codeOf(() => { checkTerms(t, 4_999, 3600) })).toBe('BELOW_MIN_DEPOSIT')
  })
})

describe('metered file merkle proofs', () => {
  it.each([1, 2, 3, 7, 8, 33])('every chunk of a %i-chunk file verifies, and only where it belongs', (n) => {
    const f = new MerkleFile(randomBytes(n * 100 - 7), 100)
    expect(f.chunks).toHaveLength(n)
    for (let i = 0; i < n; i++) {
      expect(verifyChunk(f.root, n, i, f.chunks[i]!, f.proof(i))).toBe(true)
      expect(verifyChunk(f.root, n, i, Buffer.concat([f.chunks[i]!, Buffer.from([0])]), f.proof(i))).toBe(false)
      if (n > 1) expect(verifyChunk(f.root, n, (i + 1) % n, f.chunks[i]!, f.proof(i))).toBe(false)
    }
    expect(verifyChunk(f.root, n, n, f.chunks[0]!, f.proof(0))).toBe(false)
  })
})

describe('terms', () => {
  const terms = { service: 'movie', pricePerUnit: 5, unit: 'chunk', minDeposit: 1000, windowSeconds: 600, providerKey: provider.publicKey, addresses: ['/ip4/127.0.0.1/tcp/1'] }
  it('are trusted only when signed by the provider key they name', () => {
    const payload = encodeTerms(terms)
    expect(decodeTerms(payload, provider.publicKey)).toMatchObject({ service: 'movie', account: provider.account, pricePerUnit: 5 })
    expect(decodeTerms(payload, stranger.publicKey)).toBeUndefined()
    expect(decodeTerms(randomBytes(40), provider.publicKey)).toBeUndefined()
  })
})

describe('ARC broadcaster adapter (fake HTTP client)', () => {
  const tx = updateTx(fundings, parties, 1000, 1)
  const fake = (status: number, data: unknown): HttpClient & { calls: Array<{ url: string, body: unknown }> } => {
    const calls: Array<{ url: string, body: unknown }> = []
    return {
      calls,
      request: async (url: string, options: { data?: unknown }) => {
        calls.push({ url, body: options.data })
        return await Promise.resolve(status === 200 ? { ok: true as const, status, statusText: 'OK', data } : { ok: false as const, status, statusText: 'ERR', data })
      }
    } as unknown as HttpClient & { calls: Array<{ url: string, body: unknown }> }
  }

  it('posts the raw transaction to /v1/tx and returns the txid', async () => {
    const http = fake(200, { txid: tx.id('hex'), txStatus: 'SEEN_ON_NETWORK', extraInfo: '' })
    expect(await new ArcBroadcaster({ url: 'https://arc.example', apiKey: 'k', httpClient: http }).broadcast(tx)).toBe(tx.id('hex'))
    expect(http.calls[0]!.url).toBe('https://arc.example/v1/tx')
    expect(http.calls[0]!.body).toEqual({ rawTx: tx.toHex() })
  })

  it('turns ARC refusals into LedgerRejectedError with a reason', async () => {
    const doubleSpend = new ArcBroadcaster({ url: 'https://arc.example', httpClient: fake(200, { txid: tx.id('hex'), txStatus: 'DOUBLE_SPEND_ATTEMPTED', extraInfo: 'seen' }) })
    await expect(doubleSpend.broadcast(tx)).rejects.toMatchObject({ name: LedgerRejectedError.name, reason: 'double-spend' })
    const down = new ArcBroadcaster({ url: 'https://arc.example', httpClient: fake(503, { detail: 'maintenance' }) })
    await expect(down.broadcast(tx)).rejects.toMatchObject({ reason: 'network' })
  })
})
