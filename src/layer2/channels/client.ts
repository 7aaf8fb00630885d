/**
 * The client's side of payment channels (DESIGN §8): finds providers' terms, opens a
 * refund-backed channel, pays in signed increments, tops up, fetches a metered file, closes —
 * or takes its deposit back by the refund once the channel has expired. Budgets warn at
 * 80% and 95% and stop at 100%, like a battery indicator.
 *
 * The order of every step is the safety argument: the refund is fully signed, checked and
 * persisted before the funding is broadcast; each payment is persisted as signed before it
 * is sent, and sent again unchanged after a crash, so no sequence number is ever signed for
 * two amounts.
 */
import { appendFileSync, mkdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { accountOf } from '../../identity.ts'
import { Kind } from '../../wire/tmsg.ts'
import { ChannelError } from '../errors.ts'
import { checkTerms } from './checks.ts'
import type { Transaction } from '@bsv/sdk'
import { beefOf, verifyBeef } from '../chain/beef.ts'
import { PeerPaymentType, encodeAs } from '../proto.ts'
import { accountTarget } from '../../targets.ts'
import { LedgerRejectedError } from '../chain/ledger.ts'
import { channelScript, completeChannelTx, depositOf, maxPayable, refundTx, signChannelTx, updateTx } from './transactions.ts'
import type { Parties } from './transactions.ts'
import { settleMargin } from './store.ts'
import type { Alert, ChannelRecord } from './store.ts'
import { crashPoint } from '../crash.ts'
import { eventOf } from './events.ts'
import type { ChannelEvent, ChannelEventType } from './events.ts'
import { alertsAt } from './budget.ts'
import { verifyChunk } from './merkle.ts'
import { collectReplies } from '../replies.ts'
import type { ChannelLink } from './stream.ts'
import { decodeTerms, encodeTermsRequest, serviceTarget } from '../terms/terms.ts'
import type { ServiceTerms } from '../terms/terms.ts'
import { p2pkhLock, txBytes, txFromBytes } from '../chain/tx.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
import { partiesOf } from './provider.ts'
import type { Layer2Context } from '../context.ts'

/** Default --max-window: a week. */
export const DEFAULT_MAX_WINDOW_SECONDS = 7 * 86400

export interface ChannelStatus {
  channelId: string
  role: 'client' | 'provider'
  state: string
  service: string
  peer: string
  peerAccount: string
  deposit: number
  paid: number
  sequence: number
  expiry: number
  pricePerUnit: number
  unit: string
  budget?: number
  /** What can still be paid: the budget or the deposit, whichever is lower. */
  remaining: number
  alerts: Alert[]
  closeTxid?: string
}

export interface FetchResult {
  received: number
  /** Every chunk received matched the root the provider committed to; false once one did not. */
  verified: boolean
  paid: number
  /** bad-chunk: a paid chunk did not match the root; it was not kept and payments stopped. */
  stoppedBy?: 'budget' | 'deposit' | 'expiry' | 'bad-chunk'
  /** Where the chunks went. */
  path: string
  complete: boolean
}

export class ChannelClient {
  private readonly ctx: Layer2Context
  private readonly downloads: string
  /** Terms seen by channel_terms, by provider and service. */
  private readonly known = new Map<string, ServiceTerms>()
  private readonly links = new Map<string, ChannelLink>()
  /** One operation at a time per channel: a payment must not race another on the same sequence. */
  private readonly locks = new Map<string, Promise<unknown>>()
  /** Opens in progress in this process, as opposed to ones a crash interrupted. */
  private readonly opening = new Set<string>()

  /** The longest refund window accepted: a longer one would lock our deposit too long if the provider vanished. */
  private readonly maxWindowSeconds: number

  constructor (ctx: Layer2Context, downloads: string, maxWindowSeconds = DEFAULT_MAX_WINDOW_SECONDS) {
    this.ctx = ctx
    this.downloads = downloads
    this.maxWindowSeconds = maxWindowSeconds
  }

  // ---- discovery --------------------------------------------------------------------------

  async terms (service: string | undefined, timeoutMs: number): Promise<ServiceTerms[]> {
    const replies = await collectReplies(this.ctx.node, Kind.TERMS, timeoutMs, () =>
      this.ctx.node.send({ target: serviceTarget(service).id, kind: Kind.TERMS_REQUEST, payload: encodeTermsRequest(service) }))
    const out: ServiceTerms[] = []
    for (const r of replies) {
      const t = r.verified ? decodeTerms(r.msg.payload, r.msg.sender) : undefined
      if (t === undefined || (service !== undefined && t.service !== service)) continue
      if (out.some(x => x.provider === t.provider && x.service === t.service)) continue
      this.known.set(`${t.provider}/${t.service}`, t)
      out.push(t)
    }
    return out
  }

  /** The provider's terms for a service, by PeerId or account; asks the network if not known yet. */
  private async termsOf (provider: string, service: string): Promise<ServiceTerms> {
    const match = (t: ServiceTerms): boolean => t.service === service && (t.provider === provider || t.account === provider)
    const cached = [...this.known.values()].find(match)
    if (cached !== undefined) return cached
    const found = (await this.terms(service, 3000)).find(match)
    if (found === undefined) throw new ChannelError('UNKNOWN_PROVIDER', `no terms for "${service}" from ${provider}: is it online and offering it?`)
    return found
  }

  private link (ch: Pick<ChannelRecord, 'peerId' | 'peerAddresses'>): ChannelLink {
    let l = this.links.get(ch.peerId)
    if (l === undefined) {
      l = this.ctx.stream.link(ch.peerId, ch.peerAddresses)
      this.links.set(ch.peerId, l)
    }
    return l
  }

  private async serial<T> (channelId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(channelId) ?? Promise.resolve()
    const next = prev.catch(() => {}).then(fn)
    this.locks.set(channelId, next)
    try {
      return await next
    } finally {
      if (this.locks.get(channelId) === next) this.locks.delete(channelId)
    }
  }

  private mine (id: string): ChannelRecord {
    const ch = this.ctx.channels.get(id)
    if (ch === undefined || ch.role !== 'client') throw new ChannelError('UNKNOWN_CHANNEL', `no channel ${id} opened by this node`)
    return ch
  }

  private note (type: ChannelEventType, id: string, extra: Partial<ChannelEvent> = {}): void {
    if (this.ctx.events.listenerCount('event') > 0) this.ctx.events.emit('event', eventOf(type, this.mine(id), extra))
  }

  private parties (ch: ChannelRecord): Parties {
    return partiesOf(ch, this.ctx.identity, 'client')
  }

  // ---- open -------------------------------------------------------------------------------

  async open (provider: string, service: string, deposit: number, budget?: number): Promise<{ channelId: string, state: string, deposit: number, expiry: number }> {
    const t = await this.termsOf(provider, service)
    checkTerms(t, deposit, this.maxWindowSeconds)
    const parties: Parties = { clientKey: this.ctx.identity.publicKey, providerKey: t.providerKey, clientAddress: this.ctx.identity.account, providerAddress: accountOf(t.providerKey) }
    const funding = await this.ctx.wallet.fund(channelScript(parties), deposit)
    const fundings = [{ txid: funding.id('hex'), vout: 0, satoshis: deposit }]
    const expiry = this.ctx.now() + t.windowSeconds
    const refund = refundTx(fundings, this.ctx.identity.account, expiry)
    const [clientSig] = signChannelTx(refund, fundings, parties, this.ctx.identity)
    const id = fundings[0]!.txid
    this.ctx.channels.insert({
      id, role: 'client', service, peerId: t.provider, peerKey: t.providerKey, peerAccount: parties.providerAddress, peerAddresses: t.addresses, state: 'opening',
      expiry, windowSeconds: t.windowSeconds, pricePerUnit: t.pricePerUnit, unit: t.unit, fundings: [], fundingTxs: [], refunds: [],
      pending: { fundingTx: hex(txBytes(funding)), refundTx: hex(txBytes(refund)), clientRefundSig: hex(clientSig!) },
      sequence: 0, paid: 0, budget: budget ?? maxPayable(fundings), alerts: [], unitsServed: 0,
      ...(t.contentRoot !== undefined ? { contentRoot: t.contentRoot, chunkCount: t.chunkCount } : {}),
      createdAt: Date.now(), updatedAt: Date.now()
    })
    crashPoint('client:opening-persisted')
    this.opening.add(id)
    try {
      const link = this.link({ peerId: t.provider, peerAddresses: t.addresses })
      let providerSig: Uint8Array
      try {
        const r = await link.request({ open: { service, fundingTx: txBytes(funding), refundTx: txBytes(refund), clientKey: this.ctx.identity.publicKey, fundingBeef: await this.ctx.wallet.beef(funding) } })
        if (!('refund' in r)) throw new ChannelError('BAD_ANSWER', 'expected the provider\'s refund signature')
        providerSig = r.refund.signature
      } catch (err: unknown) {
        this.abandon(id, funding.id('hex'))
        throw err
      }
      this.secureRefund(id, fundings, parties, providerSig, 'client:refund-persisted')
      this.note('open', id, { amount: deposit, deposit })
    } finally {
      this.opening.delete(id)
    }
    return await this.serial(id, async () => await this.openOrResume(id))
  }

  /**
   * The heart of the safety argument: check the provider's refund signature by running the
   * complete refund through the script interpreter and persist the refund. Only a pending
   * funding whose refund is secured this way is ever broadcast (broadcastPendingFunding).
   */
  private secureRefund (id: string, fundings: ChannelRecord['fundings'], parties: Parties, providerSig: Uint8Array, point: 'client:refund-persisted' | 'client:topup-refund-persisted'): void {
    const ch = this.mine(id)
    const pending = ch.pending!
    const unsigned = txFromBytes(Buffer.from(pending.refundTx, 'hex'))
    let complete
    try {
      complete = completeChannelTx(unsigned, fundings, parties, [Buffer.from(pending.clientRefundSig, 'hex')], [providerSig])
    } catch (err: unknown) {
      const fundingTxid = txFromBytes(Buffer.from(pending.fundingTx, 'hex')).id('hex')
      if (ch.state === 'opening') this.abandon(id, fundingTxid)
      else { this.ctx.wallet.release(fundingTxid); this.ctx.channels.update(id, { pending: undefined }) }
      throw new ChannelError('BAD_REFUND', `the provider's refund signature does not unlock the funding: ${(err as Error).message}`)
    }
    this.ctx.channels.update(id, {
      ...(ch.state === 'opening' ? { state: 'funding' as const } : {}),
      refunds: [...ch.refunds, Buffer.from(txBytes(complete)).toString('hex')],
      pending: { ...pending, providerRefundSig: Buffer.from(providerSig).toString('hex') }
    })
    crashPoint(point)
  }

  /** Broadcasts a pending funding whose refund is secured, and tells the provider. Safe to repeat. */
  private async broadcastPendingFunding (ch: ChannelRecord): Promise<void> {
    const funding = txFromBytes(Buffer.from(ch.pending!.fundingTx, 'hex'))
    try {
      await this.ctx.ledger.broadcast(funding)
    } catch (err: unknown) {
      if (!(err instanceof LedgerRejectedError)) throw err
      const txid = funding.id('hex')
      if (err.reason === 'network') throw new ChannelError('LEDGER_REJECTED', `ledger refused ${txid}: ${err.message}; the funding will be broadcast again`)
      // Refused for good (its coins spent elsewhere, a fee ARC will not take): it can never
      // fund the channel, so its coins come back instead of being held by a retry forever.
      if (ch.state === 'funding') this.abandon(ch.id, txid)
      else {
        this.ctx.wallet.release(txid)
        this.ctx.channels.update(ch.id, { pending: undefined, refunds: ch.refunds.filter(r => txFromBytes(Buffer.from(r, 'hex')).inputs[0]!.sourceTXID !== txid) })
      }
      throw new ChannelError('LEDGER_REJECTED', `ledger refused ${txid}: ${err.message}; that funding is given up and its coins are free again`)
    }
    crashPoint('client:funding-broadcast')
    await this.ctx.wallet.sync()
    const r = await this.link(ch).request({ funded: { channelId: ch.id, fundingTxid: funding.id('hex') } })
    if (!('ready' in r)) throw new ChannelError('BAD_ANSWER', 'expected the provider to confirm the funding')
    const fundings = [...ch.fundings, { txid: funding.id('hex'), vout: 0, satoshis: funding.outputs[0]!.satoshis! }]
    if (depositOf(fundings) !== r.ready.deposit) throw new ChannelError('NOT_FUNDED', `provider sees a deposit of ${r.ready.deposit}, we funded ${depositOf(fundings)}`)
    this.ctx.channels.update(ch.id, { state: 'open', fundings, fundingTxs: [...ch.fundingTxs, ch.pending!.fundingTx], pending: undefined })
    this.ctx.events.emit('channel', this.mine(ch.id))
    this.note(ch.fundings.length === 0 ? 'funding' : 'topup', ch.id, { amount: fundings.at(-1)!.satoshis, txid: funding.id('hex') })
  }

  private async openOrResume (id: string): Promise<{ channelId: string, state: string, deposit: number, expiry: number }> {
    const ch = this.mine(id)
    if (ch.state === 'funding') await this.broadcastPendingFunding(ch)
    const done = this.mine(id)
    return { channelId: id, state: done.state, deposit: depositOf(done.fundings), expiry: done.expiry }
  }

  /** A funding that was never broadcast: give its coins back and mark the channel failed. */
  private abandon (id: string, fundingTxid: string): void {
    this.ctx.wallet.release(fundingTxid)
    this.ctx.channels.update(id, { state: 'failed', pending: undefined })
  }

  // ---- pay --------------------------------------------------------------------------------

  async pay (id: string, amount: number): Promise<{ sequence: number, paid: number, remaining: number }> {
    return await this.serial(id, async () => await this.payNow(id, amount))
  }

  private async payNow (id: string, amount: number): Promise<{ sequence: number, paid: number, remaining: number }> {
    if (!Number.isSafeInteger(amount) || amount < 1) throw new ChannelError('BAD_AMOUNT', 'amount must be a positive whole number of satoshis')
    await this.flushUnacked(id)
    const ch = this.mine(id)
    if (ch.state !== 'open') throw new ChannelError('NOT_OPEN', `channel ${id} is ${ch.state}`)
    if (this.ctx.now() + settleMargin(ch) >= ch.expiry) throw new ChannelError('EXPIRED', `channel ${id} is at the end of its window (expiry ${new Date(ch.expiry * 1000).toISOString()})`)
    const parties = this.parties(ch)
    const budget = ch.budget ?? maxPayable(ch.fundings)
    const paid = ch.paid + amount
    if (paid > budget) {
      this.raise(ch, 'exhausted', budget)
      throw new ChannelError('BUDGET_EXHAUSTED', `paying ${amount} would pass the budget of ${budget} (paid ${ch.paid})`)
    }
    if (paid > maxPayable(ch.fundings)) throw new ChannelError('INSUFFICIENT_FUNDS', `the channel holds ${maxPayable(ch.fundings) - ch.paid} more: top it up`)
    const sequence = Math.max(ch.sequence, this.ctx.channels.lastSignedSequence(id)) + 1
    const update = updateTx(ch.fundings, parties, paid, sequence)
    const signatures = signChannelTx(update, ch.fundings, parties, this.ctx.identity).map(s => Buffer.from(s).toString('hex'))
    this.ctx.channels.savePayment({ channelId: id, sequence, paid, updateTx: txBytes(update), signatures, acked: false })
    crashPoint('client:payment-persisted')
    this.note('payment', id, { amount, paid, sequence })
    await this.send(ch, { sequence, paid, updateTx: txBytes(update), signatures })
    const after = this.mine(id)
    return { sequence: after.sequence, paid: after.paid, remaining: Math.min(budget, maxPayable(after.fundings)) - after.paid }
  }

  /** Sends a persisted payment; records the ack, or that it was refused (never to be sent again). */
  private async send (ch: ChannelRecord, p: { sequence: number, paid: number, updateTx: Uint8Array, signatures: string[] }): Promise<void> {
    let r
    try {
      r = await this.link(ch).request({ pay: { channelId: ch.id, sequence: p.sequence, cumulativePaid: p.paid, updateTx: p.updateTx, signatures: p.signatures.map(s => Buffer.from(s, 'hex')) } })
    } catch (err: unknown) {
      if (err instanceof ChannelError && err.fromPeer) this.ctx.channels.markRefused(ch.id, p.sequence)
      throw err
    }
    if (!('ack' in r) || r.ack.sequence !== p.sequence || r.ack.paid !== p.paid) throw new ChannelError('BAD_ANSWER', 'the provider acknowledged something else')
    this.ctx.channels.atomically(() => {
      this.ctx.channels.markAcked(ch.id, p.sequence)
      this.ctx.channels.update(ch.id, { sequence: p.sequence, paid: p.paid })
    })
    this.ctx.events.emit('paid', { channelId: ch.id, sequence: p.sequence, paid: p.paid })
    this.note('ack', ch.id, { sequence: p.sequence })
    const budget = ch.budget ?? maxPayable(ch.fundings)
    for (const alert of alertsAt(p.paid, budget)) this.raise(this.mine(ch.id), alert, budget)
  }

  /** A payment signed before a crash and never acknowledged goes out again, unchanged. */
  private async flushUnacked (id: string): Promise<void> {
    const p = this.ctx.channels.unackedPayment(id)
    if (p !== undefined) await this.send(this.mine(id), p)
  }

  private raise (ch: ChannelRecord, alert: Alert, budget: number): void {
    if (ch.alerts.includes(alert)) return
    this.ctx.channels.update(ch.id, { alerts: [...ch.alerts, alert] })
    this.ctx.events.emit('alert', { channelId: ch.id, alert, paid: ch.paid, budget })
  }

  // ---- top-up, fetch, close ---------------------------------------------------------------

  async topUp (id: string, amount: number): Promise<{ deposit: number }> {
    return await this.serial(id, async () => {
      const ch = this.mine(id)
      if (ch.state !== 'open') throw new ChannelError('NOT_OPEN', `channel ${id} is ${ch.state}`)
      if (this.ctx.now() + settleMargin(ch) >= ch.expiry) throw new ChannelError('EXPIRED', `channel ${id} is at the end of its window`)
      const parties = this.parties(ch)
      const funding = await this.ctx.wallet.fund(channelScript(parties), amount)
      const added = [{ txid: funding.id('hex'), vout: 0, satoshis: amount }]
      const refund = refundTx(added, this.ctx.identity.account, ch.expiry)
      const [clientSig] = signChannelTx(refund, added, parties, this.ctx.identity)
        this.ctx.channels.update(id, { pending: { fundingTx: hex(txBytes(funding)), refundTx: hex(txBytes(refund)), clientRefundSig: hex(clientSig!) } })
      let providerSig: Uint8Array
      try {
        const r = await this.link(ch).request({ topup: { channelId: id, fundingTx: txBytes(funding), refundTx: txBytes(refund), fundingBeef: await this.ctx.wallet.beef(funding) } })
        if (!('refund' in r)) throw new ChannelError('BAD_ANSWER', 'expected the provider\'s refund signature')
        providerSig = r.refund.signature
      } catch (err: unknown) {
        this.ctx.wallet.release(funding.id('hex'))
        this.ctx.channels.update(id, { pending: undefined })
        throw err
      }
      this.secureRefund(id, added, parties, providerSig, 'client:topup-refund-persisted')
      await this.broadcastPendingFunding(this.mine(id))
      return { deposit: depositOf(this.mine(id).fundings) }
    })
  }

  /**
   * Buys a metered file chunk by chunk: pay for one, fetch it, check it against the root the
   * provider committed to, append it — until done, or the budget or the deposit runs out.
   */
  async fetch (id: string, chunks?: number): Promise<FetchResult> {
    const ch = this.mine(id)
    if (ch.contentRoot === undefined || ch.chunkCount === undefined) throw new ChannelError('UNKNOWN_SERVICE', `service ${ch.service} is not a metered file`)
    mkdirSync(this.downloads, { recursive: true })
    const part = join(this.downloads, `${ch.service.replace(/[^A-Za-z0-9_.-]/g, '_')}-${id.slice(0, 12)}.part`)
    const done = part.slice(0, -'.part'.length)
    const limit = chunks === undefined ? ch.chunkCount : Math.min(ch.chunkCount, ch.unitsServed + chunks)
    let received = 0
    let verified = true
    let stoppedBy: FetchResult['stoppedBy']
    for (let index = ch.unitsServed; index < limit; index++) {
      try {
        await this.pay(id, ch.pricePerUnit)
      } catch (err: unknown) {
        const code = (err as ChannelError).code
        if (code === 'BUDGET_EXHAUSTED') stoppedBy = 'budget'
        else if (code === 'INSUFFICIENT_FUNDS') stoppedBy = 'deposit'
        else if (code === 'EXPIRED') stoppedBy = 'expiry'
        else throw err
        break
      }
      const r = await this.link(ch).request({ chunk: { channelId: id, index } })
      if (!('chunk' in r) || r.chunk.index !== index || !verifyChunk(Buffer.from(ch.contentRoot, 'hex'), ch.chunkCount, index, r.chunk.data, r.chunk.proof)) {
        // Paid for, but not what the provider committed to: keep nothing of it and pay no more.
        this.ctx.log.warn({ channel: id, index }, 'chunk does not match the committed root: stopped paying')
        verified = false
        stoppedBy = 'bad-chunk'
        break
      }
      appendFileSync(part, r.chunk.data)
      this.ctx.channels.update(id, { unitsServed: index + 1 })
      received++
    }
    const now = this.mine(id)
    const complete = now.unitsServed === ch.chunkCount
    if (complete) renameSync(part, done)
    return { received, verified, paid: now.paid, ...(stoppedBy !== undefined ? { stoppedBy } : {}), path: complete ? done : part, complete }
  }

  /**
   * Asks the provider to settle the highest payment. With nothing paid there is nothing to
   * settle: the refund brings the deposit back at expiry (now, if already expired).
   *
   * The provider's answer is a claim: the channel is closed only once the ledger shows the
   * settlement spending the funding. Until then it stays `closing` and watched, and if the
   * settlement never lands, the refund goes out at expiry (maintainOne).
   */
  async close (id: string): Promise<{ txid: string, paid: number, refunded: number }> {
    return await this.serial(id, async () => {
      await this.flushUnacked(id).catch(() => {})
      const ch = this.mine(id)
      if (ch.state === 'closed' || ch.state === 'refunded' || (ch.state === 'closing' && ch.closeTxid !== undefined)) return await this.closedResult(ch)
      if (ch.state !== 'open' && ch.state !== 'closing') throw new ChannelError('NOT_OPEN', `channel ${id} is ${ch.state}`)
      if (ch.paid > 0) {
        // A top-up since the last payment: sign the same amount over every funding, so the
        // settlement returns the top-up now instead of at expiry.
        if (ch.state === 'open' && this.ctx.channels.lastAckedInputs(id) < ch.fundings.length) await this.signAgain(ch)
        this.ctx.channels.update(id, { state: 'closing' })
        this.note('close', id)
        const r = await this.link(ch).request({ close: { channelId: id } })
        if (!('closed' in r)) throw new ChannelError('BAD_ANSWER', 'expected a settlement')
        await this.learnSettlement(id, r.closed.txid, r.closed.settlementBeef)
        await this.ctx.wallet.sync()
        const after = await this.watch(this.mine(id))
        if (after.closeTxid !== r.closed.txid) {
          this.note('settlement', id, { txid: r.closed.txid, paid: r.closed.paid, confirmed: false })
          throw new ChannelError('SETTLEMENT_UNSEEN', `the provider says it settled in ${r.closed.txid}, but the ledger has not seen that transaction spend the funding: still watching ${id}; its refund goes out after ${new Date(ch.expiry * 1000).toISOString()} if no settlement lands`)
        }
        return await this.closedResult(after)
      }
      if (this.ctx.now() > ch.expiry) return await this.closedResult(await this.watch(ch))
      this.ctx.channels.update(id, { state: 'closing' })
      throw new ChannelError('NOTHING_TO_SETTLE', `nothing was paid on ${id}: its refund returns the deposit after ${new Date(ch.expiry * 1000).toISOString()}, and will be broadcast then`)
    })
  }

  /**
   * The provider's settlement, as BEEF: checked in full against our chain tracker and taken
   * into our ledger, which is how a client on another computer sees its change come back.
   * A settlement that does not check out is not learned; the watch below then keeps the
   * channel open and the refund ready.
   */
  private async learnSettlement (id: string, txid: string, bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return
    try {
      await this.ctx.ledger.learn(await verifyBeef(bytes, { tracker: this.ctx.ledger.tracker, now: this.ctx.now }, txid))
    } catch (err: unknown) {
      this.ctx.log.warn({ channel: id, txid, err: (err as Error).message }, 'the provider\'s settlement does not check out')
    }
  }

  /**
   * Asks the provider for a settlement it already made of an expired channel (asking it to
   * settle now would give up the refund); true when one was learned.
   */
  private async askSettled (ch: ChannelRecord): Promise<boolean> {
    try {
      const r = await this.link(ch).request({ close: { channelId: ch.id, settledOnly: true } }, 5_000)
      if (!('closed' in r)) return false
      await this.learnSettlement(ch.id, r.closed.txid, r.closed.settlementBeef)
      return (await this.ctx.ledger.output(r.closed.txid, 0)) !== undefined
    } catch (err: unknown) {
      this.ctx.log.info({ channel: ch.id, err: (err as Error).message }, 'no settlement from the provider: refunding')
      return false
    }
  }

  /** The acknowledged amount once more, over every funding output (after a top-up). */
  private async signAgain (ch: ChannelRecord): Promise<void> {
    const parties = this.parties(ch)
    const sequence = Math.max(ch.sequence, this.ctx.channels.lastSignedSequence(ch.id)) + 1
    const update = updateTx(ch.fundings, parties, ch.paid, sequence)
    const signatures = signChannelTx(update, ch.fundings, parties, this.ctx.identity).map(s => Buffer.from(s).toString('hex'))
    this.ctx.channels.savePayment({ channelId: ch.id, sequence, paid: ch.paid, updateTx: txBytes(update), signatures, acked: false })
    this.note('payment', ch.id, { amount: 0, paid: ch.paid, sequence })
    await this.send(ch, { sequence, paid: ch.paid, updateTx: txBytes(update), signatures })
  }

  /** What a finished channel paid, and what came (or comes, at expiry) back to us. */
  private async closedResult (ch: ChannelRecord): Promise<{ txid: string, paid: number, refunded: number }> {
    const refundOf = (r: string): number => txFromBytes(Buffer.from(r, 'hex')).outputs[0]!.satoshis!
    if (ch.state === 'refunded') return { txid: ch.closeTxid ?? '', paid: 0, refunded: ch.refunds.reduce((s, r) => s + refundOf(r), 0) }
    const txid = ch.closeTxid ?? ''
    const change = await this.ctx.ledger.output(txid, 1)
    let refunded = change?.script === p2pkhLock(this.ctx.identity.account).toHex() ? change.satoshis : 0
    for (const r of ch.refunds) {
      const tx = txFromBytes(Buffer.from(r, 'hex'))
      const spentBy = (await this.ctx.ledger.output(tx.inputs[0]!.sourceTXID!, tx.inputs[0]!.sourceOutputIndex))?.spentBy
      if (spentBy !== txid) refunded += refundOf(r) // a funding the settlement left: back by its refund
    }
    return { txid, paid: ch.paid, refunded }
  }

  /**
   * Reads the channel's fate off the ledger and acts on it: a settlement that spent some
   * funding outputs is noted; funding outputs still unspent after expiry go back by their
   * refunds. closed = settled and nothing left; refunded = every output came back by refund;
   * closing = settled in part (a top-up still waiting for its refund) or asked to close.
   */
  private async watch (ch: ChannelRecord, asked = false): Promise<ChannelRecord> {
    const spentBy = await Promise.all(ch.fundings.map(async f => (await this.ctx.ledger.output(f.txid, f.vout))?.spentBy))
    const refundIds = new Set(ch.refunds.map(r => txFromBytes(Buffer.from(r, 'hex')).id('hex')))
    const settlement = spentBy.find(t => t !== undefined && !refundIds.has(t))
    const unspent = new Set(ch.fundings.filter((_, i) => spentBy[i] === undefined).map(f => f.txid))
    let lastRefund = spentBy.find(t => t !== undefined && refundIds.has(t))
    if (unspent.size > 0 && this.ctx.now() > ch.expiry && settlement === undefined && ch.paid > 0 && !asked) {
      // Before refunding: the provider may have settled without this node hearing of it (its
      // notice lost, or it was killed before sending it). A provider that answers hands the
      // settlement over as BEEF; one that has vanished costs a dial timeout, then the refund.
      if (await this.askSettled(ch)) return await this.watch(this.mine(ch.id), true)
    }
    if (unspent.size > 0 && this.ctx.now() > ch.expiry) {
      for (const r of ch.refunds) {
        const tx = txFromBytes(Buffer.from(r, 'hex'))
        if (!tx.inputs.every(i => unspent.has(i.sourceTXID!))) continue
        lastRefund = await this.ctx.broadcast(tx)
        await this.tellProvider(ch, tx)
        this.note('refund', ch.id, { txid: lastRefund, amount: tx.outputs[0]!.satoshis!, confirmed: true })
      }
      unspent.clear()
      await this.ctx.wallet.sync()
    }
    const state = unspent.size > 0
      ? (settlement !== undefined ? 'closing' : ch.state)
      : settlement !== undefined ? 'closed' : 'refunded'
    const closeTxid = settlement ?? lastRefund
    if (state !== ch.state || closeTxid !== ch.closeTxid) {
      this.ctx.channels.update(ch.id, { state, ...(closeTxid !== undefined ? { closeTxid } : {}) })
      if (settlement !== undefined) await this.ctx.wallet.sync()
      this.ctx.log.info({ channel: ch.id, state, txid: closeTxid }, state === 'refunded' ? 'channel refunded' : 'channel settled')
      this.ctx.events.emit('channel', this.mine(ch.id))
      if (settlement !== undefined && settlement !== ch.closeTxid) this.note('settlement', ch.id, { txid: settlement, confirmed: true })
    }
    return this.mine(ch.id)
  }

  /**
   * Hands our refund to the provider as a PAYMENT (BEEF + memo) to its account: a provider on
   * another ledger would otherwise never see its funding spent, keep trying to settle, and
   * count as earned what came back to us. Best effort: a provider gone hears nothing.
   */
  private async tellProvider (ch: ChannelRecord, refund: Transaction): Promise<void> {
    try {
      const beef = await beefOf(refund, this.ctx.ledger)
      const payload = encodeAs(PeerPaymentType, { beef, memo: `refund of channel ${ch.id.slice(0, 10)}` })
      if (payload.length > this.ctx.node.maxPayload) throw new Error(`refund BEEF of ${payload.length} bytes does not fit one message`)
      this.ctx.node.send({ target: accountTarget(ch.peerAccount).id, kind: Kind.PAYMENT, payload })
    } catch (err: unknown) {
      this.ctx.log.warn({ channel: ch.id, err }, 'could not hand the refund to the provider')
    }
  }

  /**
   * Periodic care, also right after a restart: finish fundings whose refund is secured,
   * give back coins of opens that never got a refund signature, resend unacknowledged
   * payments, notice settlements, and refund expired channels.
   */
  async maintain (): Promise<void> {
    for (const ch of this.ctx.channels.list('client')) {
      try {
        await this.serial(ch.id, async () => await this.maintainOne(this.mine(ch.id)))
      } catch (err: unknown) {
        this.ctx.log.debug({ channel: ch.id, err: (err as Error).message }, 'channel maintenance will retry')
      }
    }
  }

  private async maintainOne (ch: ChannelRecord): Promise<void> {
    if (ch.state === 'opening' && !this.opening.has(ch.id)) {
      // Crashed before the provider's refund signature was secured: the funding was never broadcast.
      this.abandon(ch.id, txFromBytes(Buffer.from(ch.pending!.fundingTx, 'hex')).id('hex'))
      return
    }
    if (ch.state === 'funding' || (ch.state === 'open' && ch.pending?.providerRefundSig !== undefined)) {
      await this.broadcastPendingFunding(ch)
      return
    }
    if (ch.state === 'open' && ch.pending !== undefined) {
      // A top-up whose refund was never secured: its funding was never broadcast.
      this.ctx.wallet.release(txFromBytes(Buffer.from(ch.pending.fundingTx, 'hex')).id('hex'))
      this.ctx.channels.update(ch.id, { pending: undefined })
    }
    if (ch.state !== 'open' && ch.state !== 'closing') return
    const now = await this.watch(ch)
    if (now.state === 'open') await this.flushUnacked(ch.id)
  }

  status (id: string): ChannelStatus {
    const ch = this.ctx.channels.get(id)
    if (ch === undefined) throw new ChannelError('UNKNOWN_CHANNEL', `no channel ${id}`)
    return statusOf(ch)
  }

  list (): ChannelStatus[] {
    return this.ctx.channels.list().map(ch => statusOf(ch))
  }
}

export function statusOf (ch: ChannelRecord): ChannelStatus {
  const deposit = depositOf(ch.fundings)
  const max = ch.fundings.length === 0 ? 0 : maxPayable(ch.fundings)
  return {
    channelId: ch.id,
    role: ch.role,
    state: ch.state,
    service: ch.service,
    peer: ch.peerId,
    peerAccount: ch.peerAccount,
    deposit,
    paid: ch.paid,
    sequence: ch.sequence,
    expiry: ch.expiry,
    pricePerUnit: ch.pricePerUnit,
    unit: ch.unit,
    ...(ch.budget !== undefined ? { budget: ch.budget } : {}),
    remaining: Math.max(0, Math.min(ch.budget ?? max, max) - ch.paid),
    alerts: ch.alerts,
    ...(ch.closeTxid !== undefined ? { closeTxid: ch.closeTxid } : {})
  }
}
