// The web chat's slash commands: the terminal chat's table (tui/commands.ts) as far as a page
// can serve it, each one a JSON-RPC call. Parsing a line and binding the arguments is the
// terminal chat's own code (src/shared/commands.js). One table drives parsing, /help and the
// suggestions under the composer.
import { bindArgs, CommandError, usage } from './shared/commands.js'
import { shortAccount } from './shared/nicks.js'
import { sats } from './text.js'

function amount (text, what) {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1) throw new CommandError(`${what} must be a whole number of satoshis, got "${text ?? ''}"`)
  return n
}

/** The conversation the command was typed in, as a chat_send `to`. */
function here (ctx, what) {
  const c = ctx.current()
  if (c === undefined) throw new CommandError(`${what} needs a room or a conversation: /join #room or /query @nick first`)
  return c.key
}

/**
 * ctx: { rpc, print(text, level?), current(), join(room), part(key), openDirect(account, nick?),
 *        send(to, text, action), clear(), heard(), logout(), table }
 */
export const COMMANDS = [
  {
    name: 'join',
    aliases: ['j'],
    args: '<#room>',
    summary: 'join a room (remembered across restarts) and switch to it',
    run: async (ctx, { room }) => { await ctx.join(room.startsWith('#') ? room : '#' + room) }
  },
  {
    name: 'part',
    aliases: ['leave', 'close'],
    args: '[#room]',
    summary: 'leave this room (or the one named), or close this conversation',
    run: async (ctx, { room }) => {
      const key = room === undefined ? here(ctx, '/part') : room.startsWith('#') || room.startsWith('acct:') ? room : '#' + room
      await ctx.part(key)
    }
  },
  {
    name: 'query',
    aliases: ['q'],
    args: '<@nick> [text...]',
    summary: 'open a private conversation with the key behind a nick (and send text to it)',
    help: 'Direct messages are sealed for one key: @nick means the key heard signing as that nick (acct:<address> names a key directly).',
    run: async (ctx, { nick, text }) => {
      const to = nick.startsWith('@') || nick.startsWith('acct:') ? nick : '@' + nick
      const r = await ctx.rpc.call('chat_resolve', { to })
      ctx.openDirect(r.account, to.startsWith('@') ? to.slice(1) : r.nick)
      if (text !== undefined) await ctx.send('acct:' + r.account, text, false)
    }
  },
  {
    name: 'msg',
    aliases: ['m'],
    args: '<target> <text...>',
    summary: 'send to a #room or @nick without switching',
    run: async (ctx, { target, text }) => {
      const to = target.startsWith('#') || target.startsWith('@') || target.startsWith('acct:') ? target : '@' + target
      await ctx.send(to, text, false)
      ctx.print(`→ ${to}: ${text}`)
    }
  },
  {
    name: 'me',
    args: '<action...>',
    summary: 'send an action: * nick does something',
    run: async (ctx, { action }) => { await ctx.send(here(ctx, '/me'), action, true) }
  },
  {
    name: 'nick',
    args: '<nick>',
    summary: 'change your nick (remembered across restarts)',
    help: 'A nick is 1-32 of A-Z a-z 0-9 _ . - and is not owned: messages are signed by your key, and when two keys use one nick each line shows the signer.',
    run: async (ctx, { nick }) => {
      await ctx.rpc.call('chat_nick', { nick })
      ctx.setNick(nick.replace(/^@/, ''))
      ctx.print(`You are now ${nick.replace(/^@/, '')}.`)
    }
  },
  {
    name: 'whois',
    args: '<nick>',
    summary: 'the keys heard signing as a nick',
    run: async (ctx, { nick }) => {
      const keys = await ctx.rpc.call('chat_whois', { nick: nick.replace(/^@/, '') })
      if (keys.length === 0) return ctx.print(`No signed message from @${nick.replace(/^@/, '')} heard yet.`)
      for (const k of keys) ctx.print(`@${nick.replace(/^@/, '')}: ${k.account} (first heard ${new Date(k.firstSeen).toLocaleString()}, last ${new Date(k.lastSeen).toLocaleString()})`)
    }
  },
  {
    name: 'names',
    args: '',
    summary: 'who was heard in this room in the last 24 hours',
    run: (ctx) => {
      here(ctx, '/names')
      const heard = ctx.heard(Date.now() - 86_400_000)
      ctx.print(heard.length === 0 ? 'Nobody heard here in the last 24 hours.' : `${heard.length} heard here in the last 24 hours: ${heard.join(', ')}`)
    }
  },
  {
    name: 'peers',
    args: '',
    summary: 'list connected peers',
    run: async (ctx) => {
      const peers = await ctx.rpc.call('peers_list')
      if (peers.length === 0) return ctx.print('No peers connected. /connect <multiaddr> dials one; nodes on the LAN are found by mDNS.')
      ctx.print(`${peers.length} peer${peers.length === 1 ? '' : 's'}:`)
      for (const p of peers) {
        const address = (p.addresses[0] ?? '').replace(`/p2p/${p.peerId}`, '')
        ctx.print(`${p.peerId} · ${p.direction} ${address} · ${p.neighbour ? `${p.messagesIn} in, ${p.messagesOut} out` : 'not a tmsg node'}`)
      }
    }
  },
  {
    name: 'connect',
    args: '<multiaddr>',
    summary: 'dial a peer and keep it connected',
    run: async (ctx, { multiaddr }) => {
      ctx.print(`Connecting to ${multiaddr} …`)
      const r = await ctx.rpc.call('peers_connect', { address: multiaddr })
      ctx.print(`Connected to ${r.peerId}.`)
    }
  },
  {
    name: 'balance',
    args: '<account>',
    summary: 'ask the network for an account\'s balance',
    run: async (ctx, { account }) => {
      ctx.print(`Asking the network about ${account}…`)
      const answers = await ctx.rpc.call('balance_query', { account: account.replace(/^acct:/, '') })
      if (answers.length === 0) ctx.print(`No answer about ${account} within 3 s.`, 'warn')
      for (const a of answers) {
        const who = a.verified ? 'the owner, verified' : `claim by ${a.responderAccount}`
        ctx.print(`${a.account}: ${sats(a.balance)} (${who})`, a.verified ? 'info' : 'warn')
      }
    }
  },
  {
    name: 'wallet',
    args: '',
    summary: 'this node\'s coins',
    run: async (ctx) => {
      const w = await ctx.rpc.call('wallet_balance')
      ctx.print(`${w.account}: ${sats(w.balance)} in ${w.utxos} coin(s)`)
    }
  },
  {
    name: 'send',
    args: '<to> <amount> [memo...]',
    summary: 'pay someone: /send alice 1000 thanks',
    run: async (ctx, { to, amount: a, memo }) => {
      const target = to.startsWith('@') || to.startsWith('acct:') || /^[13][1-9A-HJ-NP-Za-km-z]{25,34}$/.test(to) ? to : '@' + to
      const r = await ctx.rpc.call('wallet_send', { to: target, amount: amount(a, 'amount'), ...(memo !== undefined ? { memo } : {}) })
      ctx.print(`Sent ${sats(r.amount)} to ${r.to} in ${String(r.txid).slice(0, 16)}…`)
    }
  },
  {
    name: 'channels',
    args: '',
    summary: 'your payment channels, with each budget',
    run: async (ctx) => {
      const list = await ctx.rpc.call('channel_list')
      if (list.length === 0) return ctx.print('No payment channels.')
      for (const c of list) {
        const spent = c.role === 'client' && c.budget !== undefined ? ` · budget ${sats(c.budget)}, ${Math.round(100 * Math.max(0, c.budget - c.paid) / c.budget)}% left` : ''
        ctx.print(`${c.channelId.slice(0, 10)} ${c.role === 'client' ? '→' : '←'} ${c.service} ${c.state}: paid ${sats(c.paid)} of ${sats(c.deposit)}${spent} (peer ${shortAccount(c.peerAccount)})`)
      }
    }
  },
  {
    name: 'clear',
    args: '',
    summary: 'empty this view (the history stays on the node)',
    run: (ctx) => { ctx.clear() }
  },
  {
    name: 'help',
    args: '[command]',
    summary: 'list commands, or explain one',
    run: (ctx, { command }) => {
      if (command !== undefined) {
        const def = find(command.replace(/^\//, ''))
        if (def === undefined) throw new CommandError(`/${command}: no such command. /help lists them.`)
        ctx.print(`${usage(def)} — ${def.summary}`)
        if (def.help !== undefined) ctx.print(def.help)
        if (def.aliases !== undefined) ctx.print(`aliases: ${def.aliases.map(a => '/' + a).join(', ')}`)
        return
      }
      ctx.print('Commands (//text sends a line starting with /):')
      for (const d of list()) ctx.print(`${usage(d)} — ${d.summary}`)
      ctx.print('Keys: Enter sends · Shift+Enter new line · Tab completes a command or a nick · Up/Down recall sent lines · Alt+Up/Down switch conversations')
    }
  },
  {
    name: 'logout',
    aliases: ['quit'],
    args: '',
    summary: 'log this browser out (the node keeps running)',
    run: async (ctx) => { await ctx.logout() }
  }
]

const BY_NAME = new Map(COMMANDS.flatMap(d => [d.name, ...(d.aliases ?? [])].map(n => [n, d])))

export function find (name) {
  return BY_NAME.get(name.toLowerCase())
}

export function list () {
  return [...COMMANDS].sort((a, b) => a.name.localeCompare(b.name))
}

/** Commands whose name starts with what was typed after the slash. */
export function suggestions (prefix) {
  return list().filter(d => d.name.startsWith(prefix.toLowerCase()))
}

/** Runs a command; failures come back as an error to print, never thrown at the page. */
export async function runCommand (ctx, name, argText) {
  const def = find(name)
  if (def === undefined) throw new CommandError(`/${name}: no such command. /help lists them.`)
  await def.run(ctx, bindArgs(def, argText))
}
