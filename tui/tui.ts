/**
 * The terminal chat: wires the embedded App (the same one the RPC serves) to the model, the
 * model to the view, and keys to actions and commands. App events arrive here, become model
 * changes, and a render is scheduled; nothing else in tui/ touches the node.
 */
import { userInfo } from 'node:os'
import type { EventEmitter } from 'node:events'
import type { App, NickKeyEvent } from '../src/app.ts'
import type { Target } from '../src/targets.ts'
import { version } from '../src/version.ts'
import type { Message } from '../src/message.ts'
import { createScreen, destroyScreen, displayWidth, onKey, onResize, redraw } from './blessed.ts'
import type { Key, Screen, ScreenInit } from './blessed.ts'
import { ChatModel } from './model.ts'
import type { ChatBuffer } from './model.ts'
import type { NoticeLevel } from './format.ts'
import { ChatView } from './view.ts'
import type { StatusInfo } from './view.ts'
import { Completer, InputHistory, InputLine } from './input.ts'
import type { CompletionSources } from './input.ts'
import { CORE_COMMANDS, CommandTable, conversation, errorText, parseInput, say } from './commands.ts'
import type { CommandContext, CommandDef, RpcEndpoint } from './commands.ts'
import { extraCommands } from './extra-commands.ts'
import { actionFor } from './keys.ts'
import type { Action } from './keys.ts'
import { RttMonitor } from './rtt.ts'
import { defaultNick, shortAccount } from './nicks.ts'
import { battery, sats } from '../src/layer2/channels/budget.ts'
import type { Layer2 } from '../src/layer2/layer2.ts'

/** The room a first start joins. */
export const DEFAULT_ROOM = '#lobby'
/** Messages of each room loaded from the store at start. */
export const HISTORY_ON_START = 1000
/** Direct conversations reopened at start, most recently active first. */
const DIRECT_ON_START = 50
/** Renders at most this often; a burst of messages costs one render, not one each. */
const MIN_RENDER_INTERVAL_MS = 20

export interface TuiOptions extends ScreenInit {
  /** Commands besides the core ones and `extra-commands.ts`. */
  commands?: CommandDef[]
  /** OS user name the default nick is made from. @default os.userInfo().username */
  username?: string
  now?: () => number
  /** The JSON-RPC server this process runs beside the chat, if any (the welcome and /web show it). */
  rpc?: RpcEndpoint
}

type Detach = () => void
/** The untyped face of node's EventEmitter, for attaching and detaching one handler. */
interface NodeEventEmitter {
  on: (event: string, f: (...a: unknown[]) => void) => unknown
  off: (event: string, f: (...a: unknown[]) => void) => unknown
}

export class Tui {
  readonly model: ChatModel
  readonly screen: Screen
  /** Resolves when the UI is gone and the terminal restored (after /quit, Ctrl+C or `quit()`). */
  readonly closed: Promise<void>
  private readonly app: App
  private readonly rpc?: RpcEndpoint
  private readonly view: ChatView
  private readonly input = new InputLine()
  private readonly history = new InputHistory()
  private readonly completer = new Completer()
  private readonly table: CommandTable
  private readonly rtt: RttMonitor
  private readonly now: () => number
  private readonly detachers: Detach[] = []
  private renderTimer: NodeJS.Timeout | undefined
  private ticker: NodeJS.Timeout | undefined
  private lastRender = 0
  private lastStatus = ''
  /** The client channel last paid through (its battery is in the status bar). */
  private lastChannel: string | undefined
  private stopping = false
  private resolveClosed!: () => void

  private constructor (app: App, opts: TuiOptions) {
    this.app = app
    if (opts.rpc !== undefined) this.rpc = opts.rpc
    this.now = opts.now ?? Date.now
    this.closed = new Promise(resolve => { this.resolveClosed = resolve })
    this.table = new CommandTable(CORE_COMMANDS)
    for (const def of [...extraCommands, ...(opts.commands ?? [])]) this.table.register(def)
    const account = app.node.identity.account
    let derivedNick = false
    if (app.chat.nick === undefined) {
      // Not persisted: a nick the user never chose should follow their user name, not stick.
      app.chat.setNick(defaultNick(opts.username ?? osUser(), account), false)
      derivedNick = true
    }
    if (app.chat.rooms().length === 0) app.chat.join(DEFAULT_ROOM)
    this.model = new ChatModel({ measure: displayWidth, account, nick: app.chat.nick, now: this.now, nickOf: a => app.nicks.nicksOf(a)[0] })
    this.rtt = new RttMonitor({ peers: () => app.node.peers(), ping: async id => await app.node.ping(id) }, () => { this.scheduleRender() })

    // Listeners and history in one synchronous stretch: no message can fall between them,
    // and one that is in both is shown once (the model drops repeated msgIds).
    this.listen()
    for (const room of app.chat.rooms()) this.openRoom(room)
    // Conversations come back too (the most recent first in the list, like the rooms).
    for (const peer of app.store.directPeers(DIRECT_ON_START).reverse()) this.model.loadDirect(peer, app.direct.history(peer, HISTORY_ON_START) ?? [])
    this.welcome(derivedNick)
    this.model.switchTo(1)

    this.screen = createScreen({ ...opts, title: 'tmsg' })
    this.view = new ChatView(this.screen)
    onKey(this.screen, (ch, key) => { this.onKey(ch, key) })
    onResize(this.screen, () => {
      this.view.layout(this.model)
      this.renderNow()
    })
    this.view.layout(this.model)
    this.rtt.start()
    this.ticker = setInterval(() => { this.tick() }, 1000)
    this.ticker.unref()
    this.renderNow()
  }

