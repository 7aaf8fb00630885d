/**
 * Balance queries (DESIGN §8), PIP-0038's own example of layer-2 traffic: a BALANCE_REQUEST
 * flooded to `acct:<address>`; the account's owner answers, and nodes holding channel state
 * with that account may add what they know. Answers travel back along the reverse path,
 * signed; only one signed by the account's own key is `verified`.
 */
import { accountOf, peerIdOf } from '../identity.ts'
import { accountTarget } from '../targets.ts'
import { Kind } from '../wire/tmsg.ts'
import type { Delivery } from '../node/node.ts'
import { BalanceRequestType, BalanceResponseType, decodeAs, encodeAs } from './proto.ts'
import { collectReplies } from './replies.ts'
import { depositOf } from './channel-tx.ts'
import type { ChannelRecord } from './channel-store.ts'
import type { Layer2Context } from './context.ts'
import { AnswerLimiter } from './answer-limit.ts'

export interface ChannelSummary {
  id: string
  state: string
  deposit: number
  paid: number
  sequence: number
}

export interface BalanceAnswer {
  account: string
  balance: number
  asOf: number
  channels: ChannelSummary[]
  /** `ok` from the owner; `channels` from a node that only holds channel state with it. */
  status: string
  /** PeerId of the node that answered. */
  responder: string
  responderAccount: string
  /** Signed by the account's own key: the owner speaking. Anything else is a claim. */
  verified: boolean
}

interface ResponseWire { account: string, balance: number, asOf: number, channels: ChannelSummary[], status: string }

function summary (ch: ChannelRecord): ChannelSummary {
  return { id: ch.id, state: ch.state, deposit: depositOf(ch.fundings), paid: ch.paid, sequence: ch.sequence }
}

export class BalanceService {
  private readonly ctx: Layer2Context
  readonly limiter: AnswerLimiter

  constructor (ctx: Layer2Context, limiter = new AnswerLimiter()) {
    this.ctx = ctx
    this.limiter = limiter
  }

  /** What this node can say about an account: everything if it is ours, channel state otherwise. */
  private async answer (account: string, wantChannels: boolean): Promise<ResponseWire | undefined> {
    const own = account === this.ctx.identity.account
    const channels = this.ctx.channels.list().filter(ch => own || ch.peerAccount === account)
    if (!own && channels.length === 0) return undefined
    return {
      account,
      balance: own ? (await this.ctx.wallet.balance()).balance : 0,
      asOf: Date.now(),
      channels: wantChannels || !own ? channels.map(summary) : [],
      status: own ? 'ok' : 'channels'
    }
  }

  /** A BALANCE_REQUEST hit: answer it if there is something to say. */
  onDelivery (d: Delivery): void {
    if (d.msg.kind !== Kind.BALANCE_REQUEST || d.from === 'self') return
    let req: { account: string, wantChannels: boolean }
    try {
      req = decodeAs(BalanceRequestType, d.msg.payload)
    } catch {
      return
    }
    if (!this.limiter.allow()) return
    this.limiter.cached(`${req.account}:${String(req.wantChannels)}`, async () => await this.answer(req.account, req.wantChannels)).then(r => {
      if (r === undefined) return
      this.ctx.node.send({ target: d.msg.msgId, replyTo: d.msg.msgId, kind: Kind.BALANCE_RESPONSE, payload: encodeAs(BalanceResponseType, r) })
    }).catch((err: unknown) => { this.ctx.log.warn({ err }, 'could not answer a balance request') })
  }

  /** Floods a request and collects the answers until `timeoutMs`; our own answer comes first when the account is ours. */
  async query (account: string, timeoutMs: number, wantChannels = true): Promise<BalanceAnswer[]> {
    const target = accountTarget(account) // validates the address
    const out: BalanceAnswer[] = []
    const mine = account === this.ctx.identity.account ? await this.answer(account, wantChannels) : undefined
    if (mine !== undefined) out.push({ ...mine, responder: this.ctx.node.peerId, responderAccount: this.ctx.identity.account, verified: true })
    const replies = await collectReplies(this.ctx.node, Kind.BALANCE_RESPONSE, timeoutMs, () =>
      this.ctx.node.send({ target: target.id, kind: Kind.BALANCE_REQUEST, payload: encodeAs(BalanceRequestType, { account: target.short.slice(5), wantChannels }) }))
    for (const r of replies) {
      let w: ResponseWire
      try {
        w = decodeAs<ResponseWire>(BalanceResponseType, r.msg.payload)
      } catch {
        continue
      }
      if (w.account !== account || r.msg.sender.length !== 33) continue
      const responderAccount = accountOf(r.msg.sender)
      out.push({
        account: w.account,
        balance: w.balance,
        asOf: w.asOf,
        channels: w.channels,
        status: w.status,
        responder: peerIdOf(r.msg.sender),
        responderAccount,
        verified: r.verified && responderAccount === account
      })
    }
    return out
  }
}
