/**
 * The input line: editing (by code point, so an emoji is never cut in half), the history of
 * sent lines (Up/Down), and Tab completion of commands, rooms and nicks. Pure state: keys
 * arrive as calls, the view asks what to draw.
 */
import { cleanLine } from '../src/shared/text.js'
import type { Measure } from './format.ts'

/** Longest line accepted: beyond any payload a message can carry. */
export const MAX_INPUT_CHARS = 16_384
/** Lines kept for Up/Down. */
export const MAX_HISTORY = 500

export class InputLine {
  private chars: string[] = []
  /** Position in code points, 0..length. */
  cursor = 0

  get text (): string {
    return this.chars.join('')
  }

  get length (): number {
    return this.chars.length
  }

  set (text: string, cursor?: number): void {
    this.chars = [...text]
    this.cursor = Math.max(0, Math.min(cursor ?? this.chars.length, this.chars.length))
  }

  /** Typed or pasted text; control characters never enter the line. */
  insert (text: string): void {
    const add = [...cleanLine(text)].slice(0, MAX_INPUT_CHARS - this.chars.length)
    this.chars.splice(this.cursor, 0, ...add)
    this.cursor += add.length
  }

  backspace (): void {
    if (this.cursor === 0) return
    this.chars.splice(this.cursor - 1, 1)
    this.cursor--
  }

  deleteForward (): void {
    this.chars.splice(this.cursor, 1)
  }

  left (): void {
    this.cursor = Math.max(0, this.cursor - 1)
  }

  right (): void {
    this.cursor = Math.min(this.chars.length, this.cursor + 1)
  }

  home (): void {
    this.cursor = 0
  }

  end (): void {
    this.cursor = this.chars.length
  }

  killToStart (): void {
    this.chars.splice(0, this.cursor)
    this.cursor = 0
  }

  killToEnd (): void {
    this.chars.splice(this.cursor)
  }

  /** Deletes the word before the cursor (and the spaces after it), like a shell's Ctrl+W. */
  killWordBack (): void {
    const start = this.wordStartBefore(this.cursor)
    this.chars.splice(start, this.cursor - start)
    this.cursor = start
  }

  wordLeft (): void {
    this.cursor = this.wordStartBefore(this.cursor)
  }

  wordRight (): void {
    let i = this.cursor
    while (i < this.chars.length && this.chars[i] === ' ') i++
    while (i < this.chars.length && this.chars[i] !== ' ') i++
    this.cursor = i
  }

  private wordStartBefore (pos: number): number {
    let i = pos
    while (i > 0 && this.chars[i - 1] === ' ') i--
    while (i > 0 && this.chars[i - 1] !== ' ') i--
    return i
  }

  /**
   * The part of the line that fits in `width` columns with the cursor in view (the line
   * scrolls sideways when it is longer), and the cursor's column within it.
   */
  viewport (width: number, measure: Measure): { text: string, cursorCol: number } {
    const w = Math.max(1, width)
    // From the cursor, take characters to its left while they fit (the cursor's own cell
    // included), then fill what is left with characters to its right.
    let start = this.cursor
    let used = 0
    while (start > 0) {
      const cw = measure(this.chars[start - 1]!)
      if (used + cw > w - 1) break
      used += cw
      start--
    }
    let end = this.cursor
    let total = used
    while (end < this.chars.length) {
      const cw = measure(this.chars[end]!)
      if (total + cw > w) break
      total += cw
      end++
    }
    return { text: this.chars.slice(start, end).join(''), cursorCol: used }
  }
}

/** Sent lines for Up/Down; the line being typed is kept while browsing. */
export class InputHistory {
  private readonly lines: string[] = []
  private index = 0
  private draft = ''
  private readonly max: number

  constructor (max = MAX_HISTORY) {
    this.max = max
  }

  add (line: string): void {
    if (line.trim() !== '' && this.lines[this.lines.length - 1] !== line) {
      this.lines.push(line)
      if (this.lines.length > this.max) this.lines.shift()
    }
    this.index = this.lines.length
    this.draft = ''
  }