  /** Takes over the terminal (or the given streams) and shows the chat. */
  static start (app: App, opts: TuiOptions = {}): Tui {
    return new Tui(app, opts)
  }

  /** Ends the UI and restores the terminal; the caller stops the App. Idempotent. */
  quit (): void {
    if (this.stopping) return
    this.stopping = true
    clearTimeout(this.renderTimer)
    clearInterval(this.ticker)
    this.rtt.stop()
    for (const d of this.detachers.splice(0)) d()
    destroyScreen(this.screen)
    this.resolveClosed()
  }

  /** A warning or error from the node's log (human-readable line) for the system buffer. */
  log (line: string): void {
    this.logLine(line)
    this.scheduleRender()
  }

  // ---- wiring -----------------------------------------------------------------------------

  private listen (): void {
    const { app } = this
    const on = <E extends Record<keyof E, unknown[]>, K extends keyof E & string>(emitter: EventEmitter<E>, event: K, f: (...a: E[K]) => void): void => {
      const guarded = (...a: E[K]): void => { this.guard(() => { f(...a) }) }
      const target = emitter as unknown as NodeEventEmitter
      target.on(event, guarded as (...a: unknown[]) => void)
      this.detachers.push(() => { target.off(event, guarded as (...a: unknown[]) => void) })
    }
    on(app, 'message', (m: Message) => { this.model.receive(m) })
    on(app, 'nick-key', (e: NickKeyEvent) => {
      const text = `Warning: a new key (acct:${e.account}) now signs as @${e.nick}, which ${e.others.map(a => shortAccount(a)).join(', ')} used before. ` +
        'Nicks are claims: your conversation stays with the key it was sealed for.'
      const queries = e.talking.map(a => this.model.buffers.find(b => b.kind === 'query' && b.peer === a)).filter(b => b !== undefined)
      for (const b of queries) this.model.notice(text, 'warn', b)
      if (e.talking.length > 0 || queries.length === 0) this.model.notice(text, e.talking.length > 0 ? 'warn' : 'info')
    })
    on(app.chat, 'join', (t: Target) => { if (this.model.find(t.short) === undefined) this.openRoom(t) })
    on(app.chat, 'part', (t: Target) => {
      this.model.close(t.short)
      this.model.notice(`Left ${t.short}.`)
    })
    on(app.chat, 'nick', (nick: string) => {
      this.model.nick = nick
      this.model.notice(`You are now known as ${nick}.`, 'info', this.model.current)
    })
    on(app.node, 'peer:connect', (peerId: string) => {
      this.model.notice(`Peer ${shortPeer(peerId)} connected (${this.peerCount()} connected).`)
      this.rtt.pingPeer(peerId)
    })
    on(app.node, 'peer:disconnect', (peerId: string) => {
      this.rtt.forget(peerId)
      this.model.notice(`Peer ${shortPeer(peerId)} disconnected (${this.peerCount()} connected).`)
    })
    if (app.layer2 !== undefined) this.listenLayer2(app.layer2.events, on)
  }

