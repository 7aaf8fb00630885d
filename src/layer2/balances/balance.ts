/**
 * Balance queries (DESIGN §8), PIP-0038's own example of layer-2 traffic: a BALANCE_REQUEST
 * flooded to `acct:<address>`; the account's owner answers, and nodes holding channel state
 * with that account may add what they know. Answers travel back along the reverse path,
 * signed; only one signed by the account's own key is `verified`.
 *
 * Asked for proof (DESIGN §8a), the owner adds BEEF of the coins it counts; the asker checks
 * them against its own chain tracker and marks the answer `proven`. SPV proves that the coins
 * exist and pay the account, not that they are still unspent: a proven balance is "these coins
 * were the account's", the most a peer without the whole chain can know.
 */
import type { Transaction } from '@bsv/sdk'
import { accountOf, peerIdOf } from '../../identity.ts'
import { accountTarget } from '../../targets.ts'
import { Kind } from '../../wire/tmsg.ts'
import type { Delivery } from '../../node/node.ts'
import { BalanceRequestType, BalanceResponseType, decodeAs, encodeAs } from '../proto.ts'
import { collectReplies } from '../replies.ts'
import { depositOf } from '../channels/transactions.ts'
import type { ChannelRecord } from '../channels/store.ts'
import type { Layer2Context } from '../context.ts'
import { AnswerLimiter } from '../answer-limit.ts'
import { BeefError, beefOfMany, verifyBeefMany } from '../chain/beef.ts'
import type { ChainView, TxHistory } from '../chain/beef.ts'
import type { Coin } from '../wallet/wallet.ts'
import { p2pkhLock } from '../chain/tx.ts'

/** Most coins one proven answer carries (DESIGN §8a). */
export const MAX_PROOF_COINS = 100
/** Most BEEF bytes one proven answer carries (DESIGN §8a); the node's payload limit may be lower. */
export const MAX_PROOF_BYTES = 256 * 1024
/** Signed owner answers whose proof one query checks (the owner answers once; more are replays). */
export const MAX_PROOFS_CHECKED = 4
/** Bytes one counted coin adds to the answer besides its BEEF: its CoinRef (64-hex txid, vout) and framing. */
export const COIN_REF_BYTES = 76

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
  /** Asked for proof: the counted coins were checked against this node's chain tracker and add up to `balance`. */
  proven: boolean
}

interface CoinRef { txid: string, vout: number }
interface ResponseWire { account: string, balance: number, asOf: number, channels: ChannelSummary[], status: string, beef?: Uint8Array, coins?: CoinRef[] }

/**
 * BEEF of `coins` (largest first), as many as fit `maxBytes` — the BEEF and the coins' refs
 * together — and MAX_PROOF_COINS; `complete` says whether all of them did.
 */
export async function proofOf (coins: Coin[], history: TxHistory, maxBytes: number): Promise<{ beef: Uint8Array, coins: CoinRef[], complete: boolean }> {
  const sorted = [...coins].sort((a, b) => b.satoshis - a.satoshis)
  const build = async (n: number): Promise<Uint8Array> => await beefOfMany(sorted.slice(0, n).map(c => c.txid), history)
  let n = Math.min(sorted.length, MAX_PROOF_COINS)
  const size = (b: Uint8Array, count: number): number => b.length + count * COIN_REF_BYTES
  let beef = n === 0 ? new Uint8Array(0) : await build(n)
  if (size(beef, n) > maxBytes) {
    // The most coins that fit: binary search over how many of the largest.
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2)
      if (size(await build(mid), mid) <= maxBytes) lo = mid
      else hi = mid - 1
    }
    n = lo
    beef = n === 0 ? new Uint8Array(0) : await build(n)
  }
  return { beef, coins: sorted.slice(0, n).map(c => ({ txid: c.txid, vout: c.vout })), complete: n === sorted.length }
}

/**
 * Does an answer prove itself? Only the owner's complete answer can: every counted coin is an
 * output paying the account of a transaction the BEEF proves against `chain`, none twice, and
 * together they are exactly `balance`. A balance with no coins proves nothing.
 */
