/**
 * The only module that imports `blessed`: screen and box creation, the tag syntax, text
 * widths, the cursor and key events. A maintained fork (neo-blessed, reblessed) can replace
 * blessed here without the rest of tui/ noticing.
 *
 * It also teaches blessed 0.1.81 the width of emoji. Its width table predates Unicode 9, so
 * it counts 😀 as one column while every current terminal draws two, and each emoji would
 * shift the rest of its line one column to the right.
 */
import blessed from 'blessed'
import type { Widgets } from 'blessed'

export type Screen = Widgets.Screen
export type Box = Widgets.BoxElement

/** A key press as blessed reports it (`full` is e.g. `C-n`, `M-1`, `pageup`, `S-tab`). */
export interface Key {
  name?: string
  full: string
  ctrl: boolean
  meta: boolean
  shift: boolean
  sequence?: string
}

/** Colours and attributes a piece of text can have; colours are blessed names (`cyan`, `light-red`, `grey`). */
export interface TextStyle {
  fg?: string
  bg?: string
  bold?: boolean
  underline?: boolean
  inverse?: boolean
}

interface BlessedUnicode {
  charWidth: (str: string | number, i?: number) => number
  strWidth: (str: string) => number
  codePointAt: (str: string, i: number) => number
  combining: Record<number, boolean>
  chars: { all: RegExp, wide: RegExp }
}
const unicode = (blessed as unknown as { unicode: BlessedUnicode }).unicode

// ---- emoji widths (see the header) ------------------------------------------------------------

const EMOJI_MODIFIER = /\p{Emoji_Modifier}/u
const WIDE_EMOJI = /(?!\p{Emoji_Modifier})\p{Emoji_Presentation}/u
const baseCharWidth = unicode.charWidth.bind(unicode)
unicode.charWidth = (str, i) => {
  const point = typeof str === 'number' ? str : unicode.codePointAt(str, i ?? 0)
  if (point > 0xff) {
    const ch = String.fromCodePoint(point)
    if (WIDE_EMOJI.test(ch)) return 2
  }
  return baseCharWidth(str, i)
}
// Skin-tone modifiers join the emoji before them in one cell, as terminals draw them.
for (let p = 0x1f3fb; p <= 0x1f3ff; p++) if (EMOJI_MODIFIER.test(String.fromCodePoint(p))) unicode.combining[p] = true
// Blessed puts a placeholder cell after every character this matches, for its second column.
unicode.chars.all = new RegExp(`([${unicode.chars.wide.source.slice(2, -2)}]|[\\u{20000}-\\u{2fffd}\\u{30000}-\\u{3fffd}]|(?!\\p{Emoji_Modifier})\\p{Emoji_Presentation})`, 'gu')

// ---- text -----------------------------------------------------------------------------------

/** Terminal columns a string takes, by the same rules blessed lays out cells with. */
export function displayWidth (text: string): number {
  return unicode.strWidth(text)
}

/** Text made literal for a tag-enabled box: `{red-bg}` from a peer shows as `{red-bg}`. */
export function escapeTags (text: string): string {
  return blessed.escape(text)
}

/** `text` (escaped) wrapped in the tags for `style`. */
export function styled (text: string, style: TextStyle | undefined): string {
  const body = escapeTags(text)
  if (style === undefined) return body
  const tags: string[] = []
  if (style.bold === true) tags.push('bold')
  if (style.underline === true) tags.push('underline')
  if (style.inverse === true) tags.push('inverse')
  if (style.fg !== undefined) tags.push(`${style.fg}-fg`)
  if (style.bg !== undefined) tags.push(`${style.bg}-bg`)
  return tags.map(t => `{${t}}`).join('') + body + tags.reverse().map(t => `{/${t}}`).join('')
}

// ---- screen and boxes -----------------------------------------------------------------------

export interface ScreenInit {
  /** Default: the process's stdin/stdout. Tests pass fake streams. */
  input?: NodeJS.ReadableStream
  output?: NodeJS.WritableStream
  /** terminfo name; default: $TERM. */
  terminal?: string
  title?: string
}

export function createScreen (init: ScreenInit = {}): Screen {
  const screen = blessed.screen({
    input: init.input,
    output: init.output,
    terminal: init.terminal,
    title: init.title,
    smartCSR: true,
    fullUnicode: true,
    // Node writes UTF-8 whatever the locale says; without this an unset LANG would turn every
    // non-ASCII character into '?'.
    forceUnicode: true,
    autoPadding: false,
    warnings: false,
    // Keys are handled by the app; blessed's own bindings (and mouse) stay off.
    sendFocus: false
  } as Widgets.IScreenOptions)
  // Line drawing goes out as UTF-8 like all other text, not through the VT100 alternate
  // character set: the same bytes whatever the terminfo entry claims (ncurses does this
  // with NCURSES_NO_UTF8_ACS=1), and `tmux capture-pane` shows │ rather than x.
  ;(screen as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true
  return screen
}

/** A borderless box for pre-laid-out, tagged lines: blessed neither wraps nor scrolls it. */
export function createBox (screen: Screen, style: TextStyle = {}): Box {
  return blessed.box({
    parent: screen,
    tags: true,
    wrap: false,
    scrollable: false,
    style: { fg: style.fg, bg: style.bg, bold: style.bold }
  })
}

export interface Rect {
  top: number
  left: number
  width: number
  height: number
}

export function placeBox (box: Box, r: Rect): void {
  box.top = r.top
  box.left = r.left
  box.width = Math.max(0, r.width)
  box.height = Math.max(0, r.height)
  if (r.width <= 0 || r.height <= 0) box.hide()
  else box.show()
}

export function setLines (box: Box, lines: string[]): void {
  box.setContent(lines.join('\n'))
}

/** Colours the terminal has (8, 16, 256…), from its terminfo entry. */
export function colourCount (screen: Screen): number {
  return (screen as unknown as { tput: { colors: number } }).tput.colors
}

export function screenSize (screen: Screen): { width: number, height: number } {
  return { width: Number(screen.width), height: Number(screen.height) }
}

/** Draws what changed; then puts the terminal cursor where the user types. */
export function render (screen: Screen, cursor?: { row: number, col: number }): void {
  screen.render()
  if (cursor !== undefined) {
    screen.program.cup(cursor.row, cursor.col)
    screen.program.showCursor()
  }
}

/** Forgets what the terminal shows and draws everything again (Ctrl+L). */
export function redraw (screen: Screen): void {
  screen.realloc()
}

export function onKey (screen: Screen, handler: (ch: string | undefined, key: Key) => void): void {
  screen.on('keypress', (ch: string | undefined, key: Key | undefined) => { handler(ch, key ?? { full: ch ?? '', ctrl: false, meta: false, shift: false }) })
}

export function onResize (screen: Screen, handler: () => void): void {
  screen.on('resize', handler)
}

/** Leaves the alternate screen and restores the terminal (cursor, modes, echo). */
export function destroyScreen (screen: Screen): void {
  screen.destroy()
}

/**
 * The screen as plain text, one string per row, as blessed last drew it (tests): the
 * placeholder cells after wide characters are dropped.
 */
export function screenText (screen: Screen): string[] {
  const lines = (screen as unknown as { lines: Array<Array<[number, string]>> }).lines
  return lines.map(row => row.map(cell => cell[1]).join('').replace(/\u0003/g, ''))
}
