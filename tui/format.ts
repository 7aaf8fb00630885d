/**
 * Scrollback entries as styled, wrapped screen lines — pure functions of an entry, a width and
 * a measure, so the model can lay out and scroll by screen lines without knowing blessed.
 *
 *     12:34 <alice> hello, a long line that wraps
 *                   under its own text
 *     12:35 * bob waves
 *     12:36 -!- peer …x3f9Qa connected (2 peers)
 *     ─── Tuesday, 24 November 2026 ───
 */
import type { NickRegistry } from './nicks.ts'
import { nickColour } from './nicks.ts'

/** Roles the view gives colours to (its theme); `nick` also carries a colour index. */
export type Role = 'text' | 'time' | 'history' | 'nick' | 'own' | 'mention' | 'unverified' | 'notice' | 'warn' | 'error' | 'day' | 'dim' | 'current'

export interface Segment {
  text: string
  role: Role
  /** For `nick`: index into the view's nick palette. */
  colour?: number
}

export type StyledLine = Segment[]

/** Terminal columns of a string (the view's rule, injected: blessed's in the app). */
export type Measure = (text: string) => number

export type NoticeLevel = 'info' | 'warn' | 'error'

/** A chat line in a buffer. `text` is display-safe already (see sanitize.ts). */
export interface ChatEntry {
  type: 'chat'
  msgId?: string
  time: number
  /** A valid nick, or undefined when the sender gave none (or garbage). */
  nick?: string
  account?: string
  verified: boolean
  own: boolean
  action: boolean
  text: string
  /** Mentions this node's nick (or is a direct message to it). */
  highlight: boolean
  /**
   * Replayed from a neighbour's store (DESIGN §10), not heard live: `time` is when it was
   * written, and the time is drawn in the history style.
   */
  history?: boolean
}

/** A line from tmsg itself: node events, command output, errors. */
export interface NoticeEntry {
  type: 'notice'
  time: number
  text: string
  level: NoticeLevel
}

export type Entry = ChatEntry | NoticeEntry

/** Below this many columns for the text, the text starts on the line after its prefix. */
const MIN_TEXT_COLUMNS = 12

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