  /** Payment channels: budget warnings, state changes, earnings — in the system buffer and status bar. */
  private listenLayer2 (events: Layer2['events'], on: <E extends Record<keyof E, unknown[]>, K extends keyof E & string>(emitter: EventEmitter<E>, event: K, f: (...a: E[K]) => void) => void): void {
    on(events, 'alert', ({ channelId, alert, paid, budget }) => {
      this.lastChannel = channelId
      const text = alert === 'exhausted'
        ? `Channel ${channelId.slice(0, 10)}: budget reached (${paid} of ${budget} sat paid) ${battery(paid, budget)}: payments past it are refused.`
        : `Channel ${channelId.slice(0, 10)}: ${alert === 'warn-80' ? '80' : '95'}% of the ${budget} sat budget spent ${battery(paid, budget)}.`
      this.model.notice(text, 'warn')
      if (this.model.current.kind !== 'system') this.model.notice(text, 'warn', this.model.current)
    })
    on(events, 'channel', ch => {
      if (ch.role === 'client' && ch.state === 'open') this.lastChannel = ch.id
      this.model.notice(`Channel ${ch.id.slice(0, 10)} (${ch.role === 'client' ? 'to' : 'from'} ${ch.role === 'client' ? ch.service : ch.peerAccount}) is ${ch.state}.`)
    })
    on(events, 'earned', ({ service }) => { this.earnedSince.add(service) })
    on(events, 'wallet', e => {
      if (e.type !== 'received') return
      const nick = this.app.nicks.nicksOf(e.peer)[0]
      const text = `received ${sats(e.amount)} from ${nick ?? e.peer}${e.memo !== '' ? `: ${e.memo}` : ''}`
      this.model.notice(text)
      if (this.model.current.kind !== 'system') this.model.notice(text, 'info', this.model.current)
    })
    on(events, 'paid', ({ channelId }) => { this.lastChannel = channelId })
  }

  /** Services that earned since the last summary: one line per second at most, not one per payment. */
  private readonly earnedSince = new Set<string>()

  private summariseEarnings (): void {
    if (this.earnedSince.size === 0 || this.app.layer2 === undefined) return
    for (const e of this.app.layer2.provider.earnings().filter(x => this.earnedSince.has(x.service))) {
      this.model.notice(`Earnings: ${e.service} has earned ${e.earned} sat over ${e.channels} channel(s).`)
    }
    this.earnedSince.clear()
    this.scheduleRender()
  }

  /** Runs an event handler; whatever goes wrong is shown, and the UI carries on. */
  private guard (f: () => void): void {
    try {
      f()
    } catch (err: unknown) {
      this.app.log.error({ err }, 'chat UI error')
      this.model.notice(`internal error: ${errorText(err)}`, 'error')
    }
    this.scheduleRender()
  }

  private openRoom (room: Target): ChatBuffer {
    return this.model.loadHistory(room.short, 'room', this.app.store.history(room.id, HISTORY_ON_START) ?? [])
  }

  private welcome (derivedNick: boolean): void {
    const { app, model } = this
    const node = app.node
    model.notice(`tmsg ${version} — nick ${app.chat.nick ?? '(none)'}, account ${node.identity.account}`)
    if (derivedNick) model.notice(`Your nick comes from your user name; /nick <name> chooses one (and remembers it).`)
    model.notice(`Peer id ${node.peerId}`)
    for (const a of node.addresses()) model.notice(`Listening on ${a}`)
    model.notice(this.rpc === undefined ? 'JSON-RPC is off.' : `JSON-RPC on ${this.rpc.url} (cookie in ${app.datadir.rpcCookie})`)
    model.notice(app.config.mdns ? 'Looking for peers on the LAN (mDNS).' : 'mDNS is off: /connect <multiaddr> reaches a peer.')
    for (const b of app.config.bootstrap) model.notice(`Keeping ${b} connected.`)
    // Peers that connected while the node was starting; later ones arrive as events.
    for (const p of node.peers()) model.notice(`Peer ${shortPeer(p.peerId)} connected.`)
    for (const n of app.notices) model.notice(n, 'warn')
    model.notice('/help lists commands and keys; Alt+1 comes back here.')
    const first = model.buffers[1]
    if (first !== undefined) for (const n of app.notices) model.notice(n, 'warn', first)
  }

  private logLine (line: string): void {
    // humanLine(): "HH:MM:SS.mmm LEVEL [component] message key=value…"
    const m = /^\S+ (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) ([\s\S]*)$/.exec(line.trim())
    const text = m === null ? line : m[2]!
    // App.start also logs its notices (for headless runs); the welcome has shown them.
    if (this.app.notices.includes(text)) return
    const level: NoticeLevel = m === null ? 'warn' : m[1] === 'WARN' ? 'warn' : m[1] === 'ERROR' || m[1] === 'FATAL' ? 'error' : 'info'
    this.model.notice(text, level)
  }

  private peerCount (): number {
    return this.app.node.peers().length
  }

  // ---- input ------------------------------------------------------------------------------

  private onKey (ch: string | undefined, key: Key): void {
    if (this.stopping) return
    const action = actionFor(ch, key)
    if (action === undefined) return
    this.guard(() => { this.apply(action) })
  }

