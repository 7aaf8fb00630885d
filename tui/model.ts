/**
 * The chat UI's state, with no terminal in it: buffers (the tmsg system buffer, rooms,
 * direct-message queries) with their scrollback, unread and mention counters, who was heard
 * where, scrolling by screen lines, and the rule that says which buffer a message belongs in.
 * The view draws it; the controller feeds it; tests drive it directly.
 */
import type { Message } from '../src/message.ts'
import { displayText } from './sanitize.ts'
import { NickRegistry, mentions, nickKey, shortAccount } from './nicks.ts'
import { dayLine, entryLines, sameDay } from './format.ts'
import type { ChatEntry, Entry, Measure, NoticeLevel, StyledLine } from './format.ts'
import { isValidNick } from '../src/targets.ts'
import { TIMESTAMP_WINDOW_MS } from '../src/wire/constants.ts'

export type BufferKind = 'system' | 'room' | 'query'

/** The buffer for node events and command output that belongs to no conversation. */
export const SYSTEM_BUFFER = 'tmsg'
/** Scrollback kept per buffer, in entries; older ones are dropped. */
export const MAX_ENTRIES = 3000
/** Nicks remembered per buffer for /names and completion. */
const MAX_HEARD = 1000
/**
 * "Recently heard", for /names and the title bar: a flooded room has no member list (anyone
 * may listen without a word), only people who spoke.
 */
export const RECENTLY_MS = 24 * 3600_000

/** How much a buffer wants attention, lowest to highest (the room list colours it). */
export const Activity = { none: 0, events: 1, messages: 2, highlight: 3 } as const
export type ActivityLevel = typeof Activity[keyof typeof Activity]

/** Someone heard in a buffer. */
export interface Heard {
  nick: string
  account?: string
  lastSeen: number
}

export class ChatBuffer {
  /** `tmsg`, `#room` or `@nick`, lower-case. */
  readonly name: string
  readonly kind: BufferKind
  entries: Entry[] = []
  unread = 0
  highlights = 0
  activity: ActivityLevel = Activity.none
  /** Screen lines scrolled back from the newest; 0 follows new lines. */
  scroll = 0
  readonly ids = new Set<string>()
  /** By nick and account, least recently heard first. */
  readonly heard = new Map<string, Heard>()
  /** Queries: the account (key) this buffer's direct messages are sealed for and come from. */
  peer?: string

  constructor (name: string, kind: BufferKind) {
    this.name = name
    this.kind = kind
  }
}

/** Where a message goes: a room or query buffer by name, or the system buffer. */
export interface Route {
  name: string
  kind: BufferKind
}

/**
 * The buffer a delivered message belongs in. Rooms by their name; chat to any other target
 * (a nick or account subscribed over RPC: plain text anyone could read, so not a query) and
 * data messages in the system buffer. Direct messages go to the query of their key
 * (`ChatModel.query`). Layer-2 kinds are not chat and are left to their own commands.
 */
export function routeMessage (m: Message): Route | undefined {
  if (m.kind === 'data') return { name: SYSTEM_BUFFER, kind: 'system' }
  if (m.kind !== 'chat') return undefined
  const t = m.targetName ?? ''
  if (t.startsWith('#')) return { name: t.toLowerCase(), kind: 'room' }
  return { name: SYSTEM_BUFFER, kind: 'system' }
}

/** What a query's title says about its key: `@bob (14QGug)`. */
export function queryLabel (b: ChatBuffer): string {
  return b.peer === undefined ? b.name : `${b.name.replace(/\([^)]*\)$/, '')} (${shortAccount(b.peer)})`
}

/** Where an entry written at `time` goes among entries in time order: after every one not later. */
function insertionPoint (entries: readonly Entry[], time: number): number {
  let i = entries.length
  while (i > 0 && entries[i - 1]!.time > time) i--
  return i
}

export interface ModelInit {
  measure: Measure
  /** This node's account: messages signed by it are our own. */
  account: string
  nick?: string
  /** A nick heard for an account (to name a query opened by our own direct message). */
  nickOf?: (account: string) => string | undefined
  maxEntries?: number
  now?: () => number
}

interface CachedLines {
  width: number
  label: string
  lines: StyledLine[]
}

