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
import { accountOf } from '../identity.ts'
import { Kind } from '../wire/tmsg.ts'
import { ChannelError } from './errors.ts'
import { channelScript, completeChannelTx, depositOf, maxPayable, refundTx, signChannelTx, updateTx } from './channel-tx.ts'
import type { Parties } from './channel-tx.ts'
import { settleMargin } from './channel-store.ts'
import type { Alert, ChannelRecord } from './channel-store.ts'
import { crashPoint } from './crash.ts'
import { alertsAt } from './budget.ts'
import { verifyChunk } from './merkle.ts'
import { collectReplies } from './replies.ts'
import { ChannelLink } from './stream.ts'
import { decodeTerms, encodeTermsRequest, serviceTarget } from './terms.ts'
import type { ServiceTerms } from './terms.ts'
import { txBytes, txFromBytes } from './tx.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
import { partiesOf } from './provider.ts'
import type { Layer2Context } from './context.ts'

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
  verified: boolean
  paid: number
  stoppedBy?: 'budget' | 'deposit' | 'expiry'
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

  constructor (ctx: Layer2Context, downloads: string) {
    this.ctx = ctx
    this.downloads = downloads
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
      l = new ChannelLink(this.ctx.node.libp2p, ch.peerId, ch.peerAddresses)
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

  private parties (ch: ChannelRecord): Parties {
    return partiesOf(ch, this.ctx.identity, 'client')
  }

  // ---- open -------------------------------------------------------------------------------

  async open (provider: string, service: string, deposit: number, budget?: number): Promise<{ channelId: string, state: string, deposit: number, expiry: number }> {
    const t = await this.termsOf(provider, service)
    if (deposit < t.minDeposit) throw new ChannelError('BELOW_MIN_DEPOSIT', `deposit ${deposit} is below ${t.provider}'s minimum of ${t.minDeposit}`)
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
        const r = await link.request({ open: { service, fundingTx: txBytes(funding), refundTx: txBytes(refund), clientKey: this.ctx.identity.publicKey } })
        if (!('refund' in r)) throw new ChannelError('BAD_MESSAGE', 'expected the provider\'s refund signature')
        providerSig = r.refund.signature
      } catch (err: unknown) {
        this.abandon(id, funding.id('hex'))
        throw err
      }
      this.secureRefund(id, fundings, parties, providerSig, 'client:refund-persisted')
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
      throw new ChannelError('BAD_REFUND', `the provider's refund signature does not unlock the funding: ${(err as Error).message}`, true)
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
    await this.ctx.broadcast(funding)
    crashPoint('client:funding-broadcast')
    await this.ctx.wallet.sync()
    const r = await this.link(ch).request({ funded: { channelId: ch.id, fundingTxid: funding.id('hex') } })
    if (!('ready' in r)) throw new ChannelError('BAD_MESSAGE', 'expected the provider to confirm the funding')
    const fundings = [...ch.fundings, { txid: funding.id('hex'), vout: 0, satoshis: funding.outputs[0]!.satoshis! }]
    if (depositOf(fundings) !== r.ready.deposit) throw new ChannelError('NOT_FUNDED', `provider sees a deposit of ${r.ready.deposit}, we funded ${depositOf(fundings)}`, true)
    this.ctx.channels.update(ch.id, { state: 'open', fundings, fundingTxs: [...ch.fundingTxs, ch.pending!.fundingTx], pending: undefined })
    this.ctx.events.emit('channel', this.mine(ch.id))
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
    if (!Number.isSafeInteger(amount) || amount < 1) throw new ChannelError('BAD_MESSAGE', 'amount must be a positive whole number of satoshis')
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
    if (!('ack' in r) || r.ack.sequence !== p.sequence || r.ack.paid !== p.paid) throw new ChannelError('BAD_MESSAGE', 'the provider acknowledged something else')
    this.ctx.channels.atomically(() => {
      this.ctx.channels.markAcked(ch.id, p.sequence)
      this.ctx.channels.update(ch.id, { sequence: p.sequence, paid: p.paid })
    })
    this.ctx.events.emit('paid', { channelId: ch.id, sequence: p.sequence, paid: p.paid })
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
        const r = await this.link(ch).request({ topup: { channelId: id, fundingTx: txBytes(funding), refundTx: txBytes(refund) } })
        if (!('refund' in r)) throw new ChannelError('BAD_MESSAGE', 'expected the provider\'s refund signature')
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
      if (!('chunk' in r) || !verifyChunk(Buffer.from(ch.contentRoot, 'hex'), ch.chunkCount, index, r.chunk.data, r.chunk.proof)) {
        throw new ChannelError('BAD_MESSAGE', `chunk ${index} does not match the committed root: stopped paying`, true)
      }
      appendFileSync(part, r.chunk.data)
      this.ctx.channels.update(id, { unitsServed: index + 1 })
      received++
    }
    const now = this.mine(id)
    const complete = now.unitsServed === ch.chunkCount
    if (complete) renameSync(part, done)
    return { received, verified: true, paid: now.paid, ...(stoppedBy !== undefined ? { stoppedBy } : {}), path: complete ? done : part, complete }
  }

  /**
   * Asks the provider to settle the highest payment. With nothing paid there is nothing to
   * settle: the refund brings the deposit back at expiry (now, if already expired).
   */
  async close (id: string): Promise<{ txid: string, paid: number, refunded: number }> {
    return await this.serial(id, async () => {
      await this.flushUnacked(id).catch(() => {})
      const ch = this.mine(id)
      if (ch.state === 'closed' || ch.state === 'refunded') return this.closedResult(ch)
      if (ch.state !== 'open' && ch.state !== 'closing') throw new ChannelError('NOT_OPEN', `channel ${id} is ${ch.state}`)
      if (ch.paid > 0) {
        const r = await this.link(ch).request({ close: { channelId: id } })
        if (!('closed' in r)) throw new ChannelError('BAD_MESSAGE', 'expected a settlement')
        this.ctx.channels.update(id, { state: 'closed', closeTxid: r.closed.txid })
        await this.ctx.wallet.sync()
        this.ctx.events.emit('channel', this.mine(id))
        return this.closedResult(this.mine(id))
      }
      if (this.ctx.now() > ch.expiry) return this.closedResult(await this.refund(ch))
      this.ctx.channels.update(id, { state: 'closing' })
      throw new ChannelError('NOTHING_TO_SETTLE', `nothing was paid on ${id}: its refund returns the deposit after ${new Date(ch.expiry * 1000).toISOString()}, and will be broadcast then`)
    })
  }

  private closedResult (ch: ChannelRecord): { txid: string, paid: number, refunded: number } {
    if (ch.state === 'refunded') {
      const refunded = ch.refunds.reduce((s, r) => s + txFromBytes(Buffer.from(r, 'hex')).outputs[0]!.satoshis!, 0)
      return { txid: ch.closeTxid ?? '', paid: 0, refunded }
    }
    return { txid: ch.closeTxid ?? '', paid: ch.paid, refunded: maxPayable(ch.fundings) - ch.paid }
  }

  /** Broadcasts the refund(s) of an expired channel. */
  private async refund (ch: ChannelRecord): Promise<ChannelRecord> {
    let txid = ''
    for (const r of ch.refunds) txid = await this.ctx.broadcast(txFromBytes(Buffer.from(r, 'hex')))
    this.ctx.channels.update(ch.id, { state: 'refunded', closeTxid: txid })
    await this.ctx.wallet.sync()
    this.ctx.log.info({ channel: ch.id, txid }, 'channel refunded after expiry')
    this.ctx.events.emit('channel', this.mine(ch.id))
    return this.mine(ch.id)
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
    const first = ch.fundings[0]
    const out = first === undefined ? undefined : await this.ctx.ledger.output(first.txid, first.vout)
    if (out?.spentBy !== undefined) {
      // The provider settled (or our refund went through in an earlier run).
      this.ctx.channels.update(ch.id, { state: ch.refunds.some(r => txFromBytes(Buffer.from(r, 'hex')).id('hex') === out.spentBy) ? 'refunded' : 'closed', closeTxid: out.spentBy })
      await this.ctx.wallet.sync()
      this.ctx.events.emit('channel', this.mine(ch.id))
      return
    }
    if (this.ctx.now() > ch.expiry) {
      await this.refund(ch)
      return
    }
    if (ch.state === 'open') await this.flushUnacked(ch.id)
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
