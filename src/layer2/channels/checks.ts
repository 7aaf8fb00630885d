/**
 * The provider's checks on a payment (DESIGN §8), as one pure function: every field of the
 * update transaction against what the provider expects, then the client's signatures.
 * Nothing is persisted or acknowledged unless this passes.
 */
import type { Transaction } from '@bsv/sdk'
import { ChannelError } from '../errors.ts'
import { maxPayable, updateTx, verifyChannelSigs } from './transactions.ts'
import type { Parties } from './transactions.ts'
import type { Outpoint } from '../chain/tx.ts'

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
