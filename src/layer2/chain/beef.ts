/**
 * Transactions that travel with their proof (DESIGN §8a): BEEF (BRC-62/95, @bsv/sdk `Beef`).
 *
 *   beefOf(tx, history)          atomic BEEF of a transaction this node made: the transaction,
 *                                its unconfirmed ancestors, and merkle paths of the mined ones
 *   verifyBeef(bytes, chain)     what a receiver runs before it trusts a peer's transaction:
 *                                every merkle root through its own chain tracker, every input
 *                                of every unmined transaction through the SDK's `Spend`, no
 *                                value created, every unmined transaction final
 *
 * A verified BEEF lists its transactions parents first, so a ledger can take them in order
 * (Ledger.learn) — the way an SPV wallet learns the coins it now owns.
 */
import { LockingScript } from '@bsv/sdk/script'
import { Beef, Transaction } from '@bsv/sdk/transaction'
import type { ChainTracker, MerklePath } from '@bsv/sdk'
import { FINAL_SEQUENCE, LOCKTIME_THRESHOLD, validateInput } from './tx.ts'

/** Decode limits: a BEEF from a peer cannot expand into an unbounded walk. */
export const MAX_BEEF_BYTES = 4 * 1024 * 1024
export const MAX_BEEF_TXS = 2000

export type BeefRejectReason = 'malformed' | 'too-large' | 'wrong-subject' | 'missing-ancestor' | 'merkle-root' | 'script' | 'value' | 'non-final'

/** A BEEF that does not prove what it claims. `reason` is stable; match on it, not the text. */
export class BeefError extends Error {
  static name = 'BeefError'
  override name = 'BeefError'
  readonly reason: BeefRejectReason
  constructor (reason: BeefRejectReason, message: string) {
    super(message)
    this.reason = reason
  }
}

/** Where a node finds the transactions behind its coins (its ledger). */
export interface TxHistory {
  /** The raw transaction and, once mined, its merkle path; undefined when never seen. */
  known: (txid: string) => Promise<{ raw: Uint8Array, proof?: MerklePath } | undefined>
}

/** What a receiver judges a BEEF against: its chain tracker and its clock. */
export interface ChainView {
  tracker: ChainTracker
  /** Unix seconds: time-based lock times are judged against it. */
  now: () => number
}

export interface VerifiedBeef {
  /** The transaction the BEEF is about (the atomic subject, else the last one). */
  tx: Transaction
  txid: string
  /** The subject and its ancestors, parents first; mined ones carry `merklePath`. */
  txs: Transaction[]
  /** The BEEF as received, for passing on unchanged. */
  bytes: Uint8Array
}

/**
 * Atomic BEEF (BRC-95) of `tx`: walks its inputs back through `history` until every branch
 * ends in a mined transaction. Throws BeefError 'missing-ancestor' if the history has a gap.
 */
export async function beefOf (tx: Transaction, history: TxHistory): Promise<Uint8Array> {
  const txid = tx.id('hex')
  const self = await history.known(txid)
  const beef = new Beef()
  await collect(beef, [{ txid, raw: Uint8Array.from(tx.toBinary()), ...(self?.proof !== undefined ? { proof: self.proof } : {}) }], history)
  return beef.toUint8ArrayAtomic(txid)
}

/**
 * One BEEF (BRC-62, not atomic) of several known transactions and what they stand on, for
 * proving many coins at once (a balance answer): shared ancestors appear once.
 */
export async function beefOfMany (txids: string[], history: TxHistory): Promise<Uint8Array> {
  const roots: Root[] = []
  for (const txid of new Set(txids)) {
    const k = await history.known(txid)
    if (k === undefined) throw new BeefError('missing-ancestor', `no record of ${txid}`)
    roots.push({ txid, raw: k.raw, ...(k.proof !== undefined ? { proof: k.proof } : {}) })
  }
  const beef = new Beef()
  await collect(beef, roots, history)
  return Uint8Array.from(beef.toBinary())
}

interface Root { txid: string, raw: Uint8Array, proof?: MerklePath }