export class ChatModel {
  readonly buffers: ChatBuffer[] = [new ChatBuffer(SYSTEM_BUFFER, 'system')]
  readonly account: string
  readonly names = new NickRegistry()
  nick: string | undefined
  private readonly measure: Measure
  private readonly maxEntries: number
  private readonly now: () => number
  private readonly nickOf: (account: string) => string | undefined
  private currentIndex = 0
  private width = 80
  private height = 20
  private readonly layoutCache = new WeakMap<Entry, CachedLines>()

  constructor (init: ModelInit) {
    this.measure = init.measure
    this.account = init.account
    this.nick = init.nick
    this.maxEntries = init.maxEntries ?? MAX_ENTRIES
    this.now = init.now ?? Date.now
    this.nickOf = init.nickOf ?? (() => undefined)
  }

  // ---- buffers ----------------------------------------------------------------------------

  get current (): ChatBuffer {
    return this.buffers[this.currentIndex]!
  }

  get system (): ChatBuffer {
    return this.buffers[0]!
  }

  find (name: string): ChatBuffer | undefined {
    const key = name.toLowerCase()
    return this.buffers.find(b => b.name === key)
  }

  /** The buffer of that name, created (at the end of the list) if new. */
  open (name: string, kind: BufferKind): ChatBuffer {
    const existing = this.find(name)
    if (existing !== undefined) return existing
    const b = new ChatBuffer(name.toLowerCase(), kind)
    this.buffers.push(b)
    return b
  }

  /** Removes a room or query buffer; the system buffer stays. */
  close (name: string): boolean {
    const i = this.buffers.findIndex(b => b.name === name.toLowerCase())
    if (i <= 0) return false
    const wasCurrent = i === this.currentIndex
    this.buffers.splice(i, 1)
    if (this.currentIndex >= i) this.currentIndex = Math.max(0, this.currentIndex - 1)
    if (wasCurrent) this.markRead(this.current)
    return true
  }

  switchTo (target: string | number): boolean {
    const i = typeof target === 'number' ? target : this.buffers.findIndex(b => b.name === target.toLowerCase())
    if (i < 0 || i >= this.buffers.length) return false
    this.currentIndex = i
    this.markRead(this.current)
    return true
  }

  next (): void {
    this.switchTo((this.currentIndex + 1) % this.buffers.length)
  }

  prev (): void {
    this.switchTo((this.currentIndex - 1 + this.buffers.length) % this.buffers.length)
  }

  /** Goes to the buffer wanting the most attention (the first after this one on a tie). */
  nextActive (): boolean {
    let best: number | undefined
    for (let k = 1; k < this.buffers.length; k++) {
      const i = (this.currentIndex + k) % this.buffers.length
      const a = this.buffers[i]!.activity
      if (a > Activity.none && (best === undefined || a > this.buffers[best]!.activity)) best = i
    }
    return best !== undefined && this.switchTo(best)
  }

  /** Buffers with activity, for the status bar: their 1-based numbers. */
  active (): Array<{ number: number, buffer: ChatBuffer }> {
    return this.buffers.map((buffer, i) => ({ number: i + 1, buffer })).filter(x => x.buffer.activity > Activity.none)
  }

  get currentNumber (): number {
    return this.currentIndex + 1
  }

  private markRead (b: ChatBuffer): void {
    b.unread = 0
    b.highlights = 0
    b.activity = Activity.none
  }

  // ---- incoming -----------------------------------------------------------------------------

  /**
   * The query talking to one key, opened if new. Named after the nick (`@bob`); when that
   * name is taken by a query with another key, the key is added: `@bob(14qgug)`.
   */
  query (peer: string, nick?: string): ChatBuffer {
    const existing = this.buffers.find(b => b.kind === 'query' && b.peer === peer)
    if (existing !== undefined) return existing
    const known = nick !== undefined && isValidNick(nick) ? nick : this.nickOf(peer)
    const base = known !== undefined && isValidNick(known) ? '@' + nickKey(known) : 'acct:' + shortAccount(peer)
    const clash = this.find(base)
    const name = clash === undefined || (clash.kind === 'query' && clash.peer === undefined) ? base : `${base}(${shortAccount(peer)})`
    const b = this.open(name, 'query')
    b.peer = peer
    return b
  }