function two (n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

/** `HH:MM`, local time. */
export function clock (ms: number): string {
  const d = new Date(ms)
  return `${two(d.getHours())}:${two(d.getMinutes())}`
}

/** `Tuesday, 24 November 2026`, local time. */
export function dayName (ms: number): string {
  const d = new Date(ms)
  return `${DAYS[d.getDay()]}, ${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`
}

export function sameDay (a: number, b: number): boolean {
  const x = new Date(a)
  const y = new Date(b)
  return x.getFullYear() === y.getFullYear() && x.getMonth() === y.getMonth() && x.getDate() === y.getDate()
}

/**
 * Splits text into lines of at most `width` columns, at spaces where it can, mid-word where
 * a word is longer than a line. `firstWidth` is the room on the first line.
 */
export function wrap (text: string, width: number, measure: Measure, firstWidth = width): string[] {
  const lines: string[] = []
  let line: string[] = []
  let lineWidth = 0
  let lastSpace = -1
  let limit = Math.max(1, firstWidth)
  const push = (chars: string[]): void => {
    lines.push(chars.join(''))
    limit = Math.max(1, width)
  }
  for (const ch of text) {
    const w = measure(ch)
    if (lineWidth + w > limit && line.length > 0) {
      if (ch === ' ') { // the break falls on a space: it disappears
        push(line)
        line = []
        lineWidth = 0
        lastSpace = -1
        continue
      }
      if (lastSpace > 0) {
        const rest = line.slice(lastSpace + 1)
        push(line.slice(0, lastSpace))
        line = rest
        lineWidth = measure(rest.join(''))
      } else {
        push(line)
        line = []
        lineWidth = 0
      }
      lastSpace = -1
    }
    if (ch === ' ') lastSpace = line.length
    line.push(ch)
    lineWidth += w
  }
  if (line.length > 0 || lines.length === 0) lines.push(line.join(''))
  return lines
}

/** `text` cut to `width` columns, ending in `…` when cut. */
export function truncate (text: string, width: number, measure: Measure): string {
  if (measure(text) <= width) return text
  if (width <= 0) return ''
  let out = ''
  let w = 0
  for (const ch of text) {
    const cw = measure(ch)
    if (w + cw > width - 1) break
    out += ch
    w += cw
  }
  return out + '…'
}

/** `text` padded with spaces (or cut) to exactly `width` columns. */
export function fit (text: string, width: number, measure: Measure): string {
  const t = truncate(text, width, measure)
  return t + ' '.repeat(Math.max(0, width - measure(t)))
}

export function segmentsWidth (line: StyledLine, measure: Measure): number {
  return line.reduce((n, s) => n + measure(s.text), 0)
}

/** The day-change line that precedes the first entry of a new day. */
export function dayLine (ms: number, width: number, measure: Measure): StyledLine {
  const label = ` ${dayName(ms)} `
  const side = Math.max(0, Math.floor((width - measure(label)) / 2))
  return [{ text: truncate('─'.repeat(Math.min(side, 3)) + label + '─'.repeat(Math.min(side, 3)), width, measure), role: 'day' }]
}

/** The prefix of a chat entry: time, then `<nick> ` or `* nick `, styled. */
function chatPrefix (e: ChatEntry, names: NickRegistry): StyledLine {
  const label = names.label(e.nick, e.account)
  const nickRole: Role = e.own ? 'own' : e.highlight ? 'mention' : 'nick'
  const nick: Segment = { text: label, role: nickRole, colour: nickColour(e.nick ?? e.account ?? label) }
  const mark: Segment[] = e.verified ? [] : [{ text: '?', role: 'unverified' }]
  const time: Segment = { text: clock(e.time) + ' ', role: e.history === true ? 'history' : 'time' }
  return e.action
    ? [time, { text: '* ', role: 'text' }, ...mark, nick, { text: ' ', role: 'text' }]
    : [time, { text: '<', role: 'dim' }, ...mark, nick, { text: '> ', role: 'dim' }]
}

function noticePrefix (e: NoticeEntry): StyledLine {
  return [{ text: clock(e.time) + ' ', role: 'time' }, { text: '-!- ', role: e.level === 'info' ? 'dim' : e.level }]
}

/** An entry as screen lines of at most `width` columns; continuation lines are indented under the text. */
export function entryLines (e: Entry, width: number, measure: Measure, names: NickRegistry): StyledLine[] {
  const prefix = e.type === 'chat' ? chatPrefix(e, names) : noticePrefix(e)
  const textRole: Role = e.type === 'notice' ? (e.level === 'info' ? 'notice' : e.level) : 'text'
  const prefixWidth = segmentsWidth(prefix, measure)
  const fitsBeside = width - prefixWidth >= MIN_TEXT_COLUMNS
  const indent = fitsBeside ? prefixWidth : Math.min(6, Math.max(0, width - MIN_TEXT_COLUMNS))
  const textLines = wrap(e.text, width - indent, measure, fitsBeside ? width - prefixWidth : width - indent)
  const pad = ' '.repeat(indent)
  const out: StyledLine[] = []
  if (fitsBeside) {
    out.push([...prefix, { text: textLines[0] ?? '', role: textRole }])
  } else {
    // A long shared nick on a narrow pane: the prefix gets a line of its own.
    out.push(clipSegments(prefix, width, measure))
    out.push([{ text: pad, role: 'text' }, { text: textLines[0] ?? '', role: textRole }])
  }
  for (const t of textLines.slice(1)) out.push([{ text: pad, role: 'text' }, { text: t, role: textRole }])
  return out
}

/** Segments cut to `width` columns in all. */
export function clipSegments (line: StyledLine, width: number, measure: Measure): StyledLine {
  const out: StyledLine = []
  let left = width
  for (const s of line) {
    if (left <= 0) break
    const w = measure(s.text)
    if (w <= left) {
      out.push(s)
      left -= w
    } else {
      out.push({ ...s, text: truncate(s.text, left, measure) })
      left = 0
    }
  }
  return out
}