/** Merges `roots` and their ancestors into `beef`, parents before children. */
async function collect (beef: Beef, roots: Root[], history: TxHistory): Promise<void> {
  const added = new Set<string>()
  // Iterative post-order walk: parents are merged before their children (deep chains cannot blow the stack).
  const stack: Array<Root & { expanded: boolean }> = roots.map(r => ({ ...r, expanded: false })).reverse()
  while (stack.length > 0) {
    const top = stack.at(-1)!
    if (added.has(top.txid)) { stack.pop(); continue }
    if (top.proof !== undefined) {
      const t = Transaction.fromBinary([...top.raw])
      t.merklePath = top.proof
      beef.mergeTransaction(t)
      added.add(top.txid)
      stack.pop()
      continue
    }
    if (top.expanded) {
      // A Transaction, not raw bytes: BeefTx hashes raw bytes into a byte-reversed txid (@bsv/sdk 2.1).
      beef.mergeTransaction(Transaction.fromBinary([...top.raw]))
      added.add(top.txid)
      stack.pop()
      continue
    }
    top.expanded = true
    for (const input of Transaction.fromBinary([...top.raw]).inputs) {
      const parent = input.sourceTXID!
      if (added.has(parent)) continue
      const k = await history.known(parent)
      if (k === undefined) throw new BeefError('missing-ancestor', `no record of ${parent}, an ancestor of ${top.txid}`)
      stack.push({ txid: parent, raw: k.raw, ...(k.proof !== undefined ? { proof: k.proof } : {}), expanded: false })
    }
    if (added.size + stack.length > MAX_BEEF_TXS) throw new BeefError('too-large', `${top.txid} has more than ${MAX_BEEF_TXS} unmined ancestors`)
  }
}

/**
 * Checks a BEEF fully before anything in it is trusted. `expectTxid`, when given, must be its
 * subject. Throws BeefError saying what failed; a chain tracker that cannot be reached throws
 * its own error (the caller's chain backend names it), never a false rejection.
 */
export async function verifyBeef (bytes: Uint8Array, chain: ChainView, expectTxid?: string): Promise<VerifiedBeef> {
  const { beef, subject } = await openBeef(bytes, chain, expectTxid)
  const { txs, byId } = checkSubjects(beef, [subject], chain.now())
  return { tx: byId(subject), txid: subject, txs, bytes }
}

/**
 * verifyBeef for a BEEF about several transactions (beefOfMany): every one of `subjects` must
 * be in it and check out as verifyBeef's subject does. Resolves to them by txid.
 */
export async function verifyBeefMany (bytes: Uint8Array, chain: ChainView, subjects: string[]): Promise<Map<string, Transaction>> {
  const { beef } = await openBeef(bytes, chain)
  const { byId } = checkSubjects(beef, subjects, chain.now())
  return new Map(subjects.map(id => [id, byId(id)]))
}

/** Decodes with limits, checks the shape and every merkle root; the subject is the atomic txid or the last one. */
async function openBeef (bytes: Uint8Array, chain: ChainView, expectTxid?: string): Promise<{ beef: Beef, subject: string }> {
  if (bytes.length > MAX_BEEF_BYTES) throw new BeefError('too-large', `BEEF of ${bytes.length} bytes is over ${MAX_BEEF_BYTES}`)
  let beef: Beef
  try {
    // A plain copy: the SDK's reader reverses slices in place, and a Buffer's slices share its memory.
    beef = Beef.fromBinary(Uint8Array.from(bytes))
  } catch (err: unknown) {
    throw new BeefError('malformed', `not a BEEF: ${(err as Error).message}`)
  }
  if (beef.txs.length === 0 || beef.txs.length > MAX_BEEF_TXS) throw new BeefError(beef.txs.length === 0 ? 'malformed' : 'too-large', `BEEF holds ${beef.txs.length} transactions`)
  const sorted = beef.sortTxs()
  if (sorted.txidOnly.length > 0 || sorted.missingInputs.length > 0 || sorted.withMissingInputs.length > 0 || sorted.notValid.length > 0) {
    const gap = sorted.missingInputs[0] ?? sorted.txidOnly[0] ?? sorted.withMissingInputs[0] ?? sorted.notValid[0]
    throw new BeefError('missing-ancestor', `BEEF lacks ancestor ${gap}: an unmined transaction needs all its parents`)
  }
  const subject = beef.atomicTxid ?? beef.txs.at(-1)!.txid
  if (expectTxid !== undefined && subject !== expectTxid) throw new BeefError('wrong-subject', `BEEF is about ${subject}, not ${expectTxid}`)
  const { valid, roots } = beef.verifyValid(false)
  if (!valid) throw new BeefError('malformed', 'BEEF merkle paths are inconsistent with its transactions')
  // verifyValid's roots come only from leaves flagged as txids: a mined transaction hung on an
  // unflagged leaf of a path whose leaves are all unflagged would never reach the tracker. The
  // root each mined transaction computes to is what must belong to the chain.
  for (const b of beef.txs) {
    if (b.bumpIndex === undefined) continue
    const bump = beef.bumps[b.bumpIndex]!
    let root: string
    try {
      root = bump.computeRoot(b.txid)
    } catch (err: unknown) {
      throw new BeefError('malformed', `merkle path of ${b.txid}: ${(err as Error).message}`)
    }
    const height = bump.blockHeight
    if ((roots[height] ?? root) !== root) throw new BeefError('malformed', `two merkle roots for block ${height}`)
    roots[height] = root
  }
  // The one network question: do these roots belong to the chain? (Tracker errors propagate as they are.)
  for (const [height, root] of Object.entries(roots)) {
    if (!await chain.tracker.isValidRootForHeight(root, Number(height))) throw new BeefError('merkle-root', `merkle root ${root} is not the root of block ${height}`)
  }
  return { beef, subject }
}

