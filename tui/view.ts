/**
 * Draws the model into five blessed boxes:
 *
 *     title     #lobby — room · 3 heard today
 *     rooms │ chat pane                           (rooms hidden on narrow terminals)
 *     status    [12:34] [alice(1Mo5ip)] [2:#lobby] [3 peers, 4 ms] [Act: 3,4] -MORE(5)-
 *     input     [#lobby] hello_
 *
 * Every piece of text goes through `styled`, which escapes blessed tags: nothing a peer
 * typed can become markup.
 */
import { colourCount, createBox, displayWidth, placeBox, render, screenSize, setLines, styled } from './blessed.ts'
import type { Box, Screen, TextStyle } from './blessed.ts'
import { clipSegments, clock, fit, segmentsWidth, truncate } from './format.ts'
import type { Role, Segment, StyledLine } from './format.ts'
import { Activity, queryLabel, RECENTLY_MS } from './model.ts'
import type { ChatBuffer, ChatModel } from './model.ts'
import type { InputLine } from './input.ts'
import { NICK_COLOURS, shortAccount } from './nicks.ts'

/** Nick colours, `NICK_COLOURS` of them; red is kept for errors and unverified senders. */
const NICK_PALETTE = ['cyan', 'green', 'yellow', 'magenta', 'blue', 'light-cyan', 'light-green', 'light-yellow', 'light-magenta', 'light-blue']
if (NICK_PALETTE.length !== NICK_COLOURS) throw new Error('NICK_PALETTE must have NICK_COLOURS entries')

type Theme = Record<Role, TextStyle | undefined>

/**
 * Colours by role. Grey is bright black: a terminal with 8 colours (TERM=screen, the linux
 * console) has no bright colours and would draw it black, so there muted text is plain.
 */
function themeFor (colours: number): Theme {
  const muted: TextStyle | undefined = colours >= 16 ? { fg: 'grey' } : undefined
  return {
    text: undefined,
    time: muted,
    // Lines replayed from a neighbour's store: a dimmer time, underlined where there is no grey.
    history: colours >= 256 ? { fg: '#5f5f87' } : colours >= 16 ? { fg: 'blue' } : { underline: true },
    nick: undefined, // from the palette
    own: { bold: true },
    mention: { fg: 'black', bg: 'yellow', bold: true },
    unverified: { fg: 'red', bold: true },
    notice: { fg: 'cyan' },
    warn: { fg: 'yellow' },
    error: { fg: 'light-red', bold: true },
    day: muted,
    dim: muted,
    current: { inverse: true, bold: true }
  }
}

const BAR: TextStyle = { fg: 'white', bg: 'blue' }
const BAR_ROLES: Partial<Record<Role, TextStyle>> = {
  dim: { fg: 'cyan', bg: 'blue' },
  mention: { fg: 'yellow', bg: 'blue', bold: true },
  warn: { fg: 'yellow', bg: 'blue', bold: true },
  own: { fg: 'white', bg: 'blue', bold: true }
}

function tagged (line: StyledLine, styles: (s: Segment) => TextStyle | undefined): string {
  return line.map(s => styled(s.text, styles(s))).join('')
}

/** What the status bar shows besides the model. */
export interface StatusInfo {
  now: number
  peers: number
  /** Mean round trip to the peers, when known. */
  rttMs?: number
  /** The budget of the channel last paid through, as a battery (layer-2). */
  battery?: { text: string, low: boolean }
}

/** Columns of the room list, separator included; 0 hides it. */
function roomListWidth (screenWidth: number): number {
  if (screenWidth < 60) return 0
  return Math.max(14, Math.min(24, Math.round(screenWidth * 0.16)))
}

const ACTIVITY_ROLE: Record<number, Role> = { [Activity.events]: 'dim', [Activity.messages]: 'own', [Activity.highlight]: 'mention' }

/** One row of the room list: number, name, unread count (`3`, or `3!2` with mentions). */
function roomRow (b: ChatBuffer, number: number, current: boolean, width: number): StyledLine {
  const count = b.unread === 0 ? '' : b.highlights > 0 ? `${b.unread}!${b.highlights}` : String(b.unread)
  const label = fit(`${String(number).padStart(2)} ${b.name}`, width - count.length - (count === '' ? 0 : 1), displayWidth)
  const text = count === '' ? label : `${label} ${count}`
  return [{ text, role: current ? 'current' : ACTIVITY_ROLE[b.activity] ?? 'text' }]
}

