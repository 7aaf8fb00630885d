/**
 * The client commands: they talk to a running node over its JSON-RPC. Human-readable output
 * by default (peer-supplied text cleaned for the terminal), `--json` for scripts.
 */
import type { NodeConfig } from '../config.ts'
import { parseTarget } from '../targets.ts'
import { cleanLine } from '../shared/text.js'
import { findEndpoint, RpcClient } from './client.ts'
import { UsageError } from './errors.ts'
import { battery, sats as sat } from '../layer2/channels/budget.ts'
import { loginUrl } from '../rpc/web.ts'

export interface ClientOptions {
  json: boolean
}

function client (config: NodeConfig): RpcClient {
  return new RpcClient(findEndpoint(config))
}

function out (line: string): void {
  process.stdout.write(line + '\n')
}

function printJson (v: unknown): void {
  out(JSON.stringify(v, null, 2))
}

function duration (ms: number): string {
  const s = Math.floor(ms / 1000)
  const parts = [[Math.floor(s / 86400), 'd'], [Math.floor(s / 3600) % 24, 'h'], [Math.floor(s / 60) % 60, 'm'], [s % 60, 's']] as const
  const shown = parts.filter(([n], i) => n > 0 || i === 3).slice(0, 2)
  return shown.map(([n, u]) => `${n}${u}`).join('')
}

interface NodeInfo { peerId: string, account: string, nick: string | null, addresses: string[], router: string, version: string, uptimeMs: number }
interface NodeStats { received: number, delivered: number, forwarded: number, duplicates: number, invalid: number, dropped: number, seenCacheSize: number, peers: number }
interface Peer { peerId: string, addresses: string[], direction: string, messagesIn: number, messagesOut: number, queuedBytes: number }

export async function infoCommand (config: NodeConfig, o: ClientOptions): Promise<void> {
  const c = client(config)
  const [info, stats] = await Promise.all([c.call<NodeInfo>('node_info'), c.call<NodeStats>('node_stats')])
  if (o.json) return printJson({ ...info, stats })
  out(`peer id    ${info.peerId}`)
  out(`account    ${info.account}`)
  out(`nick       ${info.nick ?? '(none)'}`)
  out(`router     ${info.router}    version ${info.version}    up ${duration(info.uptimeMs)}`)
  for (const [i, a] of info.addresses.entries()) out(`${i === 0 ? 'listening ' : '          '} ${a}`)
  out(`peers      ${stats.peers}`)
  out(`messages   ${stats.received} received, ${stats.delivered} delivered, ${stats.forwarded} forwarded, ` +
    `${stats.duplicates} duplicates, ${stats.invalid} invalid, ${stats.dropped} dropped (seen cache ${stats.seenCacheSize})`)
}

export async function peersCommand (config: NodeConfig, o: ClientOptions): Promise<void> {
  const peers = await client(config).call<Peer[]>('peers_list')
  if (o.json) return printJson(peers)
  if (peers.length === 0) return out('no peers connected')
  out(['peer'.padEnd(20), 'dir'.padEnd(4), 'in'.padStart(9), 'out'.padStart(9), 'queued'.padStart(9), '  address'].join(' '))
  for (const p of peers) {
    out([`${p.peerId.slice(0, 8)}…${p.peerId.slice(-8)}`.padEnd(20), (p.direction === 'inbound' ? 'in' : 'out').padEnd(4),
      String(p.messagesIn).padStart(9), String(p.messagesOut).padStart(9), String(p.queuedBytes).padStart(9), ' ', p.addresses.join(', ')].join(' '))
  }
}

/**
 * `send #room text` is a room line, `send @nick text` and `send acct:<address> text` a sealed
 * direct message; a raw target gets a data message.
 */
