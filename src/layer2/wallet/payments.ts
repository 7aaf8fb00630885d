/**
 * Peer-to-peer payments, the "gift of cash" (DESIGN §8a): the payer builds a P2PKH payment
 * from its wallet, broadcasts it, and delivers it as a signed `PAYMENT` TMsg to
 * `acct:<payee>` carrying the transaction as BEEF and a memo. The payee checks it, takes the
 * coin into its wallet, keeps it, and tells its user. Invalid payments are dropped and counted.
 */
import type { DatabaseSync } from 'node:sqlite'
import { Beef } from '@bsv/sdk/transaction'
import { accountOf } from '../../identity.ts'
import { accountTarget } from '../../targets.ts'
import { Kind } from '../../wire/tmsg.ts'
import type { Delivery } from '../../node/node.ts'
import { ChannelError } from '../errors.ts'
import { PeerPaymentType, decodeAs, encodeAs } from '../proto.ts'
import { p2pkhLock } from '../chain/tx.ts'
import { AnswerLimiter } from '../answer-limit.ts'
import { verifyBeef } from '../chain/beef.ts'
import { LedgerRejectedError } from '../chain/ledger.ts'
import type { Layer2Context, WalletEvent } from '../context.ts'

/** Payments this node checks per second, and in a burst: far more than people paying by hand. */
export const PAYMENT_CHECKS_PER_SECOND = 20
export const PAYMENT_CHECK_BURST = 100

/** Longest memo kept and shown (characters). */
export const MAX_MEMO = 200

/** Payments held for another check while the chain services are down (beyond: dropped and counted). */
export const MAX_UNSURE = 100

export class PaymentService {
  private readonly ctx: Layer2Context
  private readonly db: DatabaseSync
  /** PAYMENT messages to this node that did not check out (not signed, not a payment to us, not on the ledger, over the budget). */
  dropped = 0
  /**
   * Checking a payment's BEEF runs the script interpreter on every unmined ancestor (tens of
   * ms for a full message), while sending one costs a peer nothing: checks have a budget.
   */
  readonly budget: AnswerLimiter
  /** Payments to us that could not be checked because the chain services did not answer. */
  private readonly unsure = new Set<Delivery>()

  constructor (ctx: Layer2Context, db: DatabaseSync, budget = new AnswerLimiter({ perSecond: PAYMENT_CHECKS_PER_SECOND, burst: PAYMENT_CHECK_BURST })) {
    this.ctx = ctx
    this.db = db
    this.budget = budget
  }

  /**
   * Pays `amount` to `account`: built, kept, broadcast, then delivered with its memo. A
   * broadcast whose answer was lost (a timeout, a garbled reply: the network may have it all
   * the same) leaves the signed payment kept and its coins held, and retry() sends it again.
   */
  async send (account: string, amount: number, memo = ''): Promise<{ txid: string, amount: number, to: string }> {
    const target = accountTarget(account) // validates the address
    if (account === this.ctx.identity.account) throw new ChannelError('BAD_AMOUNT', 'that is this node\'s own account')
    const note = memo.slice(0, MAX_MEMO)
    const tx = await this.ctx.wallet.fund(p2pkhLock(account), amount)
    const txid = tx.id('hex')
    let bytes: Uint8Array
    try {
      // The payment with its ancestry, so a payee on another ledger can check and learn it;
      // built before the broadcast, so a payment too big to deliver is never sent at all.
      bytes = await this.ctx.wallet.beef(tx)
      const size = encodeAs(PeerPaymentType, { beef: bytes, memo: note }).length
      if (size > this.ctx.node.maxPayload) throw new ChannelError('BAD_AMOUNT', `the payment with its proof is ${size} bytes, over this node's ${this.ctx.node.maxPayload}-byte message limit: pay from fewer or older coins`)
    } catch (err: unknown) {
      this.ctx.wallet.release(txid)
      throw err
    }
    const e: WalletEvent = { type: 'sent', txid, amount, peer: account, memo: note, at: Date.now() }
    this.db.prepare('INSERT OR IGNORE INTO peer_payments (txid, outgoing, peer, amount, memo, beef, at) VALUES (?, 1, ?, ?, ?, ?, ?)').run(txid, account, amount, note, bytes, e.at)
    try {
      await this.ctx.ledger.broadcast(tx)
    } catch (err: unknown) {
      const unsure = !(err instanceof LedgerRejectedError) || err.reason === 'network'
      if (!unsure) {
        this.db.prepare('DELETE FROM peer_payments WHERE txid = ?').run(txid)
        this.ctx.wallet.release(txid)
        throw new ChannelError('LEDGER_REJECTED', `ledger refused ${txid}: ${(err as Error).message}`)
      }
      throw new ChannelError('LEDGER_REJECTED', `${(err as Error).message}: payment ${txid} is kept signed, its coins held, and will be broadcast again`)
    }
    this.deliver(e, target.id, bytes)
    await this.ctx.wallet.sync()
    return { txid, amount, to: account }
  }