export async function checkBalanceProof (a: { account: string, balance: number, status: string, beef?: Uint8Array, coins?: CoinRef[] }, chain: ChainView): Promise<boolean> {
  const coins = a.coins ?? []
  if (a.status !== 'ok' || coins.length === 0 || coins.length > MAX_PROOF_COINS || a.beef === undefined || a.beef.length === 0) return false
  const keys = new Set(coins.map(c => `${c.txid}:${c.vout}`))
  if (keys.size !== coins.length) return false
  let txs: Map<string, Transaction>
  try {
    txs = await verifyBeefMany(a.beef, chain, [...new Set(coins.map(c => c.txid))])
  } catch (err: unknown) {
    if (err instanceof BeefError) return false
    throw err
  }
  const script = p2pkhLock(a.account).toHex()
  let sum = 0
  for (const c of coins) {
    const out = txs.get(c.txid)?.outputs[c.vout]
    if (out === undefined || out.lockingScript.toHex() !== script) return false
    sum += out.satoshis ?? 0
  }
  return sum === a.balance
}

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

  /** What this node can say about an account: everything if it is ours (with proof when asked), channel state otherwise. */
  private async answer (account: string, wantChannels: boolean, proof: boolean): Promise<ResponseWire | undefined> {
    const own = account === this.ctx.identity.account
    const channels = this.ctx.channels.list().filter(ch => own || ch.peerAccount === account)
    if (!own && channels.length === 0) return undefined
    const base = { account, asOf: Date.now(), channels: wantChannels || !own ? channels.map(summary) : [] }
    if (!own) return { ...base, balance: 0, status: 'channels' }
    const coins = await this.ctx.wallet.spendable()
    const balance = coins.reduce((s, c) => s + c.satoshis, 0)
    if (!proof) return { ...base, balance, status: 'ok' }
    try {
      // What the rest of the answer takes; the proof gets what is left of one message.
      const rest = encodeAs(BalanceResponseType, { ...base, balance, status: 'truncated' }).length + 16
      const p = await proofOf(coins, this.ctx.ledger, Math.min(MAX_PROOF_BYTES, this.ctx.node.maxPayload - rest))
      return { ...base, balance, status: p.complete ? 'ok' : 'truncated', beef: p.beef, coins: p.coins }
    } catch (err: unknown) {
      // A coin whose history this ledger lacks: answer without proof rather than not at all.
      this.ctx.log.warn({ err }, 'could not prove this wallet\'s coins')
      return { ...base, balance, status: 'ok' }
    }
  }

  /** A BALANCE_REQUEST hit: answer it if there is something to say. */
  onDelivery (d: Delivery): void {
    if (d.msg.kind !== Kind.BALANCE_REQUEST || d.from === 'self') return
    let req: { account: string, wantChannels: boolean, proof: boolean }
    try {
      req = decodeAs(BalanceRequestType, d.msg.payload)
    } catch {
      return
    }
    if (!this.limiter.allow()) return
    this.limiter.cached(`${req.account}:${String(req.wantChannels)}:${String(req.proof)}`, async () => await this.answer(req.account, req.wantChannels, req.proof)).then(r => {
      if (r === undefined) return
      this.ctx.node.send({ target: d.msg.msgId, replyTo: d.msg.msgId, kind: Kind.BALANCE_RESPONSE, payload: encodeAs(BalanceResponseType, r) })
    }).catch((err: unknown) => { this.ctx.log.warn({ err }, 'could not answer a balance request') })
  }

  /**
   * Floods a request and collects the answers until `timeoutMs`; our own answer comes first
   * when the account is ours. With `proof`, each answer's coins are checked against this
   * node's chain tracker (`proven`); an answer that does not check out is kept, unproven.
   */
  async query (account: string, timeoutMs: number, wantChannels = true, proof = false): Promise<BalanceAnswer[]> {
    const target = accountTarget(account) // validates the address
    const out: BalanceAnswer[] = []
    const mine = account === this.ctx.identity.account ? await this.answer(account, wantChannels, proof) : undefined
    if (mine !== undefined) out.push(await this.judged(mine, this.ctx.node.peerId, this.ctx.identity.account, true, proof))
    const replies = await collectReplies(this.ctx.node, Kind.BALANCE_RESPONSE, timeoutMs, () =>
      this.ctx.node.send({ target: target.id, kind: Kind.BALANCE_REQUEST, payload: encodeAs(BalanceRequestType, { account: target.short.slice(5), wantChannels, proof }) }))
    // Proofs cost a BEEF check each; only the owner's signed answers are checked, and a few at most.
    let proofsLeft = MAX_PROOFS_CHECKED
    for (const r of replies) {
      let w: ResponseWire
      try {
        w = decodeAs<ResponseWire>(BalanceResponseType, r.msg.payload)
      } catch {
        continue
      }
      if (w.account !== account || r.msg.sender.length !== 33) continue
      const responderAccount = accountOf(r.msg.sender)
      const verified = r.verified && responderAccount === account
      const check = proof && verified && proofsLeft-- > 0
      out.push(await this.judged(w, peerIdOf(r.msg.sender), responderAccount, verified, check))
    }
    return out
  }

  private async judged (w: ResponseWire, responder: string, responderAccount: string, verified: boolean, proof: boolean): Promise<BalanceAnswer> {
    let proven = false
    if (proof) {
      try {
        proven = await checkBalanceProof(w, { tracker: this.ctx.ledger.tracker, now: this.ctx.now })
      } catch (err: unknown) {
        // The chain tracker could not answer: unproven, and said why in the log.
        this.ctx.log.warn({ err }, 'could not check a balance proof')
      }
    }
    return { account: w.account, balance: w.balance, asOf: w.asOf, channels: w.channels, status: w.status, responder, responderAccount, verified, proven }
  }
}