function statusLine (model: ChatModel, info: StatusInfo, more: number): StyledLine {
  const b = model.current
  const open: Segment = { text: '[', role: 'dim' }
  const close: Segment = { text: '] ', role: 'dim' }
  const peers = `${info.peers} peer${info.peers === 1 ? '' : 's'}${info.rttMs === undefined ? '' : `, ${info.rttMs < 10 ? info.rttMs.toFixed(1) : Math.round(info.rttMs)} ms`}`
  const line: StyledLine = [
    open, { text: clock(info.now), role: 'text' }, close,
    open, { text: model.nick ?? '(no nick)', role: 'own' }, { text: `(${shortAccount(model.account)})`, role: 'text' }, close,
    open, { text: `${model.currentNumber}:${b.name}`, role: 'text' }, close,
    open, { text: peers, role: info.peers === 0 ? 'warn' : 'text' }, close
  ]
  if (info.battery !== undefined) line.push(open, { text: info.battery.text, role: info.battery.low ? 'warn' : 'text' }, close)
  const active = model.active()
  if (active.length > 0) {
    line.push(open, { text: 'Act: ', role: 'text' })
    active.forEach(({ number, buffer }, i) => {
      line.push({ text: (i > 0 ? ',' : '') + String(number), role: buffer.activity === Activity.highlight ? 'mention' : 'text' })
    })
    line.push(close)
  }
  if (more > 0) line.push({ text: `-MORE(${more})-`, role: 'warn' })
  return line
}

function titleLine (model: ChatModel, now: number): string {
  const b = model.current
  switch (b.kind) {
    case 'system': return 'tmsg — node events and command output · /help for commands'
    case 'room': return `${b.name} — room · ${model.heardSince(b, now - RECENTLY_MS).length} heard in the last 24 h · /names`
    case 'query': return b.peer === undefined
      ? `${b.name} — direct messages`
      : `${queryLabel(b)} — direct messages, sealed for this key only (acct:${b.peer})`
  }
}

function inputPrompt (model: ChatModel): string {
  return `[${model.current.name}] `
}

export class ChatView {
  readonly screen: Screen
  private readonly title: Box
  private readonly rooms: Box
  private readonly chat: Box
  private readonly status: Box
  private readonly input: Box
  private listWidth = 0
  private readonly theme: Theme

  constructor (screen: Screen) {
    this.screen = screen
    this.theme = themeFor(colourCount(screen))
    this.title = createBox(screen, BAR)
    this.rooms = createBox(screen)
    this.chat = createBox(screen)
    this.status = createBox(screen, BAR)
    this.input = createBox(screen)
  }

  /** Places the boxes for the screen's size and gives the model the chat pane's size. */
  layout (model: ChatModel): void {
    const { width, height } = screenSize(this.screen)
    const body = Math.max(1, height - 3)
    this.listWidth = roomListWidth(width)
    placeBox(this.title, { top: 0, left: 0, width, height: 1 })
    placeBox(this.rooms, { top: 1, left: 0, width: this.listWidth, height: body })
    placeBox(this.chat, { top: 1, left: this.listWidth, width: width - this.listWidth, height: body })
    placeBox(this.status, { top: height - 2, left: 0, width, height: 1 })
    placeBox(this.input, { top: height - 1, left: 0, width, height: 1 })
    model.setPane(width - this.listWidth, body)
  }

  render (model: ChatModel, input: InputLine, info: StatusInfo): void {
    const { width, height } = screenSize(this.screen)
    const pane = model.pane
    const view = model.view()

    setLines(this.title, [styled(truncate(' ' + titleLine(model, info.now), width, displayWidth), undefined)])

    if (this.listWidth > 0) {
      const rows = pane.height
      const first = Math.max(0, model.currentNumber - rows)
      const lines: string[] = []
      for (let r = 0; r < rows; r++) {
        const b = model.buffers[first + r]
        const row = b === undefined ? ' '.repeat(this.listWidth - 2) : tagged(roomRow(b, first + r + 1, b === model.current, this.listWidth - 2), s => this.roomStyle(s))
        lines.push(row + ' ' + styled('│', this.theme.dim))
      }
      setLines(this.rooms, lines)
    }

    setLines(this.chat, view.lines.map(l => tagged(clipSegments(l, pane.width, displayWidth), seg => this.chatStyle(seg))))

    const status = clipSegments(statusLine(model, info, view.more), width, displayWidth)
    setLines(this.status, [tagged(status, s => BAR_ROLES[s.role] ?? BAR) + styled(' '.repeat(Math.max(0, width - segmentsWidth(status, displayWidth))), BAR)])

    const prompt = truncate(inputPrompt(model), Math.floor(width / 2), displayWidth)
    const promptWidth = displayWidth(prompt)
    const { text, cursorCol } = input.viewport(width - promptWidth, displayWidth)
    setLines(this.input, [styled(prompt, this.theme.dim) + styled(text, undefined)])

    render(this.screen, { row: height - 1, col: promptWidth + cursorCol })
  }

  private chatStyle (s: Segment): TextStyle | undefined {
    if (s.role === 'nick') return { fg: NICK_PALETTE[(s.colour ?? 0) % NICK_PALETTE.length] }
    return this.theme[s.role]
  }

  /** The room list marks mentions in magenta rather than the chat pane's yellow block. */
  private roomStyle (s: Segment): TextStyle | undefined {
    return s.role === 'mention' ? { fg: 'magenta', bold: true } : this.theme[s.role]
  }
}
