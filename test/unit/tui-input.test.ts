/** The input line, its history, Tab completion and the key bindings, without a terminal. */
import { describe, expect, it } from 'vitest'
import { Completer, InputHistory, InputLine } from '../../tui/input.ts'
import type { CompletionSources } from '../../tui/input.ts'
import { actionFor } from '../../tui/keys.ts'
import type { Key } from '../../tui/blessed.ts'
import { displayWidth } from '../../tui/blessed.ts'

function line (text: string, cursor?: number): InputLine {
  const l = new InputLine()
  l.set(text, cursor)
  return l
}

describe('input line', () => {
  it('edits by code point, so an emoji is never cut in half', () => {
    const l = line('')
    l.insert('hi 😀')
    l.backspace()
    expect(l.text).toBe('hi ')
    l.insert('👍🏽x')
    l.left()
    l.left()
    l.backspace() // removes the 👍, leaves its skin-tone modifier as a character of its own
    expect([...l.text]).toHaveLength(5)
  })

  it('keeps control characters and escape sequences out of the line', () => {
    const l = line('')
    l.insert('a\u001b[31mb\u0007c\nd')
    expect(l.text).toBe('abc d')
  })

  it('moves and kills like readline', () => {
    const l = line('hello big world')
    l.killWordBack()
    expect(l.text).toBe('hello big ')
    l.wordLeft()
    expect(l.cursor).toBe(6)
    l.killToEnd()
    expect(l.text).toBe('hello ')
    l.home()
    l.right()
    l.killToStart()
    expect(l.text).toBe('ello ')
    l.end()
    l.deleteForward()
    expect([l.text, l.cursor]).toEqual(['ello ', 5])
  })

  it('scrolls sideways to keep the cursor in view on a long line', () => {
    const l = line('0123456789abcdefghij')
    expect(l.viewport(10, displayWidth)).toEqual({ text: 'bcdefghij', cursorCol: 9 })
    l.home()
    expect(l.viewport(10, displayWidth)).toEqual({ text: '0123456789', cursorCol: 0 })
    const wide = line('中文中文中文')
    const v = wide.viewport(6, displayWidth)
    expect(displayWidth(v.text) + 1).toBeLessThanOrEqual(6)
    expect(v.cursorCol).toBe(displayWidth(v.text))
  })
})

describe('input history', () => {
  it('recalls sent lines with Up/Down and gives back the line being typed', () => {
    const h = new InputHistory(3)
    for (const s of ['one', 'two', 'two', 'three', 'four']) h.add(s)
    expect(h.prev('draft')).toBe('four')
    expect(h.prev('four')).toBe('three')
    expect(h.prev('three')).toBe('two')
    expect(h.prev('two')).toBeUndefined() // 'one' fell off (max 3), 'two' was not doubled
    expect(h.next()).toBe('three')
    expect(h.next()).toBe('four')
    expect(h.next()).toBe('draft')
    expect(h.next()).toBeUndefined()
  })
})

describe('Tab completion', () => {
  const sources: CompletionSources = {
    commands: ['help', 'join', 'j', 'me', 'msg', 'names', 'nick', 'query'],
    rooms: ['#lobby', '#linux', '#dev'],
    nicks: ['bob', 'Bea', 'alice'],
    argKind: c => ({ join: 'room', query: 'nick', msg: 'target', help: 'command' } as const)[c]
  }

  function tab (text: string, times = 1, backwards = false, cursor?: number): string {
    const l = line(text, cursor)
    const c = new Completer()
    for (let i = 0; i < times; i++) c.complete(l, sources, backwards)
    return l.text
  }

  it('completes commands, rooms, nicks and @nicks, cycling on repeated Tab', () => {
    expect(tab('/jo')).toBe('/join ')
    expect(tab('/m')).toBe('/me ')
    expect(tab('/m', 2)).toBe('/msg ')
    expect(tab('/m', 3)).toBe('/me ')
    expect(tab('/m', 1, true)).toBe('/msg ')
    expect(tab('see #l')).toBe('see #lobby ')
    expect(tab('see #l', 2)).toBe('see #linux ')
    expect(tab('b')).toBe('bob: ')
    expect(tab('b', 2)).toBe('Bea: ')
    expect(tab('hi B')).toBe('hi bob ')
    expect(tab('ask @a')).toBe('ask @alice ')
  })

  it('completes a command\'s first argument by what it takes', () => {
    expect(tab('/join ')).toBe('/join #lobby ')
    expect(tab('/query ')).toBe('/query @bob ')
    expect(tab('/msg ', 4)).toBe('/msg @bob ')
    expect(tab('/help n')).toBe('/help names ')
  })

  it('completes in the middle of a line and leaves the rest alone', () => {
    expect(tab('tell al about it', 1, false, 7)).toBe('tell alice about it')
  })

  it('does nothing when nothing matches', () => {
    const l = line('zzz')
    expect(new Completer().complete(l, sources)).toBe(false)
    expect(l.text).toBe('zzz')
    expect(tab('')).toBe('')
  })
})

describe('key bindings', () => {
  const key = (full: string, extra: Partial<Key> = {}): Key => ({ full, name: full, ctrl: full.startsWith('C-'), meta: full.startsWith('M-'), shift: false, ...extra })

  it('maps irssi/weechat keys to actions', () => {
    expect(actionFor(undefined, key('M-1'))).toEqual({ type: 'buffer', index: 0 })
    expect(actionFor(undefined, key('M-9'))).toEqual({ type: 'buffer', index: 8 })
    expect(actionFor(undefined, key('M-0'))).toEqual({ type: 'buffer', index: 9 })
    expect(actionFor(undefined, key('M-a'))).toEqual({ type: 'buffer-active' })
    expect(actionFor('\u000e', key('C-n'))).toEqual({ type: 'buffer-next' })
    expect(actionFor('\u0010', key('C-p'))).toEqual({ type: 'buffer-prev' })
    expect(actionFor(undefined, key('pageup'))).toEqual({ type: 'page-up' })
    expect(actionFor('\t', key('tab'))).toEqual({ type: 'complete' })
    expect(actionFor('\u0003', key('C-c'))).toEqual({ type: 'quit' })
  })

  it('submits once per Enter, though blessed reports it twice', () => {
    expect(actionFor('\r', key('return'))).toEqual({ type: 'submit' })
    expect(actionFor('\r', key('enter'))).toBeUndefined()
  })

  it('inserts printable characters, CJK included, and ignores other control keys', () => {
    expect(actionFor('a', key('a'))).toEqual({ type: 'insert', text: 'a' })
    expect(actionFor(' ', key('space'))).toEqual({ type: 'insert', text: ' ' })
    expect(actionFor('中', { full: '中', ctrl: false, meta: false, shift: false })).toEqual({ type: 'insert', text: '中' })
    expect(actionFor('\u0007', key('C-g'))).toBeUndefined()
    expect(actionFor(undefined, key('f5'))).toBeUndefined()
  })
})
