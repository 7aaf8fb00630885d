/**
 * The layer-2 JSON-RPC methods (DESIGN §8), in the same table format as the core ones:
 * amounts are integer satoshis; a provider is named by PeerId or account.
 */
import { z } from 'zod'
import { defineMethod, unsubscribeMethod } from './methods.ts'
import type { MethodDef, RpcContext } from './methods.ts'
import { RpcError } from './errors.ts'
import type { Layer2 } from '../layer2/layer2.ts'
import { MAX_MEMO } from '../layer2/wallet/payments.ts'

const sats = z.number().int().min(1).max(21e14)
const channelId = z.string().regex(/^[0-9a-f]{64}$/, 'a channel id is the 64-hex txid of its funding')
const timeoutMs = z.number().int().min(100).max(60_000).default(3000)

function layer2 (ctx: RpcContext): Layer2 {
  if (ctx.app.layer2 === undefined) throw new RpcError('InternalError', 'layer-2 is not running on this node')
  return ctx.app.layer2
}

const ChannelStatusSchema = z.object({
  channelId: z.string(), role: z.enum(['client', 'provider']), state: z.string(), service: z.string(), peer: z.string(), peerAccount: z.string(),
  deposit: z.number().int(), paid: z.number().int(), sequence: z.number().int(), expiry: z.number().int(), pricePerUnit: z.number().int(),
  unit: z.string(), budget: z.number().int().optional(), remaining: z.number().int(), alerts: z.array(z.enum(['warn-80', 'warn-95', 'exhausted'])),
  closeTxid: z.string().optional()
}).meta({ id: 'ChannelStatus' })