/** Scripts, value and finality of everything the subjects stand on; their ancestry parents first. */
function checkSubjects (beef: Beef, subjects: string[], now: number): { txs: Transaction[], byId: (id: string) => Transaction } {
  // Only what the subjects stand on: stray transactions in the BEEF are not learned.
  const byId = new Map(beef.txs.map(b => [b.txid, b]))
  const needed = new Set<string>()
  const walk = [...subjects]
  while (walk.length > 0) {
    const id = walk.pop()!
    if (needed.has(id)) continue
    needed.add(id)
    const b = byId.get(id)
    if (b === undefined) throw new BeefError('missing-ancestor', `BEEF lacks ${id}`)
    if (b.bumpIndex === undefined) walk.push(...b.inputTxids)
  }
  const txs: Transaction[] = []
  const tx = (id: string): Transaction => byId.get(id)!.tx!
  for (const b of beef.txs) {
    if (!needed.has(b.txid)) continue
    const t = b.tx!
    if (b.bumpIndex !== undefined) {
      t.merklePath = beef.bumps[b.bumpIndex]
    } else {
      checkUnmined(t, b.txid, tx, now)
    }
    txs.push(t)
  }
  return { txs, byId: tx }
}

/** Scripts, value and finality of one unmined transaction whose parents are all at hand. */
function checkUnmined (t: Transaction, txid: string, parentOf: (id: string) => Transaction, now: number): void {
  if (t.inputs.length === 0 || t.outputs.length === 0) throw new BeefError('malformed', `${txid} needs inputs and outputs`)
  let valueIn = 0
  const spent = new Set<string>()
  t.inputs.forEach((input, i) => {
    const key = `${input.sourceTXID!}:${input.sourceOutputIndex}`
    if (spent.has(key)) throw new BeefError('malformed', `${txid} spends ${key} twice`)
    spent.add(key)
    const source = parentOf(input.sourceTXID!).outputs[input.sourceOutputIndex]
    if (source === undefined) throw new BeefError('missing-ancestor', `${txid} input ${i} spends ${key}, which does not exist`)
    try {
      validateInput(t, i, { satoshis: source.satoshis!, lockingScript: LockingScript.fromBinary(source.lockingScript.toBinary()) })
    } catch (err: unknown) {
      throw new BeefError('script', `${txid} input ${i}: ${(err as Error).message}`)
    }
    valueIn += source.satoshis!
  })
  let valueOut = 0
  for (const o of t.outputs) {
    if (!Number.isSafeInteger(o.satoshis) || o.satoshis! < 0) throw new BeefError('malformed', `${txid} has an output that is not whole satoshis`)
    valueOut += o.satoshis!
  }
  if (valueOut > valueIn) throw new BeefError('value', `${txid} pays out ${valueOut} from ${valueIn}`)
  if (!isFinal(t, now)) throw new BeefError('non-final', `${txid} is not final until lock time ${t.lockTime}`)
}

/**
 * Bitcoin's IsFinalTx by the receiver's clock: lock time 0 or passed, or every input final.
 * A height lock time cannot be judged without the chain's height; it counts as not final
 * unless its inputs are final (tmsg itself only uses time lock times).
 */
export function isFinal (t: Transaction, now: number, height?: number): boolean {
  if (t.lockTime === 0) return true
  const limit = t.lockTime < LOCKTIME_THRESHOLD ? height : now
  if (limit !== undefined && t.lockTime < limit) return true
  return t.inputs.every(i => (i.sequence ?? FINAL_SEQUENCE) === FINAL_SEQUENCE)
}
