/**
 * The three transactions of a one-way, refund-backed payment channel (DESIGN §8):
 *
 *   funding   client P2PKH → `OP_2 <C> <P> OP_2 OP_CHECKMULTISIG` at output 0 (wallet/wallet.ts builds it)
 *   refund    spends every funding output back to the client; nSequence 0, nLockTime = expiry,
 *             signed by both before the funding is broadcast
 *   update    spends every funding output: `paid` to the provider, the rest to the client;
 *             final (nLockTime 0), the payment counter in nSequence, signed by the client per
 *             payment and countersigned by the provider only to settle
 *
 * Both sides build these deterministically from the same facts, so a payment need only be
 * checked field by field against what the provider expects.
 */
import { Transaction } from '@bsv/sdk/transaction'
import type { LockingScript } from '@bsv/sdk'
import {
  FINAL_SEQUENCE, MULTISIG_UNLOCK_MAX, TX_VERSION, fee, inputOf, multisigLock, multisigUnlock, outputOf, p2pkhLock,
  signInput, sizeWith, validateInput, verifyInputSignature
} from '../chain/tx.ts'
import type { Outpoint } from '../chain/tx.ts'
import type { Signer } from '../../wire/build.ts'

/** Who is who in a channel. */
export interface Parties {
  clientKey: Uint8Array
  providerKey: Uint8Array
  clientAddress: string
  providerAddress: string
}

export function depositOf (fundings: readonly Outpoint[]): number {
  return fundings.reduce((sum, f) => sum + f.satoshis, 0)
}

export function channelScript (p: Parties): LockingScript {
  return multisigLock(p.clientKey, p.providerKey)
}

export function refundTx (fundings: readonly Outpoint[], clientAddress: string, expiry: number): Transaction {
  const tx = new Transaction(TX_VERSION, fundings.map(f => inputOf(f, 0)), [outputOf(0, p2pkhLock(clientAddress))], expiry)
  tx.outputs[0]!.satoshis = depositOf(fundings) - fee(sizeWith(tx, fundings.map(() => MULTISIG_UNLOCK_MAX)))
  return tx
}

/** Bytes of a P2PKH output: 8 (value) + 1 (script length) + 25 (script), whatever the address. */
const P2PKH_OUTPUT_SIZE = 8 + 1 + 25

/**
 * The fee of an update spending `inputs` funding outputs, always priced with both outputs:
 * it depends on nothing else, so both sides derive the same number without building anything.
 */
export function updateFee (inputs: number): number {
  const varint = (n: number): number => n < 0xfd ? 1 : 3
  const input = 32 + 4 + 4 + varint(MULTISIG_UNLOCK_MAX) + MULTISIG_UNLOCK_MAX
  return fee(4 + varint(inputs) + inputs * input + 1 + 2 * P2PKH_OUTPUT_SIZE + 4)
}

/** The most the client can pay: the deposit less the update's fee. */
export function maxPayable (fundings: readonly Outpoint[]): number {
  return depositOf(fundings) - updateFee(fundings.length)
}

export function updateTx (fundings: readonly Outpoint[], p: Parties, paid: number, sequence: number): Transaction {
  if (!Number.isInteger(sequence) || sequence < 1 || sequence >= FINAL_SEQUENCE) throw new RangeError('sequence must be 1..2^32-2')
  const change = maxPayable(fundings) - paid
  if (paid < 1 || change < 0) throw new RangeError(`cannot pay ${paid} from ${depositOf(fundings)}`)
  const outputs = [outputOf(paid, p2pkhLock(p.providerAddress))]
  if (change > 0) outputs.push(outputOf(change, p2pkhLock(p.clientAddress)))
  return new Transaction(TX_VERSION, fundings.map(f => inputOf(f, sequence)), outputs, 0)
}

/** Signs every input of a channel transaction with one party's key. */
export function signChannelTx (tx: Transaction, fundings: readonly Outpoint[], p: Parties, signer: Signer): Uint8Array[] {
  const script = channelScript(p)
  return fundings.map((f, i) => signInput(tx, i, { satoshis: f.satoshis, lockingScript: script }, signer))
}

/** Checks one party's signature on every input (OpenSSL; no script run). */
export function verifyChannelSigs (tx: Transaction, fundings: readonly Outpoint[], p: Parties, key: Uint8Array, sigs: readonly Uint8Array[]): boolean {
  if (sigs.length !== fundings.length) return false
  const script = channelScript(p)
  return fundings.every((f, i) => verifyInputSignature(tx, i, { satoshis: f.satoshis, lockingScript: script }, key, sigs[i]!))
}

/**
 * A copy of `tx` with both parties' signatures in its unlocking scripts, every input run
 * through the SDK's script interpreter: spendable as it stands. A new object, because the
 * SDK caches serialisations and ids and would not notice unlocking scripts set afterwards.
 */
export function completeChannelTx (tx: Transaction, fundings: readonly Outpoint[], p: Parties, clientSigs: readonly Uint8Array[], providerSigs: readonly Uint8Array[]): Transaction {
  const script = channelScript(p)
  const done = new Transaction(tx.version,
    tx.inputs.map((input, i) => ({ ...input, unlockingScript: multisigUnlock(clientSigs[i]!, providerSigs[i]!) })),
    tx.outputs.map(o => ({ ...o })), tx.lockTime)
  fundings.forEach((f, i) => { validateInput(done, i, { satoshis: f.satoshis, lockingScript: script }) })
  return done
}