export async function sendCommand (config: NodeConfig, target: string, words: string[], o: ClientOptions): Promise<void> {
  const text = words.join(' ')
  if (text === '') throw new UsageError('nothing to send: tmsg send <target> <text>')
  const t = parseTarget(target)
  const c = client(config)
  const r = t.kind === 'channel' || t.kind === 'nick' || t.kind === 'account'
    ? await c.call<{ msgId: string }>('chat_send', { to: t.short, text })
    : await c.call<{ msgId: string }>('msg_send', { target: t.short, payload: text })
  if (o.json) return printJson(r)
  out(`sent ${r.msgId} to ${t.short}`)
}

export async function rpcCommand (config: NodeConfig, method: string, params: string | undefined, o: ClientOptions): Promise<void> {
  let p: unknown = {}
  if (params !== undefined) {
    try {
      p = JSON.parse(params)
    } catch {
      throw new UsageError(`params must be JSON, e.g. '{"target":"#lobby"}', got ${params}`)
    }
    if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new UsageError('params must be a JSON object (params are by name)')
  }
  const r = await client(config).call(method, p as Record<string, unknown>)
  if (o.json) out(JSON.stringify(r))
  else printJson(r)
}

/** Prints every hit as it arrives, until interrupted. */
export async function watchCommand (config: NodeConfig, targets: string[], o: ClientOptions & { channels?: boolean }): Promise<void> {
  const c = client(config)
  const stop = new AbortController()
  const onSignal = (): void => { stop.abort() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  if (o.channels === true) {
    if (targets.length > 1) throw new UsageError('usage: tmsg watch --channels [channelId]')
    const onReady = (): void => {
      if (!o.json) process.stderr.write(`watching ${targets.length === 0 ? 'every channel of this node' : `channel ${targets[0]!}`} (Ctrl+C to stop)\n`)
    }
    await c.watch({ method: 'channel_subscribe', params: targets.length === 0 ? {} : { channelId: targets[0] } }, onReady, e => { out(o.json ? JSON.stringify(e) : formatChannelEvent(e)) }, stop.signal)
    return
  }
  const onReady = (): void => {
    if (!o.json) process.stderr.write(`watching ${targets.length === 0 ? 'every target this node listens to' : targets.join(', ')} (Ctrl+C to stop)\n`)
  }
  await c.watch({ method: 'msg_subscribe', params: targets.length === 0 ? {} : { targets } }, onReady, m => { out(o.json ? JSON.stringify(m) : formatHit(m)) }, stop.signal)
}

/**
 * One channel event per line, as the money moves:
 * `12:34:56 payment    3f9a1c0b2e client compute   +100 sat  paid 300 of 20,000  #3`
 */
export function formatChannelEvent (e: Record<string, unknown>): string {
  const time = new Date(Number(e.at)).toTimeString().slice(0, 8)
  const num = (k: string): number | undefined => typeof e[k] === 'number' ? e[k] : undefined
  const id = typeof e.channelId === 'string' ? e.channelId.slice(0, 10) : '-'.padEnd(10)
  const amount = num('amount')
  const parts = [time, String(e.type).padEnd(10), id, String(e.role).padEnd(8), cleanLine(String(e.service))]
  if (amount !== undefined) parts.push(e.type === 'payment' ? `+${sat(amount)}` : e.type === 'offer' ? `${sat(amount)}/unit` : sat(amount))
  const paid = num('paid')
  const deposit = num('deposit')
  if (paid !== undefined) parts.push(deposit !== undefined ? `paid ${paid.toLocaleString('en-US')} of ${sat(deposit)}` : `paid ${sat(paid)}`)
  if (num('sequence') !== undefined) parts.push(`#${num('sequence')!}`)
  if (typeof e.txid === 'string') parts.push(`tx ${e.txid}${e.confirmed === false ? ' (claimed, not seen on the ledger)' : ''}`)
  return parts.join(' ')
}

/** `12:34:56 #lobby <alice> hello`, with the signer's short account when it matters. */
export function formatHit (m: Record<string, unknown>): string {
  const time = new Date(Number(m.receivedAt)).toTimeString().slice(0, 8)
  const where = cleanLine(String(m.targetName ?? m.target))
  const account = typeof m.account === 'string' ? m.account : undefined
  const who = typeof m.nick === 'string' ? `${cleanLine(m.nick)}${account !== undefined ? `(${account.slice(0, 6)})` : ''}` : account?.slice(0, 10) ?? 'unsigned'
  const mark = m.verified === true ? '' : ' [unverified]'
  if (typeof m.text === 'string') {
    return m.action === true ? `${time} ${where} * ${who} ${cleanLine(m.text)}${mark}` : `${time} ${where} <${who}> ${cleanLine(m.text)}${mark}`
  }
  const body = m.encoding === 'utf8' ? cleanLine(String(m.payload)) : `(${String(m.kind)}, ${Buffer.from(String(m.payload), 'base64').length} bytes base64)`
  return `${time} ${where} [${String(m.kind)}] ${who}: ${body}${mark}`
}

// ---- layer-2 ----------------------------------------------------------------------------


interface BalanceAnswer { account: string, balance: number, asOf: number, status: string, responder: string, responderAccount: string, verified: boolean, proven: boolean, channels: Array<{ id: string, state: string, deposit: number, paid: number, sequence: number }> }

/** `tmsg balance <account>`: asks with proof, so each answer says whether its coins checked out against this node's chain. */
export async function balanceCommand (config: NodeConfig, account: string, timeoutMs: number, o: ClientOptions): Promise<void> {
  const answers = await client(config).call<BalanceAnswer[]>('balance_query', { account, timeoutMs, proof: true })
  if (o.json) return printJson(answers)
  if (answers.length === 0) return out(`no answer about ${account} within ${timeoutMs} ms`)
  for (const a of answers) {
    const who = `${a.verified ? 'the owner, verified' : `a claim by ${a.responderAccount}`}, ${a.proven ? 'proven' : 'not proven'}`
    out(a.status === 'ok' || a.status === 'truncated' ? `${a.account}: ${sat(a.balance)} (${who})` : `${a.account}: channel state only (${who})`)
    for (const c of a.channels) out(`  channel ${c.id.slice(0, 16)}… ${c.state}: deposit ${sat(c.deposit)}, paid ${sat(c.paid)} (#${c.sequence})`)
  }
}

/** `tmsg wallet send <to> <amount> [memo...]`: to = @nick, acct:<address> or an address. */
export async function walletSendCommand (config: NodeConfig, args: string[], o: ClientOptions): Promise<void> {
  const [to, amount, ...memo] = args
  const n = Number(amount)
  if (to === undefined || !Number.isSafeInteger(n) || n < 1) throw new UsageError('usage: tmsg wallet send <@nick|acct:address|address> <amount> [memo...]')
  const r = await client(config).call<{ txid: string, amount: number, to: string }>('wallet_send', { to, amount: n, ...(memo.length > 0 ? { memo: memo.join(' ') } : {}) })
  if (o.json) return printJson(r)
  out(`sent ${sat(r.amount)} to ${r.to} in ${r.txid}`)
}

export async function walletCommand (config: NodeConfig, faucet: number | undefined, o: ClientOptions): Promise<void> {
  const c = client(config)
  if (faucet !== undefined) {
    const r = await c.call<{ txid: string }>('wallet_faucet', { amount: faucet })
    if (!o.json) out(`minted ${sat(faucet)} in ${r.txid}`)
  }
  const w = await c.call<{ account: string, balance: number, utxos: number, reserved: number }>('wallet_balance')
  if (o.json) return printJson(w)
  out(`${w.account}: ${sat(w.balance)} in ${w.utxos} coin${w.utxos === 1 ? '' : 's'}${w.reserved > 0 ? `, ${sat(w.reserved)} reserved by fundings in progress` : ''}`)
}

interface ChannelStatus { channelId: string, role: string, state: string, service: string, peer: string, deposit: number, paid: number, sequence: number, expiry: number, pricePerUnit: number, unit: string, budget?: number, remaining: number, alerts: string[] }

export function formatChannel (c: ChannelStatus): string {
  const head = `${c.channelId.slice(0, 16)}… ${c.role === 'client' ? '→' : '←'} ${c.service} ${c.state}`
  const money = `paid ${sat(c.paid)} of ${sat(c.deposit)} (#${c.sequence}), ${c.pricePerUnit} sat/${c.unit}`
  const gauge = c.role === 'client' && c.budget !== undefined ? ` ${battery(c.paid, c.budget)}` : ''
  const alerts = c.alerts.length > 0 ? ` ⚠ ${c.alerts.join(' ')}` : ''
  return `${head}: ${money}${gauge}${alerts}, expires ${new Date(c.expiry * 1000).toISOString().slice(0, 16).replace('T', ' ')}`
}

/** `tmsg channel <action> …`: thin wrappers over the channel_* methods. */
export async function channelCommand (config: NodeConfig, action: string, args: string[], opts: { budget?: number, json: boolean }): Promise<void> {
  const c = client(config)
  const num = (s: string | undefined, what: string): number => {
    const n = Number(s)
    if (s === undefined || !Number.isSafeInteger(n) || n < 0) throw new UsageError(`${what} must be a whole number of satoshis, got ${s ?? 'nothing'}`)
    return n
  }
  const need = (n: number, usage: string): void => { if (args.length < n) throw new UsageError(`usage: tmsg channel ${usage}`) }
  let r: unknown
  switch (action) {
    case 'list':
      r = await c.call<ChannelStatus[]>('channel_list')
      if (!opts.json) { const list = r as ChannelStatus[]; out(list.length === 0 ? 'no channels' : list.map(formatChannel).join('\n')); return }
      break
    case 'status':
      need(1, 'status <channelId>')
      r = await c.call<ChannelStatus>('channel_status', { channelId: args[0] })
      if (!opts.json) { out(formatChannel(r as ChannelStatus)); return }
      break
    case 'terms':
      r = await c.call('channel_terms', args[0] === undefined ? {} : { service: args[0] })
      break
    case 'offer':
      need(4, 'offer <service> <pricePerUnit> <unit> <minDeposit> [windowSeconds] [file]')
      r = await c.call('channel_offer', { service: args[0], pricePerUnit: num(args[1], 'price'), unit: args[2], minDeposit: num(args[3], 'minimum deposit'), ...(args[4] !== undefined ? { windowSeconds: num(args[4], 'window') } : {}), ...(args[5] !== undefined ? { file: args[5] } : {}) })
      break
    case 'offers':
      r = await c.call('channel_offers')
      break
    case 'open':
      need(3, 'open <provider> <service> <deposit> [--budget n]')
      r = await c.call('channel_open', { provider: args[0], service: args[1], deposit: num(args[2], 'deposit'), ...(opts.budget !== undefined ? { budget: opts.budget } : {}) })
      break
    case 'pay':
      need(2, 'pay <channelId> <amount>')
      r = await c.call('channel_pay', { channelId: args[0], amount: num(args[1], 'amount') })
      break
    case 'topup':
      need(2, 'topup <channelId> <amount>')
      r = await c.call('channel_topup', { channelId: args[0], amount: num(args[1], 'amount') })
      break
    case 'fetch':
      need(1, 'fetch <channelId> [chunks]')
      r = await c.call('channel_fetch', { channelId: args[0], ...(args[1] !== undefined ? { chunks: num(args[1], 'chunks') } : {}) })
      break
    case 'close':
      need(1, 'close <channelId>')
      r = await c.call('channel_close', { channelId: args[0] })
      break
    default:
      throw new UsageError(`unknown channel action "${action}": list, status, terms, offer, offers, open, pay, topup, fetch, close`)
  }
  printJson(r)
}

/**
 * `tmsg web`: the URL that logs a browser in to the node's web chat (DESIGN §12). The node is
 * asked first, so a URL is printed only while it is running and holds this secret.
 */
export async function webCommand (config: NodeConfig, o: ClientOptions): Promise<void> {
  const c = client(config)
  await c.call('node_info')
  const url = loginUrl(c.endpoint.url, c.endpoint.secret)
  if (o.json) return printJson({ url })
  out(url)
}