export const LAYER2_METHODS: MethodDef[] = [
  defineMethod({
    name: 'balance_query',
    summary: 'Floods a balance request to acct:<account> and collects the signed answers until the timeout.',
    params: z.strictObject({ account: z.string().min(26).max(40), timeoutMs, proof: z.boolean().default(false).describe('ask the owner for BEEF of its coins and check them against this node\'s chain') }),
    result: z.array(z.object({
      account: z.string(), balance: z.number().int(), asOf: z.number().int(),
      channels: z.array(z.object({ id: z.string(), state: z.string(), deposit: z.number().int(), paid: z.number().int(), sequence: z.number().int() })),
      status: z.string(), responder: z.string(), responderAccount: z.string(), verified: z.boolean(), proven: z.boolean()
    })),
    handler: async ({ account, timeoutMs, proof }, ctx) => await layer2(ctx).balance.query(account.replace(/^acct:/, ''), timeoutMs, true, proof)
  }),
  defineMethod({
    name: 'wallet_balance',
    summary: 'This node\'s spendable P2PKH coins on the ledger.',
    params: z.strictObject({}),
    result: z.object({ account: z.string(), balance: z.number().int(), utxos: z.number().int(), reserved: z.number().int() }),
    handler: async (_p, ctx) => await layer2(ctx).wallet.balance()
  }),
  defineMethod({
    name: 'wallet_faucet',
    summary: 'Dev: mints test coins to this node\'s wallet; test/main with --wallet-url: the user\'s BRC-100 wallet pays it (createAction), checked as BEEF.',
    params: z.strictObject({ amount: sats.max(1e10) }),
    result: z.object({ txid: z.string(), amount: z.number().int() }),
    handler: async ({ amount }, ctx) => ({ txid: await layer2(ctx).wallet.faucet(amount), amount })
  }),
  defineMethod({
    name: 'wallet_send',
    summary: 'Pays an account (acct:<address>, an address, or @nick): a P2PKH payment broadcast and delivered to the payee as a PAYMENT TMsg (BEEF + memo).',
    params: z.strictObject({ to: z.string().min(2).max(100), amount: sats, memo: z.string().max(MAX_MEMO).optional() }),
    result: z.object({ txid: z.string(), amount: z.number().int(), to: z.string() }),
    handler: async ({ to, amount, memo }, ctx) => await layer2(ctx).payments.send(ctx.app.resolveRecipient(to), amount, memo)
  }),
  defineMethod({
    name: 'wallet_subscribe',
    summary: 'WebSocket only: pushes each payment this node sends or receives ({type: received/sent, txid, amount, peer, memo, at}) as wallet_subscription notifications.',
    params: z.strictObject({}),
    result: z.string().describe('subscription id'),
    websocketOnly: true,
    handler: (_p, ctx) => {
      layer2(ctx)
      return ctx.session!.subscribeLayer2('wallet')
    }
  }),
  defineMethod({
    name: 'channel_offer',
    summary: 'Offers a service paid through channels (optionally a metered file); active: false stops offering it.',
    params: z.strictObject({
      service: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.:-]+$/),
      pricePerUnit: z.number().int().min(0).max(21e14),
      unit: z.string().min(1).max(32),
      minDeposit: z.number().int().min(0).max(21e14),
      windowSeconds: z.number().int().min(2).max(366 * 86400).optional(),
      file: z.string().min(1).max(4096).optional(),
      active: z.boolean().optional()
    }),
    result: z.object({ service: z.string(), active: z.boolean(), contentRoot: z.string().optional() }),
    handler: (p, ctx) => {
      const o = layer2(ctx).provider.offer(p)
      return { service: o.service, active: o.active, ...(o.contentRoot !== undefined ? { contentRoot: o.contentRoot } : {}) }
    }
  }),
  defineMethod({
    name: 'channel_offers',
    summary: 'This node\'s offered services with their running earnings.',
    params: z.strictObject({}),
    result: z.array(z.object({ service: z.string(), active: z.boolean(), channels: z.number().int(), earned: z.number().int() })),
    handler: (_p, ctx) => layer2(ctx).provider.earnings()
  }),
  defineMethod({
    name: 'channel_terms',
    summary: 'Floods a terms request (for one service, or any) and collects providers\' signed terms.',
    params: z.strictObject({ service: z.string().min(1).max(64).optional(), timeoutMs }),
    result: z.array(z.object({
      provider: z.string(), account: z.string(), service: z.string(), pricePerUnit: z.number().int(), unit: z.string(), minDeposit: z.number().int(),
      windowSeconds: z.number().int(), contentRoot: z.string().optional(), addresses: z.array(z.string())
    })),
    handler: async ({ service, timeoutMs }, ctx) => (await layer2(ctx).client.terms(service, timeoutMs))
      .map(({ providerKey: _k, chunkCount: _c, chunkSize: _s, contentSize: _z, ...t }) => t)
  }),
  defineMethod({
    name: 'channel_open',
    summary: 'Opens a refund-backed channel to a provider: funding and refund signed, refund secured before the funding is broadcast.',
    params: z.strictObject({ provider: z.string().min(1).max(100), service: z.string().min(1).max(64), deposit: sats, budget: sats.optional() }),
    result: z.object({ channelId: z.string(), state: z.string(), deposit: z.number().int(), expiry: z.number().int() }),
    handler: async ({ provider, service, deposit, budget }, ctx) => await layer2(ctx).client.open(provider, service, deposit, budget)
  }),
  defineMethod({
    name: 'channel_pay',
    summary: 'Pays `amount` more through a channel: a signed update, persisted before it is sent.',
    params: z.strictObject({ channelId, amount: sats }),
    result: z.object({ sequence: z.number().int(), paid: z.number().int(), remaining: z.number().int() }),
    handler: async ({ channelId, amount }, ctx) => await layer2(ctx).client.pay(channelId, amount)
  }),
  defineMethod({
    name: 'channel_topup',
    summary: 'Adds a second funding output to a channel (its own refund secured first).',
    params: z.strictObject({ channelId, amount: sats }),
    result: z.object({ deposit: z.number().int() }),
    handler: async ({ channelId, amount }, ctx) => await layer2(ctx).client.topUp(channelId, amount)
  }),
  defineMethod({
    name: 'channel_fetch',
    summary: 'Buys a metered file chunk by chunk, checking each against the committed root, until done or out of budget.',
    params: z.strictObject({ channelId, chunks: z.number().int().min(1).max(1_000_000).optional() }),
    result: z.object({ received: z.number().int(), verified: z.boolean(), paid: z.number().int(), stoppedBy: z.enum(['budget', 'deposit', 'expiry', 'bad-chunk']).optional(), path: z.string(), complete: z.boolean() }),
    handler: async ({ channelId, chunks }, ctx) => await layer2(ctx).client.fetch(channelId, chunks)
  }),
  defineMethod({
    name: 'channel_status',
    summary: 'One channel: state, deposit, paid, budget and its alerts.',
    params: z.strictObject({ channelId }),
    result: ChannelStatusSchema,
    handler: ({ channelId }, ctx) => layer2(ctx).client.status(channelId)
  }),
  defineMethod({
    name: 'channel_list',
    summary: 'Every channel of this node, as client or provider.',
    params: z.strictObject({}),
    result: z.array(ChannelStatusSchema),
    handler: (_p, ctx) => layer2(ctx).client.list()
  }),
  defineMethod({
    name: 'channel_close',
    summary: 'Settles a channel: the provider countersigns the highest payment and broadcasts it.',
    params: z.strictObject({ channelId }),
    result: z.object({ txid: z.string(), paid: z.number().int(), refunded: z.number().int() }),
    handler: async ({ channelId }, ctx) => {
      const l2 = layer2(ctx)
      const ch = l2.channels.get(channelId)
      if (ch?.role === 'provider') return await l2.provider.close(channelId)
      return await l2.client.close(channelId)
    }
  }),
  defineMethod({
    name: 'channel_subscribe',
    summary: 'WebSocket only: pushes every channel event on this node (offer, open, funding, payment, ack, topup, close, settlement, refund; with amounts and txids), or those of one channel, as channel_subscription notifications.',
    params: z.strictObject({ channelId: channelId.optional() }),
    result: z.string().describe('subscription id'),
    websocketOnly: true,
    handler: ({ channelId }, ctx) => {
      layer2(ctx)
      return ctx.session!.subscribeLayer2('channel', channelId)
    }
  }),
  unsubscribeMethod('channel_unsubscribe', 'WebSocket only: ends a channel_subscribe or wallet_subscribe subscription.')
]