  private apply (a: Action): void {
    const { input, model } = this
    if (a.type !== 'complete' && a.type !== 'complete-back') this.completer.reset()
    switch (a.type) {
      case 'insert': input.insert(a.text); break
      case 'submit': this.submit(); break
      case 'backspace': input.backspace(); break
      case 'delete': input.deleteForward(); break
      case 'left': input.left(); break
      case 'right': input.right(); break
      case 'home': input.home(); break
      case 'end': input.end(); break
      case 'word-left': input.wordLeft(); break
      case 'word-right': input.wordRight(); break
      case 'kill-start': input.killToStart(); break
      case 'kill-end': input.killToEnd(); break
      case 'kill-word': input.killWordBack(); break
      case 'history-prev': { const l = this.history.prev(input.text); if (l !== undefined) input.set(l); break }
      case 'history-next': { const l = this.history.next(); if (l !== undefined) input.set(l); break }
      case 'complete': this.completer.complete(input, this.completionSources()); break
      case 'complete-back': this.completer.complete(input, this.completionSources(), true); break
      case 'page-up': model.pageUp(); break
      case 'page-down': model.pageDown(); break
      case 'buffer': model.switchTo(a.index); break
      case 'buffer-next': model.next(); break
      case 'buffer-prev': model.prev(); break
      case 'buffer-active': model.nextActive(); break
      case 'redraw': redraw(this.screen); break
      case 'quit': this.quit(); break
    }
  }

  private submit (): void {
    const line = this.input.text
    this.input.set('')
    this.history.add(line)
    const parsed = parseInput(line)
    if (parsed.kind === 'empty') return
    const ctx = this.context(this.model.current)
    this.model.current.scroll = 0 // what you send is what you want to see
    if (parsed.kind === 'command') {
      void this.table.run(ctx, parsed.name, parsed.argText).finally(() => { this.scheduleRender() })
      return
    }
    if (ctx.buffer.kind === 'system') {
      ctx.print('This buffer is for tmsg itself: /join #room or /query @nick to talk (Alt+2 is your first room).', 'warn')
      return
    }
    try {
      say(ctx, conversation(ctx, 'a line'), parsed.text, false)
    } catch (err: unknown) {
      ctx.print(errorText(err), 'error')
    }
  }

  private context (buffer: ChatBuffer): CommandContext {
    return {
      app: this.app,
      ...(this.rpc !== undefined ? { rpc: this.rpc } : {}),
      model: this.model,
      buffer,
      table: this.table,
      print: (text, level = 'info') => {
        this.model.notice(text, level, buffer)
        this.scheduleRender()
      },
      switchTo: name => { this.model.switchTo(name) },
      peerRtt: id => this.rtt.rtt(id),
      quit: () => { this.quit() },
      now: this.now
    }
  }

  private completionSources (): CompletionSources {
    return {
      commands: this.table.names(),
      rooms: this.model.buffers.filter(b => b.kind === 'room').map(b => b.name),
      nicks: this.model.completionNicks(this.model.current),
      argKind: name => this.table.find(name)?.complete
    }
  }

  // ---- drawing ----------------------------------------------------------------------------

  private status (): StatusInfo {
    return { now: this.now(), peers: this.peerCount(), rttMs: this.rtt.average(), ...this.battery() }
  }

  /** The client channel paid through last, while it is open, as a battery. */
  private battery (): Pick<StatusInfo, 'battery'> {
    const l2 = this.app.layer2
    const ch = this.lastChannel === undefined ? undefined : l2?.channels.get(this.lastChannel)
    if (ch === undefined || ch.state !== 'open' || ch.budget === undefined) return {}
    return { battery: { text: `${ch.service} ${battery(ch.paid, ch.budget, 6)}`, low: ch.paid >= 0.8 * ch.budget } }
  }

  private scheduleRender (): void {
    if (this.renderTimer !== undefined || this.stopping) return
    const wait = Math.max(0, this.lastRender + MIN_RENDER_INTERVAL_MS - Date.now())
    this.renderTimer = setTimeout(() => {
      this.renderTimer = undefined
      this.renderNow()
    }, wait)
  }

  /** Draws now (tests call it to skip the render delay). */
  renderNow (): void {
    if (this.stopping) return
    clearTimeout(this.renderTimer)
    this.renderTimer = undefined
    this.lastRender = Date.now()
    const status = this.status()
    this.lastStatus = statusKey(status)
    this.view.render(this.model, this.input, status)
  }

  /** Once a second: redraw only if the clock's minute, the peer count or the RTT changed. */
  private tick (): void {
    this.summariseEarnings()
    if (statusKey(this.status()) !== this.lastStatus) this.scheduleRender()
  }
}

function statusKey (s: StatusInfo): string {
  return `${Math.floor(s.now / 60_000)} ${s.peers} ${s.rttMs === undefined ? '' : Math.round(s.rttMs)} ${s.battery?.text ?? ''}`
}

function shortPeer (peerId: string): string {
  return `…${peerId.slice(-6)}`
}

function osUser (): string | undefined {
  try {
    return userInfo().username
  } catch {
    return undefined // no passwd entry (some containers)
  }
}

/** Starts the chat UI on an App that is already running. */
export function startTui (app: App, opts: TuiOptions = {}): Tui {
  return Tui.start(app, opts)
}