  private deliver (e: WalletEvent, target: Uint8Array, beef: Uint8Array): void {
    this.ctx.events.emit('wallet', e)
    this.ctx.node.send({ target, kind: Kind.PAYMENT, payload: encodeAs(PeerPaymentType, { beef, memo: e.memo }) })
  }

  /**
   * Payments kept but not on the ledger (their broadcast's answer was lost): broadcast again
   * and delivered; refused for good (spent elsewhere meanwhile), forgotten and coins given back.
   */
  async retry (): Promise<void> {
    const again = [...this.unsure]
    this.unsure.clear()
    for (const d of again) this.take(d)
    // Pending = sent by us and still holding coins (a broadcast one has spent them; a ledger reset leaves nothing held).
    const rows = this.db.prepare('SELECT txid, peer, amount, memo, beef, at FROM peer_payments p WHERE outgoing = 1 AND EXISTS (SELECT 1 FROM wallet_utxos u WHERE u.reserved_by = p.txid)').all() as unknown as Array<{ txid: string, peer: string, amount: number, memo: string, beef: Uint8Array, at: number }>
    for (const r of rows) {
      if (await this.ctx.ledger.known(r.txid) !== undefined) continue
      const tx = Beef.fromBinary(Uint8Array.from(r.beef)).findTxid(r.txid)?.tx
      if (tx === undefined) continue
      try {
        await this.ctx.ledger.broadcast(tx)
      } catch (err: unknown) {
        if (err instanceof LedgerRejectedError && err.reason !== 'network') {
          this.db.prepare('DELETE FROM peer_payments WHERE txid = ?').run(r.txid)
          this.ctx.wallet.release(r.txid)
          this.ctx.log.warn({ txid: r.txid, err: err.message }, 'a kept payment was refused: its coins are free again')
        }
        continue
      }
      this.deliver({ type: 'sent', txid: r.txid, amount: r.amount, peer: r.peer, memo: r.memo, at: r.at }, accountTarget(r.peer).id, Uint8Array.from(r.beef))
      await this.ctx.wallet.sync()
    }
  }

  /** A PAYMENT hit: taken when it pays this node and checks out, else dropped and counted. */
  onDelivery (d: Delivery): void {
    if (d.msg.kind !== Kind.PAYMENT || d.from === 'self') return
    if (Buffer.compare(d.msg.target, accountTarget(this.ctx.identity.account).id) !== 0) return // passing through
    if (!this.budget.allow()) {
      this.dropped++
      this.ctx.log.info('payment dropped: over the budget for checking payments')
      return
    }
    this.take(d)
  }

  private take (d: Delivery): void {
    this.receive(d).catch((err: unknown) => {
      if (err instanceof LedgerRejectedError && err.reason === 'network' && this.unsure.size < MAX_UNSURE) {
        // Our chain services could not be asked (test/main: ARC, headers): checked again later, not dropped.
        this.unsure.add(d)
        this.ctx.log.info({ err: err.message }, 'payment to be checked again')
        return
      }
      this.dropped++
      this.ctx.log.info({ err: (err as Error).message }, 'payment dropped')
    })
  }

