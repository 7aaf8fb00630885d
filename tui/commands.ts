/**
 * Slash commands: ONE table. Each entry's name, argument syntax and help text drive parsing,
 * usage errors, Tab completion and `/help`, so none of them can drift from the handler.
 *
 * Other layers add commands without touching this table: list them in `extra-commands.ts`
 * (picked up at start), or pass `commands` to `startTui`. Both go through
 * `CommandTable.register`, which refuses a name or alias that is taken.
 */
import type { App } from '../src/app.ts'
import type { RpcServer } from '../src/rpc/server.ts'
import { parseTarget } from '../src/targets.ts'
import { RECENTLY_MS } from './model.ts'
import type { ChatBuffer, ChatModel } from './model.ts'
import type { NoticeLevel } from './format.ts'
import type { ArgKind } from './input.ts'
import { bindArgs, CommandError, parseArgSyntax, parseInput, usage } from '../src/shared/commands.js'
import type { ArgValues, ParsedInput } from '../src/shared/commands.js'

// Parsing a line and binding a command's arguments is the web page's too: one module for both.
export { bindArgs, CommandError, parseArgSyntax, parseInput, usage }
export type { ParsedInput }

/** What a command can reach: the embedded node and its services, the UI state, output. */
/** What the chat shows of the JSON-RPC server its process runs. */
export type RpcEndpoint = Pick<RpcServer, 'url' | 'loginUrl'>

export interface CommandContext {
  app: App
  /** The JSON-RPC server beside the chat (absent with --rpc-port 0). */
  rpc?: RpcEndpoint
  model: ChatModel
  /** The buffer the command was typed in (output goes there). */
  buffer: ChatBuffer
  table: CommandTable
  print: (text: string, level?: NoticeLevel) => void
  switchTo: (buffer: string) => void
  /** Last measured round trip to a peer, in ms. */
  peerRtt: (peerId: string) => number | undefined
  quit: () => void
  now: () => number
}

/** Argument values by name, as declared in `args`. */
export type { ArgValues }

export interface CommandDef {
  /** Lower-case, without the slash. */
  name: string
  aliases?: string[]
  /**
   * Argument syntax, shown in help and usage errors and used to parse: `<name>` required,
   * `[name]` optional, a trailing `...` takes the rest of the line. `<#room>` binds `room`.
   */
  args: string
  /** One line for the /help list. */
  summary: string
  /** More, for `/help <command>`. */
  help?: string
  /** What Tab completes the first argument to. */
  complete?: ArgKind
  run: (ctx: CommandContext, args: ArgValues) => void | Promise<void>
}

/** A second command with a name or alias already taken. */
export class DuplicateCommandError extends Error {
  static name = 'DuplicateCommandError'
  override name = 'DuplicateCommandError'
}

const COMMAND_NAME = /^[a-z][a-z0-9_-]{0,31}$/

export class CommandTable {
  private readonly defs: CommandDef[] = []
  private readonly byName = new Map<string, CommandDef>()

  constructor (defs: CommandDef[] = []) {
    for (const d of defs) this.register(d)
  }

  /** Adds a command; its name and aliases must be free. */
  register (def: CommandDef): void {
    for (const n of [def.name, ...(def.aliases ?? [])]) {
      if (!COMMAND_NAME.test(n)) throw new Error(`/${n}: a command name is a-z, 0-9, _ or - (starting with a letter)`)
      if (this.byName.has(n)) throw new DuplicateCommandError(`/${n} is already a command`)
    }
    parseArgSyntax(def.args) // fails now rather than when someone types it
    this.defs.push(def)
    for (const n of [def.name, ...(def.aliases ?? [])]) this.byName.set(n, def)
  }

  find (name: string): CommandDef | undefined {
    return this.byName.get(name.toLowerCase())
  }