  /** Files a delivered message in its buffer (opening a room or query if needed). */
  receive (m: Message): ChatBuffer | undefined {
    if (m.kind === 'direct' && m.peer !== undefined) {
      const b = this.query(m.peer, m.account === this.account ? undefined : m.nick)
      this.add(b, this.entryFor(m, { name: b.name, kind: 'query' }), false)
      return b
    }
    const route = routeMessage(m)
    if (route === undefined) return undefined
    const b = this.open(route.name, route.kind)
    this.add(b, this.entryFor(m, route), false)
    return b
  }

  /** Stored history of a buffer, oldest first: counts as read. */
  loadHistory (name: string, kind: BufferKind, messages: Message[]): ChatBuffer {
    const b = this.open(name, kind)
    for (const m of messages) {
      if (m.kind !== 'chat') continue
      this.add(b, this.entryFor(m, { name, kind }), true)
    }
    return b
  }

  /** A stored direct conversation, oldest first: counts as read. */
  loadDirect (peer: string, messages: Message[]): ChatBuffer {
    const theirs = messages.findLast(m => m.account !== this.account)
    const b = this.query(peer, theirs?.nick)
    for (const m of messages) if (m.kind === 'direct') this.add(b, this.entryFor(m, { name: b.name, kind: 'query' }), true)
    return b
  }

  /** A line from tmsg itself, in the system buffer unless another is named. */
  notice (text: string, level: NoticeLevel = 'info', buffer: ChatBuffer = this.system): void {
    this.add(buffer, { type: 'notice', time: this.now(), text: displayText(text), level }, false)
  }

  clear (b: ChatBuffer): void {
    b.entries = []
    b.ids.clear()
    b.scroll = 0
  }

  private entryFor (m: Message, route: Route): Entry {
    const nick = m.nick !== undefined && isValidNick(m.nick) ? m.nick : undefined
    const own = m.verified && m.account === this.account
    if (m.kind !== 'chat' && m.kind !== 'direct') {
      const who = this.names.label(nick, m.account)
      const preview = m.encoding === 'utf8' ? `: ${m.payload.slice(0, 200)}` : ''
      return { type: 'notice', time: m.receivedAt, text: `data for ${m.targetName ?? m.target} from ${who}${preview}`, level: 'info' }
    }
    const text = m.text === undefined ? '(a chat message that could not be decoded)' : m.text
    const elsewhere = route.kind === 'system' ? `[to ${m.targetName ?? m.target}] ` : ''
    // Stored lines lose the flag, but a line received more than the flood's window after it
    // was written can only have come from a neighbour's store.
    const history = m.history === true || m.receivedAt - m.timestamp > TIMESTAMP_WINDOW_MS
    return {
      type: 'chat',
      msgId: m.msgId,
      // A replayed line arrives now but was said then: shown at its own time, in its place.
      time: history ? m.timestamp : m.receivedAt,
      ...(history ? { history } : {}),
      nick,
      account: m.account,
      verified: m.verified,
      own,
      action: m.action === true,
      text: displayText(elsewhere + text),
      highlight: !own && (route.kind === 'query' || mentions(text, this.nick))
    }
  }

  private add (b: ChatBuffer, e: Entry, quiet: boolean): void {
    if (e.type === 'chat') {
      if (e.msgId !== undefined) {
        if (b.ids.has(e.msgId)) return
        b.ids.add(e.msgId)
      }
      if (e.nick !== undefined) {
        this.names.note(e.nick, e.account)
        this.hear(b, e)
      }
    }
    const at = e.type === 'chat' && e.history === true ? insertionPoint(b.entries, e.time) : b.entries.length
    if (at === b.entries.length) b.entries.push(e)
    else b.entries.splice(at, 0, e)
    if (b.entries.length > this.maxEntries + Math.ceil(this.maxEntries / 10)) this.trim(b)
    if (b === this.current) {
      // Scrolled back: keep the same lines on screen while new ones arrive below.
      if (b.scroll > 0) b.scroll += this.linesOfEntry(b, at).length
      return
    }
    if (quiet || (e.type === 'chat' && e.own)) return
    if (e.type === 'chat') {
      b.unread++
      if (e.highlight) b.highlights++
      b.activity = Math.max(b.activity, e.highlight ? Activity.highlight : Activity.messages) as ActivityLevel
    } else {
      b.activity = Math.max(b.activity, e.level === 'info' ? Activity.events : Activity.messages) as ActivityLevel
    }
  }