  /** The previous (older) line, or undefined at the oldest. `current` is saved as the draft. */
  prev (current: string): string | undefined {
    if (this.index === 0) return undefined
    if (this.index === this.lines.length) this.draft = current
    return this.lines[--this.index]
  }

  /** The next (newer) line, the draft after the newest, or undefined when not browsing. */
  next (): string | undefined {
    if (this.index >= this.lines.length) return undefined
    this.index++
    return this.index === this.lines.length ? this.draft : this.lines[this.index]
  }
}

/** What the first argument of a command completes to. */
export type ArgKind = 'room' | 'nick' | 'target' | 'command'

export interface CompletionSources {
  /** Command names without the slash. */
  commands: string[]
  /** `#room` names, in buffer order. */
  rooms: string[]
  /** Nicks, most recently heard first. */
  nicks: string[]
  /** What a command's first argument completes to, if anything. */
  argKind: (command: string) => ArgKind | undefined
}

interface CompletionState {
  head: string[]
  tail: string[]
  candidates: string[]
  suffix: string
  index: number
  /** The line as this completion left it: another Tab on it cycles. */
  result: string
  resultCursor: number
}

/** Tab completion; pressing Tab again cycles through the candidates (Shift+Tab backwards). */
export class Completer {
  private state: CompletionState | undefined

  reset (): void {
    this.state = undefined
  }

  /** Completes the word before the cursor; false when nothing matches. */
  complete (line: InputLine, sources: CompletionSources, backwards = false): boolean {
    const s = this.state
    if (s !== undefined && s.result === line.text && s.resultCursor === line.cursor) {
      s.index = (s.index + (backwards ? -1 : 1) + s.candidates.length) % s.candidates.length
      this.apply(line, s)
      return true
    }
    const chars = [...line.text]
    let start = line.cursor
    while (start > 0 && chars[start - 1] !== ' ') start--
    const word = chars.slice(start, line.cursor).join('')
    const before = chars.slice(0, start).join('')
    const { candidates, suffix } = candidatesFor(word, before, sources)
    const matching = candidates.filter(c => c.toLowerCase().startsWith(word.toLowerCase()))
    if (matching.length === 0) {
      this.state = undefined
      return false
    }
    const next: CompletionState = {
      head: chars.slice(0, start), tail: chars.slice(line.cursor), candidates: matching, suffix, index: backwards ? matching.length - 1 : 0, result: '', resultCursor: 0
    }
    this.state = next
    this.apply(line, next)
    return true
  }

  private apply (line: InputLine, s: CompletionState): void {
    const inserted = [...(s.candidates[s.index]! + s.suffix)]
    // A suffix space is not doubled when the text after the cursor starts with one.
    const trimmed = s.tail[0] === ' ' && inserted[inserted.length - 1] === ' ' ? inserted.slice(0, -1) : inserted
    line.set([...s.head, ...trimmed, ...s.tail].join(''), s.head.length + trimmed.length)
    s.result = line.text
    s.resultCursor = line.cursor
  }
}

function candidatesFor (word: string, before: string, sources: CompletionSources): { candidates: string[], suffix: string } {
  const nicksAt = sources.nicks.map(n => '@' + n)
  if (before === '' && word.startsWith('/')) return { candidates: sources.commands.map(c => '/' + c), suffix: ' ' }
  const command = /^\/(\S+) +$/.exec(before)
  if (command !== null) {
    switch (sources.argKind(command[1]!.toLowerCase())) {
      case 'room': return { candidates: sources.rooms, suffix: ' ' }
      case 'nick': return { candidates: nicksAt, suffix: ' ' }
      case 'target': return { candidates: [...sources.rooms, ...nicksAt], suffix: ' ' }
      case 'command': return { candidates: sources.commands, suffix: ' ' }
      case undefined: break
    }
  }
  if (word === '') return { candidates: [], suffix: '' }
  if (word.startsWith('#')) return { candidates: sources.rooms, suffix: ' ' }
  if (word.startsWith('@')) return { candidates: nicksAt, suffix: ' ' }
  // A nick at the start of a line addresses someone: "alice: ".
  return { candidates: sources.nicks, suffix: before === '' ? ': ' : ' ' }
}