  /** Commands in the order of /help: alphabetical. */
  list (): CommandDef[] {
    return [...this.defs].sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Names and aliases, for completion. */
  names (): string[] {
    return [...this.byName.keys()].sort()
  }

  /**
   * Runs one command. Every failure, synchronous or not, ends up as a line in the buffer
   * (red for errors), never as an exception: a typo must not take the UI down.
   */
  async run (ctx: CommandContext, name: string, argText: string): Promise<void> {
    const def = this.find(name)
    try {
      if (def === undefined) throw new CommandError(unknownCommand(name, this.names()))
      await def.run(ctx, bindArgs(def, argText))
    } catch (err: unknown) {
      ctx.print(errorText(err), 'error')
    }
  }

  /** `/help` output: every command with its syntax and summary, then the keys. */
  helpLines (): string[] {
    const rows = this.list().map(d => [usage(d), d.summary] as const)
    const width = Math.max(...rows.map(([u]) => u.length))
    return [
      'Commands (/help <command> for details; //text sends a line starting with /):',
      ...rows.map(([u, s]) => `  ${u.padEnd(width)}  ${s}`),
      'Keys: Alt+1..9, Ctrl+N/P switch buffers · Alt+A next active · PgUp/PgDn scroll',
      '  Tab completes · Up/Down recall sent lines · Ctrl+L redraws · Ctrl+C quits'
    ]
  }

  /** `/help <command>` output. */
  commandHelp (name: string): string[] {
    const def = this.find(name.replace(/^\//, ''))
    if (def === undefined) throw new CommandError(unknownCommand(name.replace(/^\//, ''), this.names()))
    const aliases = def.aliases === undefined || def.aliases.length === 0 ? [] : [`  aliases: ${def.aliases.map(a => '/' + a).join(', ')}`]
    return [`${usage(def)} — ${def.summary}`, ...(def.help === undefined ? [] : def.help.split('\n').map(l => '  ' + l)), ...aliases]
  }
}

function unknownCommand (name: string, known: string[]): string {
  const close = known
    .map(k => ({ k, d: k.startsWith(name) ? 0 : editDistance(name, k) }))
    .filter(x => name !== '' && x.k.length > 1 && x.d <= 2)
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
  const hint = close.length > 0 ? ` Did you mean ${close.slice(0, 3).map(c => '/' + c.k).join(', ')}?` : ''
  return `/${name}: no such command.${hint} /help lists them.`
}

/** Edits (insert, delete, replace, swap two neighbours) from a to b: typos are one or two. */
function editDistance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i === 0 ? j : j === 0 ? i : 0))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}

/** An error as one line for the buffer: its message, which every tmsg error writes for people. */
export function errorText (err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}

/**
 * Sends a chat line to a #room, or a sealed direct message to `@nick` / `acct:<address>`.
 * Rooms show it when the node delivers it back; the app hands our own direct messages to
 * the UI like received ones, into the query of the key. Returns the buffer it shows in.
 */
export function say (ctx: CommandContext, to: string, text: string, action: boolean): ChatBuffer | undefined {
  const t = to.trim()
  if (!t.startsWith('#')) {
    const peer = ctx.app.resolveRecipient(t)
    const b = ctx.model.query(peer, t.startsWith('@') ? t.slice(1) : undefined)
    ctx.app.chat.send('acct:' + peer, text, action)
    return b
  }
  const target = parseTarget(t)
  ctx.app.chat.send(t, text, action)
  const shown = ctx.model.find(target.short)
  if (shown === undefined) ctx.print(`→ ${target.short}: ${action ? '* ' : ''}${text} (sent; /join ${target.short} to follow it)`)
  return shown
}

/** The conversation a buffer stands for, or an error for the system buffer. */
export function conversation (ctx: CommandContext, what: string): string {
  if (ctx.buffer.kind === 'system') throw new CommandError(`${what} needs a room or a query: /join #room or /query @nick first`)
  return ctx.buffer.peer !== undefined ? 'acct:' + ctx.buffer.peer : ctx.buffer.name
}

function ago (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return 'just now'
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  return `${Math.floor(s / 3600)} h ago`
}

export const CORE_COMMANDS: CommandDef[] = [
  {
    name: 'join',
    aliases: ['j'],
    args: '<#room>',
    summary: 'join a room (remembered across restarts) and switch to it',
    help: 'Rooms are # followed by 1-50 of a-z 0-9 _ . - (case does not matter).\nAnyone listening to the room on the network sees what you say there.',
    complete: 'room',
    run: (ctx, { room }) => {
      const t = ctx.app.chat.join(room!)
      ctx.switchTo(t.short)
    }
  },
  {
    name: 'part',
    aliases: ['leave', 'close'],
    args: '[#room]',
    summary: 'leave this room (or the one named), or close this query',
    complete: 'room',
    run: (ctx, { room }) => {
      if (room === undefined) conversation(ctx, '/part') // the system buffer has nothing to leave
      const name = room ?? ctx.buffer.name
      const b = ctx.model.find(name.startsWith('#') || name.startsWith('@') || name.startsWith('acct:') ? name : '#' + name)
      if (b?.kind === 'query') {
        ctx.model.close(b.name)
        return
      }
      if (!ctx.app.chat.part(name)) throw new CommandError(`/part: not in ${name}`)
    }
  },
  {
    name: 'msg',
    aliases: ['m'],
    args: '<target> <text...>',
    summary: 'send to a #room or @nick without switching buffers',
    complete: 'target',
    run: (ctx, { target, text }) => {
      const shown = say(ctx, target!, text!, false)
      if (shown !== undefined && shown !== ctx.buffer) ctx.print(`→ ${shown.name}: ${text!}`)
    }
  },
  {
    name: 'query',
    aliases: ['q'],
    args: '<@nick> [text...]',
    summary: 'open a private conversation with the key behind a nick (and send text to it)',
    help: 'Direct messages are sealed for one key: @nick means the key heard signing as that nick\n(acct:<address> names a key directly). The title shows the key: @bob (14QGug).\nIf a second key starts using the nick, you are warned; the buffer stays with its key.',
    complete: 'nick',
    run: (ctx, { nick, text }) => {
      const to = nick!.startsWith('@') || nick!.startsWith('acct:') ? nick! : '@' + nick!
      const peer = ctx.app.resolveRecipient(to)
      const b = ctx.model.query(peer, to.startsWith('@') ? to.slice(1) : undefined)
      ctx.switchTo(b.name)
      if (text !== undefined) say(ctx, 'acct:' + peer, text, false)
    }
  },
  {
    name: 'nick',
    args: '<nick>',
    summary: 'change your nick (remembered across restarts)',
    help: 'A nick is 1-32 of A-Z a-z 0-9 _ . - and is not owned: messages are signed by your key,\nand when two keys use one nick, each line shows the signer: alice(1Mo5ip).',
    run: (ctx, { nick }) => { ctx.app.chat.setNick(nick!) }
  },
  {
    name: 'me',
    args: '<action...>',
    summary: 'send an action: * nick does something',
    run: (ctx, { action }) => { say(ctx, conversation(ctx, '/me'), action!, true) }
  },
  {
    name: 'names',
    args: '',
    summary: 'who was heard in this room in the last 24 hours',
    help: 'A flooded room has no member list: anyone may listen without a word. This lists the\nnicks heard here (from the history too), most recent first.',
    run: (ctx) => {
      conversation(ctx, '/names')
      const b = ctx.buffer
      const heard = ctx.model.heardSince(b, ctx.now() - RECENTLY_MS)
      if (heard.length === 0) {
        ctx.print(`Nobody heard in ${b.name} in the last 24 hours.`)
        return
      }
      const list = heard.map(h => `${ctx.model.names.label(h.nick, h.account)} (${ago(ctx.now() - h.lastSeen)})`)
      ctx.print(`${heard.length} heard in ${b.name} in the last 24 hours: ${list.join(', ')}`)
    }
  },
  {
    name: 'peers',
    args: '',
    summary: 'list connected peers with their address and round-trip time',
    run: (ctx) => {
      const peers = ctx.app.node.peers()
      if (peers.length === 0) {
        ctx.print('No peers connected. /connect <multiaddr> dials one; nodes on the LAN are found by mDNS.')
        return
      }
      ctx.print(`${peers.length} peer${peers.length === 1 ? '' : 's'}:`)
      for (const p of peers) {
        const rtt = ctx.peerRtt(p.peerId)
        const address = (p.addresses[0] ?? '').replace(`/p2p/${p.peerId}`, '')
        const traffic = p.neighbour ? `${p.messagesIn} messages in, ${p.messagesOut} out` : 'not a tmsg node'
        ctx.print(`  ${p.peerId}`)
        ctx.print(`    ${p.direction} ${address} · ${rtt === undefined ? 'rtt unknown' : `rtt ${Math.round(rtt)} ms`} · ${traffic}`)
      }
    }
  },
  {
    name: 'connect',
    args: '<multiaddr>',
    summary: 'dial a peer and keep it connected',
    help: 'For example /connect /ip4/192.168.1.5/tcp/4004/p2p/16Uiu2HAm…\nThe peer is redialled if it goes away, until tmsg stops.',
    run: async (ctx, { multiaddr }) => {
      const address = multiaddr!
      ctx.print(`Connecting to ${address} …`)
      let peerId: string
      try {
        peerId = await ctx.app.node.connect(address)
      } catch (err: unknown) {
        const e = err as Error
        if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new CommandError(`/connect: no answer from ${address}`)
        throw new CommandError(`/connect: cannot connect to ${address}: ${e.message}`)
      }
      ctx.app.node.keep(address)
      const neighbour = await ctx.app.node.waitForNeighbour(peerId)
      ctx.print(neighbour ? `Connected to ${peerId}.` : `Connected to ${peerId}, but it does not speak tmsg (yet).`, neighbour ? 'info' : 'warn')
    }
  },
  {
    name: 'clear',
    args: '',
    summary: 'empty this buffer (the history stays in the store)',
    run: (ctx) => { ctx.model.clear(ctx.buffer) }
  },
  {
    name: 'help',
    args: '[command]',
    summary: 'list commands and keys, or explain one command',
    complete: 'command',
    run: (ctx, { command }) => {
      for (const line of command === undefined ? ctx.table.helpLines() : ctx.table.commandHelp(command)) ctx.print(line)
    }
  },
  {
    name: 'quit',
    aliases: ['exit'],
    args: '',
    summary: 'stop the node and leave',
    run: (ctx) => { ctx.quit() }
  }
]