  /** Drops the oldest entries in one go (amortised: only once the cap is overshot by 10%). */
  private trim (b: ChatBuffer): void {
    const dropped = b.entries.splice(0, b.entries.length - this.maxEntries)
    for (const e of dropped) if (e.type === 'chat' && e.msgId !== undefined) b.ids.delete(e.msgId)
  }

  private hear (b: ChatBuffer, e: ChatEntry): void {
    const key = `${nickKey(e.nick!)} ${e.account ?? ''}`
    b.heard.delete(key) // re-inserted last: the map stays in order of recency
    b.heard.set(key, { nick: e.nick!, account: e.account, lastSeen: e.time })
    if (b.heard.size > MAX_HEARD) b.heard.delete(b.heard.keys().next().value!)
  }

  /** Nicks heard in a buffer since `since`, most recent first. */
  heardSince (b: ChatBuffer, since: number): Heard[] {
    return [...b.heard.values()].filter(h => h.lastSeen >= since).sort((x, y) => y.lastSeen - x.lastSeen)
  }

  /** Nicks to complete in a buffer, most recently heard first, without our own. */
  completionNicks (b: ChatBuffer): string[] {
    const seen = new Set<string>()
    const own = this.nick === undefined ? undefined : nickKey(this.nick)
    const out: string[] = []
    for (const h of [...b.heard.values()].reverse()) {
      const k = nickKey(h.nick)
      if (k === own || seen.has(k)) continue
      seen.add(k)
      out.push(h.nick)
    }
    return out
  }

  // ---- layout and scrolling ---------------------------------------------------------------

  /** The chat pane's size in columns and rows. */
  setPane (width: number, height: number): void {
    this.width = Math.max(1, width)
    this.height = Math.max(1, height)
  }

  get pane (): { width: number, height: number } {
    return { width: this.width, height: this.height }
  }

  /** The screen lines of one entry, with the day-change line in front when it starts a day. */
  private linesOfEntry (b: ChatBuffer, i: number): StyledLine[] {
    const e = b.entries[i]!
    const label = e.type === 'chat' ? this.names.label(e.nick, e.account) : ''
    let cached = this.layoutCache.get(e)
    if (cached === undefined || cached.width !== this.width || cached.label !== label) {
      cached = { width: this.width, label, lines: entryLines(e, this.width, this.measure, this.names) }
      this.layoutCache.set(e, cached)
    }
    const prev = b.entries[i - 1]
    return prev === undefined || !sameDay(prev.time, e.time) ? [dayLine(e.time, this.width, this.measure), ...cached.lines] : cached.lines
  }

  /** The newest `count` screen lines (fewer when the buffer is short), newest first, with their entry. */
  private tail (b: ChatBuffer, count: number): Array<{ line: StyledLine, entry: number }> {
    const out: Array<{ line: StyledLine, entry: number }> = []
    for (let i = b.entries.length - 1; i >= 0 && out.length < count; i--) {
      const lines = this.linesOfEntry(b, i)
      for (let j = lines.length - 1; j >= 0; j--) out.push({ line: lines[j]!, entry: i })
    }
    return out
  }

  /** What the chat pane shows, and how many entries are below it (`-MORE(n)-`). */
  view (b: ChatBuffer = this.current): { lines: StyledLine[], more: number } {
    const tail = this.tail(b, b.scroll + this.height)
    const scroll = Math.min(b.scroll, Math.max(0, tail.length - this.height))
    const lines = tail.slice(scroll, scroll + this.height).map(x => x.line).reverse()
    const bottom = tail[scroll]
    const more = scroll === 0 || bottom === undefined ? 0 : b.entries.length - 1 - bottom.entry
    return { lines, more }
  }

  /** Scrolls back (positive) or forward (negative) by screen lines, within the scrollback. */
  scrollBy (lines: number, b: ChatBuffer = this.current): void {
    const wanted = Math.max(0, b.scroll + lines)
    const available = this.tail(b, wanted + this.height).length
    b.scroll = Math.max(0, Math.min(wanted, available - this.height))
  }

  /** A page keeps two lines of the previous one in view, to read on from. */
  get pageLines (): number {
    return Math.max(1, this.height - 2)
  }

  pageUp (): void {
    this.scrollBy(this.pageLines)
  }

  pageDown (): void {
    this.scrollBy(-this.pageLines)
  }
}
