/**
 * The provider's side of payment channels (DESIGN §8): it offers services, answers TERMS
 * requests, co-signs refunds, checks and banks payments, serves what was paid for, and
 * settles the highest payment before the client's refund matures.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Transaction } from '@bsv/sdk'
import { accountOf, peerIdOf } from '../../identity.ts'
import { accountTarget } from '../../targets.ts'
import { Kind } from '../../wire/tmsg.ts'
import type { Delivery } from '../../node/node.ts'
import { ChannelError } from '../errors.ts'
import { BeefError, beefOf, verifyBeef } from '../chain/beef.ts'
import { LedgerRejectedError } from '../chain/ledger.ts'
import { completeChannelTx, maxPayable, refundTx, signChannelTx } from './transactions.ts'
import type { Parties } from './transactions.ts'
import { checkFundingAndRefund, checkPayment } from './checks.ts'
import { settleMargin } from './store.ts'
import type { ChannelRecord, Offer } from './store.ts'
import { crashPoint } from '../crash.ts'
import { eventOf } from './events.ts'
import type { ChannelEvent, ChannelEventType } from './events.ts'
import { MerkleFile } from './merkle.ts'
import { decodeTermsRequest, encodeTerms, serviceTarget } from '../terms/terms.ts'
import { p2pkhLock, txBytes, txFromBytes } from '../chain/tx.ts'
import type { Outpoint } from '../chain/tx.ts'
import type { ChannelRequest, ChannelResponse, OpenChannelMsg, PaymentMsg, TopUpMsg } from './stream.ts'
import type { Layer2Context } from '../context.ts'
import { AnswerLimiter } from '../answer-limit.ts'
import { PeerPaymentType, encodeAs } from '../proto.ts'

/** How far the client's refund lock time may differ from now + window (clocks differ). */
const EXPIRY_SLACK_SECONDS = 120

export function partiesOf (ch: Pick<ChannelRecord, 'peerKey' | 'peerAccount'>, own: { publicKey: Uint8Array, account: string }, role: 'client' | 'provider'): Parties {
  return role === 'provider'
    ? { clientKey: ch.peerKey, providerKey: own.publicKey, clientAddress: ch.peerAccount, providerAddress: own.account }
    : { clientKey: own.publicKey, providerKey: ch.peerKey, clientAddress: own.account, providerAddress: ch.peerAccount }
}

export interface OfferInput {
  service: string
  pricePerUnit: number
  unit: string
  minDeposit: number
  windowSeconds?: number
  file?: string
  active?: boolean
}

export class Provider {
  private readonly ctx: Layer2Context
  private readonly files = new Map<string, MerkleFile>()
  /** TERMS answers are signed and flooded back: budgeted like balance answers. */
  readonly termsLimiter: AnswerLimiter

  constructor (ctx: Layer2Context, termsLimiter = new AnswerLimiter()) {
    this.ctx = ctx
    this.termsLimiter = termsLimiter
  }

  private note (type: ChannelEventType, id: string, extra: Partial<ChannelEvent> = {}): void {
    if (this.ctx.events.listenerCount('event') > 0) this.ctx.events.emit('event', eventOf(type, this.ctx.channels.get(id)!, extra))
  }

  start (): void {
    this.ctx.subscribe(serviceTarget())
    for (const o of this.ctx.channels.offers()) this.activate(o)
    for (const ch of this.ctx.channels.list('provider')) this.ctx.subscribe(accountTarget(ch.peerAccount))
  }

  // ---- offers and terms -------------------------------------------------------------------

  offer (input: OfferInput): Offer & { contentRoot?: string } {
    const o: Offer = {
      service: input.service,
      pricePerUnit: input.pricePerUnit,
      unit: input.unit,
      minDeposit: input.minDeposit,
      windowSeconds: input.windowSeconds ?? 24 * 3600,
      ...(input.file !== undefined ? { file: resolve(input.file) } : {}),
      active: input.active ?? true
    }
    const file = o.file !== undefined ? this.load(o.file) : undefined // fails before saving if unreadable
    this.ctx.channels.saveOffer(o)
    this.activate(o)
    this.ctx.events.emit('event', { type: 'offer', role: 'provider', service: o.service, amount: o.pricePerUnit, at: Date.now() })
    return { ...o, ...(file !== undefined ? { contentRoot: file.root.toString('hex') } : {}) }
  }

