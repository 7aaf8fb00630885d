/**
 * Layer-2 slash commands (DESIGN §8): balances, the wallet, and payment channels from the
 * chat. Thin over `app.layer2`, like the RPC methods; output goes to the buffer the command
 * was typed in. Channel ids may be shortened to any unique prefix.
 */
import type { App } from '../src/app.ts'
import type { Layer2 } from '../src/layer2/layer2.ts'
import type { ChannelStatus } from '../src/layer2/channels/client.ts'
import { battery, sats as sat } from '../src/layer2/channels/budget.ts'
import { CommandError } from './commands.ts'
import type { CommandDef } from './commands.ts'

const duration = (s: number): string => s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : s < 172_800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} days`

function layer2 (app: App): Layer2 {
  if (app.layer2 === undefined) throw new CommandError('layer-2 is not running on this node')
  return app.layer2
}

function amount (text: string | undefined, what: string): number {
  const n = Number(text)
  if (text === undefined || !Number.isSafeInteger(n) || n < 1) throw new CommandError(`${what} must be a whole number of satoshis, got "${text ?? ''}"`)
  return n
}

/** A channel by id or unique id prefix. */
export function findChannel (l2: Layer2, idOrPrefix: string): ChannelStatus {
  const matches = l2.client.list().filter(c => c.channelId.startsWith(idOrPrefix.toLowerCase()))
  if (matches.length === 1) return matches[0]!
  throw new CommandError(matches.length === 0 ? `no channel ${idOrPrefix}: /channels lists them` : `${idOrPrefix} matches ${matches.length} channels: give more of the id`)
}

/** One line per channel, client side with its budget as a battery. */
export function channelLine (c: ChannelStatus): string {
  const arrow = c.role === 'client' ? `→ ${c.service}` : `← ${c.service} (earning)`
  const gauge = c.role === 'client' && c.budget !== undefined && c.state === 'open' ? ` ${battery(c.paid, c.budget)}` : ''
  const alert = c.alerts.includes('exhausted') ? ' budget reached' : c.alerts.includes('warn-95') ? ' 95% spent' : c.alerts.includes('warn-80') ? ' 80% spent' : ''
  return `${c.channelId.slice(0, 10)} ${arrow} ${c.state}: paid ${sat(c.paid)} of ${sat(c.deposit)}${gauge}${alert}`
}

export const LAYER2_COMMANDS: CommandDef[] = [
  {
    name: 'balance',
    args: '<account>',
    summary: 'ask the network for an account\'s balance',
    help: 'Floods a balance request to acct:<account> and shows the signed answers that come back within 3 s. Only an answer signed by the account\'s own key is marked verified; others are claims by nodes holding channel state with it. The owner sends BEEF of its coins: "coins proven" when they check out against this node\'s chain.',
    run: async (ctx, { account }) => {
      ctx.print(`Asking the network about ${account}…`)
      const answers = await layer2(ctx.app).balance.query(account!.replace(/^acct:/, ''), 3000, true, true)
      if (answers.length === 0) ctx.print(`No answer about ${account} within 3 s.`, 'warn')
      for (const a of answers) {
        const who = `${a.verified ? 'the owner, verified' : `claim by ${a.responderAccount}`}, ${a.proven ? 'coins proven' : 'not proven'}`
        ctx.print(a.status === 'ok' || a.status === 'truncated' ? `${a.account}: ${sat(a.balance)} (${who})` : `${a.account}: ${a.channels.length} channel(s) known (${who})`, a.verified && a.proven ? 'info' : 'warn')
        for (const c of a.channels) ctx.print(`  channel ${c.id.slice(0, 10)} ${c.state}: deposit ${sat(c.deposit)}, paid ${sat(c.paid)}`)
      }
    }
  },
  {
    name: 'wallet',
    args: '[faucet] [amount]',
    summary: 'this node\'s coins; /wallet faucet <amount> mints test coins (dev) or draws them from --wallet-url (test/main)',
    help: 'Examples: /wallet — /wallet faucet 100000 (dev: minted; test/main: paid by the BRC-100 wallet at --wallet-url; /wallet 100000 is short for it)',
    run: async (ctx, args) => {
      const l2 = layer2(ctx.app)
      // "/wallet 100000": the shorthand the chat has always taken.
      const { faucet, amount: sats } = args.faucet !== undefined && /^\d+$/.test(args.faucet) && args.amount === undefined ? { faucet: 'faucet', amount: args.faucet } : args
      if (faucet !== undefined) {
        if (faucet !== 'faucet') throw new CommandError(`usage: /wallet, or /wallet faucet <amount>; got "${faucet}"`)
        if (sats === undefined) throw new CommandError('usage: /wallet faucet <amount> (whole satoshis)')
        const n = amount(sats, 'faucet amount')
        ctx.print(`${l2.ledger.kind === 'dev' ? 'Minted' : 'Received'} ${sat(n)} in ${(await l2.wallet.faucet(n)).slice(0, 16)}…`)
      }
      const w = await l2.wallet.balance()
      ctx.print(`${w.account}: ${sat(w.balance)} in ${w.utxos} coin(s)${w.reserved > 0 ? `, ${sat(w.reserved)} reserved` : ''}`)
    }
  },
  {
    name: 'send',
    args: '<to> <amount> [memo...]',
    summary: 'pay someone: /send alice 1000 thanks (a nick, @nick, acct:<address> or an address)',
    help: 'Builds a payment from your wallet, broadcasts it, and delivers it to the payee with your memo; their chat shows "received 1,000 sat from <you>: <memo>".',
    run: async (ctx, { to, amount: sats, memo }) => {
      const l2 = layer2(ctx.app)
      const who = /^(acct:|@)/.test(to!) || /^[13mn][1-9A-HJ-NP-Za-km-z]{25,34}$/.test(to!) ? to! : `@${to!}`
      const account = ctx.app.resolveRecipient(who)
      const r = await l2.payments.send(account, amount(sats, 'amount'), memo ?? '')
      ctx.print(`Sent ${sat(r.amount)} to ${who.startsWith('@') ? `${who.slice(1)} (${account})` : account} in ${r.txid.slice(0, 16)}…${memo !== undefined ? `: ${memo}` : ''}`)
    }
  },
  {
    name: 'terms',
    args: '[service]',
    summary: 'find providers: their services, prices and terms',
    run: async (ctx, { service }) => {
      ctx.print(`Asking for ${service ?? 'any service'}…`)
      const terms = await layer2(ctx.app).client.terms(service, 3000)
      if (terms.length === 0) ctx.print('No provider answered within 3 s.', 'warn')
      for (const t of terms) {
        ctx.print(`${t.service} by ${t.account}: ${t.pricePerUnit} sat/${t.unit}, deposit ≥ ${sat(t.minDeposit)}, ${duration(t.windowSeconds)} window${t.contentRoot !== undefined ? ', metered file' : ''} — /open ${t.account} ${t.service} <deposit> [budget]`)
      }
    }
  },
  {
    name: 'open',
    args: '<provider> <service> <deposit> [budget]',
    summary: 'open a payment channel (deposit refundable; budget stops payments)',
    run: async (ctx, { provider, service, deposit, budget }) => {
      const l2 = layer2(ctx.app)
      ctx.print(`Opening a channel to ${provider} for ${service}…`)
      const r = await l2.client.open(provider!, service!, amount(deposit, 'deposit'), budget === undefined ? undefined : amount(budget, 'budget'))
      ctx.print(`Channel ${r.channelId.slice(0, 10)} is ${r.state}: ${sat(r.deposit)} deposited, refundable after ${new Date(r.expiry * 1000).toLocaleString()}. /pay ${r.channelId.slice(0, 10)} <amount>`)
    }
  },
  {
    name: 'pay',
    args: '<channel> <amount>',
    summary: 'pay through a channel',
    run: async (ctx, { channel, amount: sats }) => {
      const l2 = layer2(ctx.app)
      const c = findChannel(l2, channel!)
      const r = await l2.client.pay(c.channelId, amount(sats, 'amount'))
      const now = l2.client.status(c.channelId)
      ctx.print(`Paid ${sat(r.paid)} in total on ${c.channelId.slice(0, 10)} (#${r.sequence}); ${sat(r.remaining)} left${now.budget !== undefined ? ` ${battery(now.paid, now.budget)}` : ''}`)
    }
  },
  {
    name: 'channels',
    args: '',
    summary: 'your channels, with each budget as a battery',
    run: (ctx) => {
      const list = layer2(ctx.app).client.list()
      if (list.length === 0) ctx.print('No channels. /terms finds providers; /offer offers a service.')
      for (const c of list) ctx.print(channelLine(c), c.alerts.includes('exhausted') ? 'warn' : 'info')
    }
  },
  {
    name: 'offer',
    args: '[service] [price] [unit] [mindeposit] [file]',
    summary: 'offer a service (/offer alone shows earnings; /offer stop <service> stops it)',
    help: 'Examples: /offer compute 10 op 1000 — /offer movie 500 chunk 5000 ./movie.mp4 (a metered file) — /offer stop compute — /offer start compute',
    run: (ctx, { service, price, unit, mindeposit, file }) => {
      const p = layer2(ctx.app).provider
      if (service === undefined) {
        const e = p.earnings()
        if (e.length === 0) ctx.print('You offer nothing yet: /offer <service> <price> <unit> <mindeposit> [file]')
        for (const s of e) ctx.print(`${s.service}: ${s.active ? 'offered' : 'stopped'}, ${s.channels} channel(s), earned ${sat(s.earned)}`)
        return
      }
      if (service === 'stop' || service === 'start') {
        const name = price
        const existing = ctx.app.layer2!.channels.offers().find(o => o.service === name)
        if (existing === undefined) throw new CommandError(`you do not offer "${name ?? ''}"`)
        p.offer({ ...existing, active: service === 'start' })
        ctx.print(`${existing.service} is ${service === 'start' ? 'offered again' : 'stopped: no new channels; open ones still settle'}.`)
        return
      }
      if (price === undefined || unit === undefined || mindeposit === undefined) throw new CommandError('usage: /offer <service> <price> <unit> <mindeposit> [file]')
      const o = p.offer({ service, pricePerUnit: Number(price) === 0 ? 0 : amount(price, 'price'), unit, minDeposit: amount(mindeposit, 'minimum deposit'), ...(file !== undefined ? { file } : {}) })
      ctx.print(`Offering ${o.service} at ${o.pricePerUnit} sat/${o.unit}, deposit ≥ ${sat(o.minDeposit)}${o.contentRoot !== undefined ? `, file root ${o.contentRoot.slice(0, 16)}…` : ''}.`)
    }
  },
  {
    name: 'settle',
    args: '<channel>',
    summary: 'settle a channel (the provider broadcasts the highest payment)',
    run: async (ctx, { channel }) => {
      const l2 = layer2(ctx.app)
      const c = findChannel(l2, channel!)
      const r = c.role === 'provider'
        ? await l2.provider.close(c.channelId)
        : await l2.client.close(c.channelId)
      ctx.print(`Channel ${c.channelId.slice(0, 10)} settled in ${r.txid.slice(0, 16)}…: ${sat(r.paid)} paid, ${sat(r.refunded)} back.`)
    }
  }
]
