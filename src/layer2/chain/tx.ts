/**
 * BSV transaction building blocks for the wallet and the payment channels, on @bsv/sdk.
 *
 * Signatures are made by the node key through node:crypto (OpenSSL, ~10x @bsv/sdk's pure-JS
 * ECDSA) over the SDK's own sighash preimage, and checked the same way on the payment path;
 * whole transactions are checked with the SDK's `Spend` interpreter where it matters (the
 * client's refund, and every transaction the development ledger accepts).
 */
import { createHash } from 'node:crypto'
import { TransactionSignature } from '@bsv/sdk/primitives'
import { LockingScript, OP, P2PKH, Spend, UnlockingScript } from '@bsv/sdk/script'
import { Transaction } from '@bsv/sdk/transaction'
import type { TransactionInput, TransactionOutput } from '@bsv/sdk'
import { verifySignature } from '../../identity.ts'
import type { Signer } from '../../wire/build.ts'

/** SIGHASH_ALL | SIGHASH_FORKID: every signature here commits to all inputs and outputs. */
export const SIGHASH = TransactionSignature.SIGHASH_ALL | TransactionSignature.SIGHASH_FORKID
/** Version 1 everywhere: version 2 opts into relaxed rules that accept third-party malleation. */
export const TX_VERSION = 1
/** nSequence that makes an input final. */
export const FINAL_SEQUENCE = 0xffffffff
/** Fee rate for every transaction tmsg builds, in satoshis per kilobyte. */
export const FEE_SATS_PER_KB = 100
/** nLockTime values from here up are Unix times; below, block heights. */
export const LOCKTIME_THRESHOLD = 500_000_000

export interface Outpoint {
  txid: string
  vout: number
  satoshis: number
}

export function fee (sizeBytes: number): number {
  return Math.ceil(sizeBytes * FEE_SATS_PER_KB / 1000)
}

export function p2pkhLock (address: string): LockingScript {
  return new P2PKH().lock(address)
}

/** `OP_2 <C> <P> OP_2 OP_CHECKMULTISIG`: client key first, provider key second. */
export function multisigLock (clientKey: Uint8Array, providerKey: Uint8Array): LockingScript {
  return new LockingScript([
    { op: OP.OP_2 },
    { op: clientKey.length, data: [...clientKey] },
    { op: providerKey.length, data: [...providerKey] },
    { op: OP.OP_2 },
    { op: OP.OP_CHECKMULTISIG }
  ])
}

/** `OP_0 <sigC> <sigP>`: signatures in the order of the keys in the locking script. */
export function multisigUnlock (sigClient: Uint8Array, sigProvider: Uint8Array): UnlockingScript {
  return new UnlockingScript([
    { op: OP.OP_0 },
    { op: sigClient.length, data: [...sigClient] },
    { op: sigProvider.length, data: [...sigProvider] }
  ])
}

export function p2pkhUnlock (sig: Uint8Array, publicKey: Uint8Array): UnlockingScript {
  return new UnlockingScript([{ op: sig.length, data: [...sig] }, { op: publicKey.length, data: [...publicKey] }])
}

/** The digest a signature for input `i` signs: SHA-256 of the BIP-143-style preimage (signers hash once more). */
export function sighashDigest (tx: Transaction, i: number, source: { satoshis: number, lockingScript: LockingScript }): Buffer {
  const input = tx.inputs[i]!
  const preimage = TransactionSignature.formatBytes({
    sourceTXID: input.sourceTXID!,
    sourceOutputIndex: input.sourceOutputIndex,
    sourceSatoshis: source.satoshis,
    transactionVersion: tx.version,
    otherInputs: tx.inputs.filter((_, k) => k !== i),
    inputIndex: i,
    outputs: tx.outputs,
    inputSequence: input.sequence ?? FINAL_SEQUENCE,
    subscript: source.lockingScript,
    lockTime: tx.lockTime,
    scope: SIGHASH
  })
  return createHash('sha256').update(preimage).digest()
}

/** A checksig-format signature (DER + sighash byte) for input `i`, by `signer`. */
export function signInput (tx: Transaction, i: number, source: { satoshis: number, lockingScript: LockingScript }, signer: Signer): Uint8Array {
  const der = signer.sign(sighashDigest(tx, i, source))
  return Buffer.concat([der, Buffer.from([SIGHASH])])
}

/** Checks one checksig-format signature by `publicKey` for input `i` (no script run: fast). */
export function verifyInputSignature (tx: Transaction, i: number, source: { satoshis: number, lockingScript: LockingScript }, publicKey: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length < 9 || sig[sig.length - 1] !== SIGHASH) return false
  return verifySignature(publicKey, sighashDigest(tx, i, source), sig.subarray(0, sig.length - 1))
}

/** Runs input `i`'s scripts in the SDK interpreter; throws ScriptEvaluationError when they fail. */
export function validateInput (tx: Transaction, i: number, source: { satoshis: number, lockingScript: LockingScript }): void {
  const input = tx.inputs[i]!
  const spend = new Spend({
    sourceTXID: input.sourceTXID!,
    sourceOutputIndex: input.sourceOutputIndex,
    sourceSatoshis: source.satoshis,
    lockingScript: source.lockingScript,
    transactionVersion: tx.version,
    otherInputs: tx.inputs.filter((_, k) => k !== i),
    outputs: tx.outputs,
    inputIndex: i,
    unlockingScript: input.unlockingScript!,
    inputSequence: input.sequence ?? FINAL_SEQUENCE,
    lockTime: tx.lockTime
  })
  if (!spend.validate()) throw new Error('script evaluated to false')
}

export function inputOf (o: Outpoint, sequence: number): TransactionInput {
  return { sourceTXID: o.txid, sourceOutputIndex: o.vout, sequence, unlockingScript: new UnlockingScript([]) }
}

export function outputOf (satoshis: number, lockingScript: LockingScript): TransactionOutput {
  return { satoshis, lockingScript }
}

export function txFromBytes (bytes: Uint8Array): Transaction {
  return Transaction.fromBinary([...bytes])
}

export function txBytes (tx: Transaction): Uint8Array {
  return Uint8Array.from(tx.toBinary())
}



/** Serialized size of a transaction once its unlocking scripts have the given lengths. */
export function sizeWith (tx: Transaction, unlockLengths: number[]): number {
  const varint = (n: number): number => n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9
  let size = 4 + varint(tx.inputs.length) + 4 + varint(tx.outputs.length)
  for (const l of unlockLengths) size += 40 + varint(l) + l
  for (const o of tx.outputs) {
    const l = o.lockingScript.toBinary().length
    size += 8 + varint(l) + l
  }
  return size
}

/** Upper bounds of unlocking script sizes, for fee estimates before signing. */
export const P2PKH_UNLOCK_MAX = 1 + 73 + 1 + 33
export const MULTISIG_UNLOCK_MAX = 1 + 1 + 73 + 1 + 73