  private activate (o: Offer): void {
    if (!o.active) return
    if (o.file !== undefined && !this.files.has(o.service)) {
      try {
        this.files.set(o.service, this.load(o.file))
      } catch (err: unknown) {
        this.ctx.log.error({ service: o.service, err }, 'offered file cannot be read: service not announced')
        return
      }
    }
    this.ctx.subscribe(serviceTarget(o.service))
  }

  private load (path: string): MerkleFile {
    try {
      return new MerkleFile(readFileSync(path))
    } catch (err: unknown) {
      throw new ChannelError('UNKNOWN_SERVICE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }

  private activeOffer (service: string): Offer {
    const o = this.ctx.channels.offers().find(x => x.service === service && x.active)
    if (o === undefined) throw new ChannelError('UNKNOWN_SERVICE', `no active service "${service}" here`)
    return o
  }

  /** A TERMS_REQUEST hit: answer with the terms of each matching active service. */
  onDelivery (d: Delivery): void {
    if (d.msg.kind !== Kind.TERMS_REQUEST || d.from === 'self') return
    if (!this.termsLimiter.allow()) return
    let wanted: { service?: string }
    try {
      wanted = decodeTermsRequest(d.msg.payload)
    } catch {
      return
    }
    for (const o of this.ctx.channels.offers()) {
      if (!o.active || (wanted.service !== undefined && wanted.service !== o.service)) continue
      const file = this.files.get(o.service)
      const payload = encodeTerms({
        service: o.service,
        pricePerUnit: o.pricePerUnit,
        unit: o.unit,
        minDeposit: o.minDeposit,
        windowSeconds: o.windowSeconds,
        providerKey: this.ctx.identity.publicKey,
        addresses: this.ctx.node.addresses(),
        ...(file !== undefined ? { contentRoot: file.root.toString('hex'), chunkCount: file.chunks.length, chunkSize: file.chunkSize, contentSize: file.size } : {})
      })
      this.ctx.node.send({ target: d.msg.msgId, replyTo: d.msg.msgId, kind: Kind.TERMS, payload })
    }
  }

  /** Running earnings per service: what clients have paid into open and settled channels (not refunded ones). */
  earnings (): Array<{ service: string, active: boolean, channels: number, earned: number }> {
    const chans = this.ctx.channels.list('provider')
    return this.ctx.channels.offers().map(o => {
      // A refunded channel paid nothing in the end: the client took the whole deposit back.
      const mine = chans.filter(c => c.service === o.service && c.state !== 'failed' && c.state !== 'refunded')
      return { service: o.service, active: o.active, channels: mine.length, earned: mine.reduce((s, c) => s + c.paid, 0) }
    })
  }

  // ---- the channel protocol ---------------------------------------------------------------

  async handle (peerId: string, req: ChannelRequest): Promise<ChannelResponse> {
    if ('open' in req) return await this.open(peerId, req.open)
    if ('funded' in req) return await this.funded(peerId, req.funded.channelId, req.funded.fundingTxid)
    if ('pay' in req) return this.pay(peerId, req.pay)
    if ('topup' in req) return await this.topUp(peerId, req.topup)
    if ('chunk' in req) return this.chunk(peerId, req.chunk.channelId, req.chunk.index)
    const ch = this.channel(peerId, req.close.channelId)
    if (req.close.settledOnly === true && !(ch.state === 'closed' && ch.closeTxid !== undefined)) throw new ChannelError('NOT_OPEN', `channel ${ch.id} is ${ch.state}: not settled here`)
    const r = await this.close(req.close.channelId)
    // The settlement with its proof: the client's own ledger checks it and learns its change.
    const known = await this.ctx.ledger.known(r.txid)
    const settlementBeef = known === undefined ? new Uint8Array(0) : await beefOf(txFromBytes(known.raw), this.ctx.ledger)
    return { closed: { channelId: req.close.channelId, txid: r.txid, paid: r.paid, settlementBeef } }
  }

  private channel (peerId: string, id: string): ChannelRecord {
    const ch = this.ctx.channels.get(id)
    if (ch === undefined || ch.role !== 'provider' || ch.peerId !== peerId) throw new ChannelError('UNKNOWN_CHANNEL', `no channel ${id} with you here`)
    return ch
  }

  /** Checks a funding/refund pair (checkFundingAndRefund) and returns the provider's refund signature. */
  private signRefund (fundingBytes: Uint8Array, refundBytes: Uint8Array, parties: Parties, expiryRange: [number, number], minDeposit: number): { funding: Transaction, outpoint: Outpoint, expiry: number, signature: Uint8Array } {
    let funding: Transaction
    let refund: Transaction
    try {
      funding = txFromBytes(fundingBytes)
      refund = txFromBytes(refundBytes)
    } catch {
      throw new ChannelError('BAD_MESSAGE', 'funding or refund is not a transaction')
    }
    const { outpoint, expiry, refund: expected } = checkFundingAndRefund(funding, refund, parties, expiryRange, minDeposit)
    const [signature] = signChannelTx(expected, [outpoint], parties, this.ctx.identity)
    return { funding, outpoint, expiry, signature: signature! }
  }

  /** The client's funding BEEF, checked fully against our chain tracker before we sign anything for it. */
  private async checkFundingBeef (bytes: Uint8Array, fundingTx: Uint8Array): Promise<string> {
    const txid = txFromBytes(fundingTx).id('hex')
    try {
      await verifyBeef(bytes, { tracker: this.ctx.ledger.tracker, now: this.ctx.now }, txid)
    } catch (err: unknown) {
      if (err instanceof BeefError) throw new ChannelError('BAD_FUNDING', `funding BEEF rejected (${err.reason}): ${err.message}`)
      throw err
    }
    return Buffer.from(bytes).toString('hex')
  }

  private async open (peerId: string, m: OpenChannelMsg): Promise<ChannelResponse> {
    const offer = this.activeOffer(m.service)
    if (m.clientKey.length !== 33 || peerIdOf(m.clientKey) !== peerId) {
      throw new ChannelError('BAD_FUNDING', 'the channel key must be the key of the connection that opens it')
    }
    const parties: Parties = { clientKey: m.clientKey, providerKey: this.ctx.identity.publicKey, clientAddress: accountOf(m.clientKey), providerAddress: this.ctx.identity.account }
    const now = this.ctx.now()
    const window: [number, number] = [now + offer.windowSeconds - EXPIRY_SLACK_SECONDS, now + offer.windowSeconds + EXPIRY_SLACK_SECONDS]
    const { funding, outpoint, expiry, signature } = this.signRefund(m.fundingTx, m.refundTx, parties, window, offer.minDeposit)
    const fundingBeef = await this.checkFundingBeef(m.fundingBeef, m.fundingTx)
    const existing = this.ctx.channels.get(outpoint.txid)
    if (existing === undefined) {
      this.ctx.channels.insert({
        id: outpoint.txid, role: 'provider', service: offer.service, peerId, peerKey: m.clientKey, peerAccount: parties.clientAddress, peerAddresses: [],
        state: 'opening', expiry, windowSeconds: offer.windowSeconds, pricePerUnit: offer.pricePerUnit, unit: offer.unit,
        fundings: [], fundingTxs: [Buffer.from(txBytes(funding)).toString('hex')], refunds: [],
        pending: { fundingTx: Buffer.from(txBytes(funding)).toString('hex'), refundTx: Buffer.from(m.refundTx).toString('hex'), clientRefundSig: '', fundingBeef },
        sequence: 0, paid: 0, alerts: [], unitsServed: 0, createdAt: Date.now(), updatedAt: Date.now()
      })
    } else if (existing.peerId !== peerId || existing.state !== 'opening') {
      throw new ChannelError('BAD_FUNDING', `channel ${outpoint.txid} already exists`)
    }
    this.ctx.subscribe(accountTarget(parties.clientAddress))
    crashPoint('provider:refund-signed')
    if (existing === undefined) this.note('open', outpoint.txid, { amount: outpoint.satoshis, deposit: outpoint.satoshis })
    return { refund: { channelId: outpoint.txid, signature } }
  }

  /** The client says a funding is on the ledger: check it there, then open (or grow) the channel. */
  private async funded (peerId: string, id: string, fundingTxid: string): Promise<ChannelResponse> {
    const ch = this.channel(peerId, id)
    const ready = (c: ChannelRecord): ChannelResponse => ({ ready: { channelId: c.id, deposit: c.fundings.reduce((s, f) => s + f.satoshis, 0), expiry: c.expiry } })
    if (ch.fundings.some(f => f.txid === fundingTxid)) return ready(ch) // said twice (after a crash): same answer
    const pending = ch.pending === undefined ? undefined : txFromBytes(Buffer.from(ch.pending.fundingTx, 'hex'))
    if (pending === undefined || pending.id('hex') !== fundingTxid) {
      throw new ChannelError('NOT_FUNDED', `no funding ${fundingTxid} in progress on channel ${id}`)
    }
    const expected = pending.outputs[0]!
    if (ch.pending?.fundingBeef !== undefined) {
      // Our ledger may be another computer's: take the funding, with its ancestors, from the client's BEEF.
      try {
        await this.ctx.ledger.learn(await verifyBeef(Buffer.from(ch.pending.fundingBeef, 'hex'), { tracker: this.ctx.ledger.tracker, now: this.ctx.now }, fundingTxid))
      } catch (err: unknown) {
        if (err instanceof BeefError || err instanceof LedgerRejectedError) throw new ChannelError('NOT_FUNDED', `funding ${fundingTxid} does not check out here: ${err.message}`)
        throw err
      }
    }
    const onLedger = await this.ctx.ledger.output(fundingTxid, 0)
    if (onLedger === undefined || onLedger.spentBy !== undefined || onLedger.satoshis !== expected.satoshis || onLedger.script !== expected.lockingScript.toHex()) {
      throw new ChannelError('NOT_FUNDED', `funding ${fundingTxid} is not an unspent output on the ledger`)
    }
    const fundings = [...ch.fundings, { txid: fundingTxid, vout: 0, satoshis: onLedger.satoshis }]
    const fundingTxs = ch.state === 'opening' ? ch.fundingTxs : [...ch.fundingTxs, ch.pending!.fundingTx]
    this.ctx.channels.update(id, { state: 'open', fundings, fundingTxs, pending: undefined })
    crashPoint('provider:open-persisted')
    this.ctx.events.emit('channel', this.ctx.channels.get(id)!)
    this.note(ch.state === 'opening' ? 'funding' : 'topup', id, { amount: onLedger.satoshis, txid: fundingTxid })
    return ready(this.ctx.channels.get(id)!)
  }

  private async topUp (peerId: string, m: TopUpMsg): Promise<ChannelResponse> {
    const ch = this.channel(peerId, m.channelId)
    if (ch.state !== 'open') throw new ChannelError('NOT_OPEN', `channel ${ch.id} is ${ch.state}`)
    const parties = partiesOf(ch, this.ctx.identity, 'provider')
    // A top-up refund matures with the channel: same lock time exactly.
    const { funding, signature } = this.signRefund(m.fundingTx, m.refundTx, parties, [ch.expiry, ch.expiry], 1)
    const fundingBeef = await this.checkFundingBeef(m.fundingBeef, m.fundingTx)
    this.ctx.channels.update(ch.id, { pending: { fundingTx: Buffer.from(txBytes(funding)).toString('hex'), refundTx: Buffer.from(m.refundTx).toString('hex'), clientRefundSig: '', fundingBeef } })
    return { refund: { channelId: ch.id, signature } }
  }

  private pay (peerId: string, m: PaymentMsg): ChannelResponse {
    const ch = this.channel(peerId, m.channelId)
    if (ch.state !== 'open') throw new ChannelError('NOT_OPEN', `channel ${ch.id} is ${ch.state}`)
    const ack = { ack: { channelId: ch.id, sequence: m.sequence, paid: m.cumulativePaid } }
    // Only a payment of the same amount needs to know what the last one spent (see checkPayment).
    const covered = m.cumulativePaid === ch.paid && ch.lastUpdate !== undefined ? txFromBytes(ch.lastUpdate).inputs.length : ch.fundings.length
    // The same payment again (the client crashed before it saw our ack): acknowledge again.
    if (m.sequence === ch.sequence && m.cumulativePaid === ch.paid && ch.lastUpdate !== undefined && Buffer.compare(Buffer.from(ch.lastUpdate), Buffer.from(m.updateTx)) === 0) return ack
    let tx: Transaction
    try {
      tx = txFromBytes(m.updateTx)
    } catch {
      throw new ChannelError('BAD_MESSAGE', 'update is not a transaction')
    }
    checkPayment({ fundings: ch.fundings, parties: partiesOf(ch, this.ctx.identity, 'provider'), sequence: ch.sequence, paid: ch.paid, expiry: ch.expiry, covered },
      { sequence: m.sequence, paid: m.cumulativePaid, tx, signatures: m.signatures }, this.ctx.now(), settleMargin(ch))
    this.ctx.channels.update(ch.id, {
      sequence: m.sequence,
      paid: m.cumulativePaid,
      lastUpdate: m.updateTx,
      lastSignatures: m.signatures.map(s => Buffer.from(s).toString('hex'))
    })
    crashPoint('provider:payment-persisted')
    if (m.cumulativePaid > ch.paid) this.ctx.events.emit('earned', { channelId: ch.id, service: ch.service, amount: m.cumulativePaid - ch.paid, paid: m.cumulativePaid })
    if (this.ctx.events.listenerCount('event') > 0) this.ctx.events.emit('event', eventOf('payment', { ...ch, paid: m.cumulativePaid }, { amount: m.cumulativePaid - ch.paid, sequence: m.sequence }))
    return ack
  }

  private chunk (peerId: string, id: string, index: number): ChannelResponse {
    const ch = this.channel(peerId, id)
    if (ch.state !== 'open') throw new ChannelError('NOT_OPEN', `channel ${ch.id} is ${ch.state}`)
    const file = this.files.get(ch.service)
    if (file === undefined) throw new ChannelError('UNKNOWN_SERVICE', `service ${ch.service} serves no file`)
    if (!Number.isInteger(index) || index < 0 || index >= file.chunks.length) throw new ChannelError('NO_SUCH_CHUNK', `chunk ${index} of ${file.chunks.length}`)
    const paidUnits = ch.pricePerUnit === 0 ? Infinity : Math.floor(ch.paid / ch.pricePerUnit)
    if (ch.unitsServed >= paidUnits) throw new ChannelError('NOT_PAID', `${ch.unitsServed} chunks served, ${paidUnits} paid for: pay first`)
    this.ctx.channels.update(ch.id, { unitsServed: ch.unitsServed + 1 })
    return { chunk: { index, data: file.chunks[index]!, proof: file.proof(index) } }
  }

  /** Settles one of our channels (channel_close on the provider). */
  async close (id: string): Promise<SettleResult> {
    const ch = this.ctx.channels.get(id)
    if (ch === undefined || ch.role !== 'provider') throw new ChannelError('UNKNOWN_CHANNEL', `no channel ${id} served by this node`)
    return await this.settle(ch)
  }

  /**
   * Countersigns the highest payment and broadcasts it. The channel is `closing` (no more
   * payments) before anything is signed, and stays so until the settlement is accepted; a
   * failed broadcast is retried by settleDue. Idempotent once settled.
   */
  async settle (ch: ChannelRecord): Promise<SettleResult> {
    if (ch.state === 'closed' && ch.closeTxid !== undefined) return this.settled(ch)
    if (ch.state !== 'open' && ch.state !== 'closing') throw new ChannelError('NOT_OPEN', `channel ${ch.id} is ${ch.state}`)
    if (ch.lastUpdate === undefined || ch.lastSignatures === undefined) throw new ChannelError('NOTHING_TO_SETTLE', 'nothing was paid: the client\'s refund returns the deposit at expiry')
    const spent = await this.noticeSpent(ch)
    if (spent === 'refunded') throw new ChannelError('NOT_OPEN', `channel ${ch.id} was refunded to the client`)
    if (spent === 'closed') return this.settled(this.ctx.channels.get(ch.id)!)
    if (ch.state === 'open') {
      this.ctx.channels.update(ch.id, { state: 'closing' })
      this.note('close', ch.id)
    }
    const parties = partiesOf(ch, this.ctx.identity, 'provider')
    const update = txFromBytes(ch.lastUpdate)
    // The last payment may predate a top-up: it spends the fundings it was signed for, and
    // the top-up goes back to the client by its own refund at expiry.
    const covered = ch.fundings.slice(0, update.inputs.length)
    const settlement = completeChannelTx(update, covered, parties, ch.lastSignatures.map(s => Buffer.from(s, 'hex')),
      signChannelTx(update, covered, parties, this.ctx.identity))
    let txid: string
    try {
      txid = await this.ctx.broadcast(settlement)
    } catch (err: unknown) {
      if (await this.noticeSpent(ch) === 'refunded') throw new ChannelError('NOT_OPEN', `channel ${ch.id} was refunded to the client`)
      throw err
    }
    this.ctx.channels.update(ch.id, { state: 'closed', closeTxid: txid })
    this.ctx.log.info({ channel: ch.id, paid: ch.paid, txid }, 'channel settled')
    this.ctx.events.emit('channel', this.ctx.channels.get(ch.id)!)
    this.note('settlement', ch.id, { txid, amount: ch.paid, confirmed: true })
    crashPoint('provider:settlement-broadcast')
    await this.tellClient(ch, settlement)
    return this.settled(this.ctx.channels.get(ch.id)!)
  }

  /**
   * Hands the settlement to the client as a PAYMENT (BEEF + memo) to its account, whoever
   * asked for the close: it pays the client its change, and a client on another ledger could
   * not otherwise know that its funding is spent (it would refund at expiry what was settled).
   * Best effort: a client that misses it still gets the settlement in answer to its own close.
   */
  private async tellClient (ch: ChannelRecord, settlement: Transaction): Promise<void> {
    try {
      const beef = await beefOf(settlement, this.ctx.ledger)
      const payload = encodeAs(PeerPaymentType, { beef, memo: `settlement of channel ${ch.id.slice(0, 10)}` })
      if (payload.length > this.ctx.node.maxPayload) throw new Error(`settlement BEEF of ${payload.length} bytes does not fit one message`)
      this.ctx.node.send({ target: accountTarget(ch.peerAccount).id, kind: Kind.PAYMENT, payload })
    } catch (err: unknown) {
      this.ctx.log.warn({ channel: ch.id, err }, 'could not hand the settlement to the client')
    }
  }

  /** What a settled channel paid us, and what went (or goes, by refund at expiry) back to the client. */
  private settled (ch: ChannelRecord): SettleResult {
    const settlement = txFromBytes(ch.lastUpdate!)
    const covered = settlement.inputs.length
    const change = maxPayable(ch.fundings.slice(0, covered)) - ch.paid
    const later = ch.fundings.slice(covered).reduce((s, f) => s + refundTx([f], ch.peerAccount, ch.expiry).outputs[0]!.satoshis!, 0)
    return { txid: ch.closeTxid!, paid: ch.paid, refunded: change + later }
  }

  /**
   * Looks at the first funding output on the ledger. Spent by a transaction that pays us at
   * output 0, it was our settlement (a crash may have lost our note of it): closed. Spent by
   * anything else, the client's refund went through: refunded, and we stop trying.
   * Undefined while the funding is unspent.
   */
  private async noticeSpent (ch: ChannelRecord): Promise<'closed' | 'refunded' | undefined> {
    const first = ch.fundings[0]
    if (first === undefined) return undefined
    const out = await this.ctx.ledger.output(first.txid, first.vout)
    if (out?.spentBy === undefined) return undefined
    const paysUs = (await this.ctx.ledger.output(out.spentBy, 0))?.script === p2pkhLock(this.ctx.identity.account).toHex()
    this.ctx.channels.update(ch.id, { state: paysUs ? 'closed' : 'refunded', closeTxid: out.spentBy })
    this.ctx.log.info({ channel: ch.id, txid: out.spentBy }, paysUs ? 'channel settled' : 'channel refunded to the client: nothing earned')
    this.ctx.events.emit('channel', this.ctx.channels.get(ch.id)!)
    this.note(paysUs ? 'settlement' : 'refund', ch.id, { txid: out.spentBy, confirmed: true })
    return paysUs ? 'closed' : 'refunded'
  }

  /**
   * Settles every channel that is within its margin of expiry (or whose settlement failed
   * before), notices refunds, and forgets opens whose funding never came (called periodically).
   */
  async settleDue (): Promise<void> {
    const now = this.ctx.now()
    for (const ch of this.ctx.channels.list('provider')) {
      if (ch.state === 'opening' && now > ch.expiry) {
        this.ctx.channels.update(ch.id, { state: 'failed', pending: undefined })
        continue
      }
      const due = ch.state === 'closing' || (ch.state === 'open' && now >= ch.expiry - settleMargin(ch))
      if (!due) continue
      try {
        if (await this.noticeSpent(ch) !== undefined) continue
        if (ch.lastUpdate !== undefined) await this.settle(ch)
      } catch (err: unknown) {
        this.ctx.log.error({ channel: ch.id, err }, 'settlement failed')
      }
    }
  }
}

export interface SettleResult {
  txid: string
  paid: number
  /** What the client gets back: the settlement's change, plus fundings the last payment did not spend (refunded at expiry). */
  refunded: number
}