  private async receive (d: Delivery): Promise<void> {
    if (!d.verified || d.msg.sender.length !== 33) throw new Error('unsigned payment: no payer')
    const from = accountOf(d.msg.sender)
    const m = decodeAs<{ beef: Uint8Array, memo: string }>(PeerPaymentType, d.msg.payload)
    // Checked in full against this node's own chain (scripts, value, finality, merkle roots),
    // then learned: the payer may keep a ledger this node has never seen.
    const verified = await verifyBeef(m.beef, { tracker: this.ctx.ledger.tracker, now: this.ctx.now })
    const { tx, txid } = verified
    if (this.db.prepare('SELECT 1 FROM peer_payments WHERE txid = ?').get(txid) !== undefined) return // heard twice
    const ours = p2pkhLock(this.ctx.identity.account).toHex()
    const outputs = tx.outputs.map((o, vout) => ({ vout, satoshis: o.satoshis ?? 0, script: o.lockingScript.toHex() })).filter(o => o.script === ours)
    // A channel's settlement handed over by its provider, or its refund by its client, spends
    // the funding: learned even when it pays us nothing, so the client never refunds what was
    // settled and the provider stops settling (and counting) what was refunded.
    const settled = this.ctx.channels.list().filter(ch => tx.inputs.some(i => ch.fundings.some(f => f.txid === i.sourceTXID && f.vout === i.sourceOutputIndex)))
    if (outputs.length === 0 && settled.length === 0) throw new Error(`payment ${txid} pays nothing to ${this.ctx.identity.account}`)
    // The sender names the payer in our chat: it must have paid, by spending a coin of its own
    // (or, handing over a settlement or refund, be the channel's other party). Else anyone who saw a payment
    // pass could re-send it first under its own name and memo, and the real one would be a repeat.
    const senderScript = p2pkhLock(from).toHex()
    const payerCoins = new Map(verified.txs.map(t => [t.id('hex'), t]))
    const paidBySender = tx.inputs.some(i => payerCoins.get(i.sourceTXID!)?.outputs[i.sourceOutputIndex]?.lockingScript.toHex() === senderScript) ||
      settled.some(ch => ch.peerAccount === from)
    if (!paidBySender) throw new Error(`payment ${txid} was not paid by its sender ${from}`)
    await this.ctx.ledger.learn(verified)
    if (outputs.length === 0) return
    // The ledger, which ran every script of it, must hold each output as unspent.
    for (const o of outputs) {
      const seen = await this.ctx.ledger.output(txid, o.vout)
      if (seen === undefined || seen.satoshis !== o.satoshis || seen.script !== o.script) throw new Error(`payment ${txid}:${o.vout} is not on the ledger`)
    }
    const memo = [...m.memo].filter(c => c >= ' ' && c !== '\u007f').join('').slice(0, MAX_MEMO)
    this.keep({ type: 'received', txid, amount: outputs.reduce((s, o) => s + o.satoshis, 0), peer: from, memo, at: Date.now() }, m.beef)
    await this.ctx.wallet.sync()
  }

  private keep (e: WalletEvent, beef: Uint8Array): void {
    const r = this.db.prepare('INSERT OR IGNORE INTO peer_payments (txid, outgoing, peer, amount, memo, beef, at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(e.txid, e.type === 'sent' ? 1 : 0, e.peer, e.amount, e.memo, beef, e.at)
    // Two copies of one payment checked at once both pass the "heard twice" look-up: only the one kept is told.
    if (r.changes === 1) this.ctx.events.emit('wallet', e)
  }

  /** Payments sent and received, newest first. */
  list (limit = 50): WalletEvent[] {
    return (this.db.prepare('SELECT txid, outgoing, peer, amount, memo, at FROM peer_payments ORDER BY at DESC LIMIT ?').all(limit) as unknown as Array<{ txid: string, outgoing: number, peer: string, amount: number, memo: string, at: number }>)
      .map(r => ({ type: r.outgoing === 1 ? 'sent' : 'received', txid: r.txid, amount: r.amount, peer: r.peer, memo: r.memo, at: r.at }))
  }
}
