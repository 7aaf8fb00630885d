/**
 * The channel checks (DESIGN §8), as pure functions in one place: the client's on a
 * provider's terms, the provider's on a funding and its refund (open and top-up), and the
 * provider's on every payment — each field of the update against what the provider
 * expects, then the client's signatures. Each throws ChannelError with the first problem
 * found; nothing is signed, persisted or acknowledged unless it passes.
 */
import type { Transaction } from '@bsv/sdk'
import { ChannelError } from '../errors.ts'
import { channelScript, maxPayable, refundTx, updateTx, verifyChannelSigs } from './transactions.ts'
import type { Parties } from './transactions.ts'
import { TX_VERSION } from '../chain/tx.ts'
import type { Outpoint } from '../chain/tx.ts'

/** The client's check before it funds anything: a window it accepts, a deposit the provider accepts. */
export function checkTerms (t: { provider: string, windowSeconds: number, minDeposit: number }, deposit: number, maxWindowSeconds: number): void {
  if (t.windowSeconds > maxWindowSeconds) {
    throw new ChannelError('WINDOW_TOO_LONG', `${t.provider} wants a refund window of ${t.windowSeconds} s; this node accepts at most ${maxWindowSeconds} s (--max-window)`)
  }
  if (deposit < t.minDeposit) throw new ChannelError('BELOW_MIN_DEPOSIT', `deposit ${deposit} is below ${t.provider}'s minimum of ${t.minDeposit}`)
}

/**
 * The provider's check of a funding/refund pair before it signs the refund. The funding
 * must pay `OP_2 <client> <us> OP_2 OP_CHECKMULTISIG` at output 0; the refund must return
 * exactly that output, less its fee, to the client, not before an expiry within
 * `expiryRange`. Returns the funding output, the expiry and the refund to sign.
 */
export function checkFundingAndRefund (funding: Transaction, refund: Transaction, parties: Parties, expiryRange: readonly [number, number], minDeposit: number): { outpoint: Outpoint, expiry: number, refund: Transaction } {
  const out = funding.outputs[0]
  if (funding.version !== TX_VERSION || out === undefined || out.lockingScript.toHex() !== channelScript(parties).toHex()) {
    throw new ChannelError('BAD_FUNDING', 'funding must be version 1 and pay the 2-of-2 script of your key and mine at output 0')
  }
  if (out.satoshis! < minDeposit) throw new ChannelError('BELOW_MIN_DEPOSIT', `deposit ${out.satoshis} is below the minimum of ${minDeposit}`)
  const outpoint = { txid: funding.id('hex'), vout: 0, satoshis: out.satoshis! }
  const expiry = refund.lockTime
  if (expiry < expiryRange[0] || expiry > expiryRange[1]) {
    throw new ChannelError('BAD_REFUND', `refund lock time ${expiry} is outside ${expiryRange[0]}..${expiryRange[1]}`)
  }
  const expected = refundTx([outpoint], parties.clientAddress, expiry)
  const same = refund.version === TX_VERSION && refund.inputs.length === 1 && refund.inputs[0]!.sourceTXID === outpoint.txid &&
    refund.inputs[0]!.sourceOutputIndex === 0 && refund.inputs[0]!.sequence === 0 && refund.outputs.length === 1 &&
    refund.outputs[0]!.satoshis === expected.outputs[0]!.satoshis && refund.outputs[0]!.lockingScript.toHex() === expected.outputs[0]!.lockingScript.toHex()
  if (!same) throw new ChannelError('BAD_REFUND', 'refund must spend the funding output alone (nSequence 0) and return it, less its fee, to the client')
  return { outpoint, expiry, refund: expected }
}

export interface ChannelView {
  fundings: readonly Outpoint[]
  parties: Parties
  /** Last accepted payment. */
  sequence: number
  paid: number
  /** Unix seconds when the client's refund becomes valid. */
  expiry: number
  /**
   * How many funding outputs the last accepted payment spends (default: all). After a
   * top-up it is fewer: then the same amount may be signed again over every funding, so the
   * settlement can spend the top-up too.
   */
  covered?: number
}

export interface PaymentClaim {
  sequence: number
  paid: number
  tx: Transaction
  signatures: readonly Uint8Array[]
}

/**
 * Throws ChannelError with the first problem found. `marginSeconds` is how long before
 * expiry the provider stops accepting: it must still be able to settle before the refund
 * matures.
 */
export function checkPayment (ch: ChannelView, pay: PaymentClaim, nowSeconds: number, marginSeconds: number): void {
  const tx = pay.tx
  if (tx.version !== 1) throw new ChannelError('BAD_VERSION', `update has version ${tx.version}, must be 1`)
  if (tx.lockTime !== 0) throw new ChannelError('BAD_LOCKTIME', `update has nLockTime ${tx.lockTime}, must be 0 (final)`)
  const outpointsMatch = tx.inputs.length === ch.fundings.length &&
    ch.fundings.every((f, i) => tx.inputs[i]!.sourceTXID === f.txid && tx.inputs[i]!.sourceOutputIndex === f.vout)
  if (!outpointsMatch) throw new ChannelError('WRONG_OUTPOINT', 'update does not spend exactly this channel\'s funding outputs')
  if (!Number.isInteger(pay.sequence) || pay.sequence <= ch.sequence) {
    throw new ChannelError('SEQUENCE_NOT_INCREASING', `sequence ${pay.sequence} is not above the last accepted ${ch.sequence}`)
  }
  if (pay.sequence >= 0xffffffff || tx.inputs.some(i => i.sequence !== pay.sequence)) {
    throw new ChannelError('BAD_SEQUENCE', `update inputs must carry nSequence ${pay.sequence}`)
  }
  const recover = pay.paid === ch.paid && ch.paid > 0 && (ch.covered ?? ch.fundings.length) < ch.fundings.length
  if (pay.paid <= ch.paid && !recover) throw new ChannelError('AMOUNT_NOT_INCREASING', `cumulative ${pay.paid} is not above the last accepted ${ch.paid}`)
  const max = maxPayable(ch.fundings)
  if (pay.paid > max) throw new ChannelError('OVER_DEPOSIT', `cumulative ${pay.paid} exceeds what the deposit can pay (${max})`)
  const expected = updateTx(ch.fundings, ch.parties, pay.paid, pay.sequence)
  const outputsMatch = tx.outputs.length === expected.outputs.length && expected.outputs.every((o, i) =>
    tx.outputs[i]!.satoshis === o.satoshis && tx.outputs[i]!.lockingScript.toHex() === o.lockingScript.toHex())
  if (!outputsMatch) throw new ChannelError('WRONG_OUTPUTS', `update must pay exactly ${pay.paid} to the provider and the rest, less the fee, to the client`)
  if (nowSeconds + marginSeconds >= ch.expiry) {
    throw new ChannelError('TOO_CLOSE_TO_EXPIRY', `channel expires at ${ch.expiry}: too close to settle safely (margin ${marginSeconds}s)`)
  }
  if (!verifyChannelSigs(expected, ch.fundings, ch.parties, ch.parties.clientKey, pay.signatures)) {
    throw new ChannelError('BAD_SIGNATURE', 'client signature does not verify for every input')
  }
}
