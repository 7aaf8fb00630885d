/** The chat UI's state as a pure model: buffers, counters, scrollback, layout of lines. */
import { beforeAll, describe, expect, it } from 'vitest'
import { ChatModel, routeMessage, SYSTEM_BUFFER, Activity } from '../../tui/model.ts'
import type { ChatBuffer } from '../../tui/model.ts'
import { displayWidth } from '../../tui/blessed.ts'
import { NickRegistry, defaultNick, mentions, nickColour } from '../../tui/nicks.ts'
import { wrap } from '../../tui/format.ts'
import type { StyledLine } from '../../tui/format.ts'
import type { Message } from '../../src/message.ts'

const ME = '1MeMeMeMeMeMeMeMeMeMeMeMeMeMeMeMe'
const ALICE = '1AL1CEaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const MALLORY = '1MALLoRYbbbbbbbbbbbbbbbbbbbbbbbbb'
const T0 = Date.UTC(2026, 10, 23, 9, 30) // Monday 09:30 UTC

let seq = 0
function chat (o: Partial<Message> & { text: string }): Message {
  seq++
  return {
    msgId: seq.toString(16).padStart(32, '0'),
    target: '00'.repeat(16),
    targetName: '#lobby',
    kind: 'chat',
    payload: '',
    encoding: 'utf8',
    nick: 'alice',
    account: ALICE,
    verified: true,
    hops: 1,
    ttl: 6,
    timestamp: T0,
    receivedAt: T0,
    action: false,
    ...o
  }
}

/** A direct message as the app hands it over: received from `account`, or our own to `peer`. */
function dm (o: Partial<Message> & { text: string, peer: string }): Message {
  return chat({ kind: 'direct', encrypted: true, targetName: `acct:${ME}`, ...o })
}

function model (opts: { maxEntries?: number } = {}): ChatModel {
  const m = new ChatModel({ measure: displayWidth, account: ME, nick: 'me', now: () => T0, ...opts })
  m.setPane(60, 10)
  return m
}

const text = (line: StyledLine): string => line.map(s => s.text).join('')
const screen = (m: ChatModel, b?: ChatBuffer): string[] => m.view(b).lines.map(text)

beforeAll(() => { process.env.TZ = 'UTC' })

describe('routing delivered messages to buffers', () => {
  it('files room chat by room; plain chat to a nick or account (readable by anyone) in the system buffer', () => {
    expect(routeMessage(chat({ text: 'x', targetName: '#Dev' }))).toEqual({ name: '#dev', kind: 'room' })
    expect(routeMessage(chat({ text: 'x', targetName: '@me', nick: 'Alice' }))).toEqual({ name: SYSTEM_BUFFER, kind: 'system' })
    expect(routeMessage(chat({ text: 'x', targetName: `acct:${ME}` }))).toEqual({ name: SYSTEM_BUFFER, kind: 'system' })
    expect(routeMessage(chat({ text: 'x', kind: 'data' }))).toEqual({ name: SYSTEM_BUFFER, kind: 'system' })
    expect(routeMessage(chat({ text: 'x', kind: 'balance_request' }))).toBeUndefined()
  })

  it('opens a room or query buffer for its first message, in arrival order', () => {
    const m = model()
    m.receive(chat({ text: 'hi', targetName: '#dev' }))
    m.receive(dm({ text: 'psst', nick: 'bob', account: MALLORY, peer: MALLORY }))
    expect(m.buffers.map(b => b.name)).toEqual([SYSTEM_BUFFER, '#dev', '@bob'])
    expect(screen(m, m.find('@bob'))).toContain('09:30 <bob> psst')
  })

  it('keeps one query per key: our own lines join it, a second key on the nick gets its own', () => {
    const m = model()
    const bob = m.receive(dm({ text: 'from the real bob', nick: 'bob', account: ALICE, peer: ALICE }))!
    expect(bob.peer).toBe(ALICE)
    // Our reply: sent by us, to bob's key, lands in the same buffer.
    expect(m.receive(dm({ text: 'hi bob', nick: 'me', account: ME, peer: ALICE, targetName: `acct:${ALICE}` }))).toBe(bob)
    const other = m.receive(dm({ text: 'i am bob too', nick: 'bob', account: MALLORY, peer: MALLORY }))!
    expect(other).not.toBe(bob)
    expect(other.name).toBe(`@bob(${MALLORY.slice(0, 6).toLowerCase()})`)
    expect(screen(m, bob).join('\n')).toMatch(/<bob\(1AL1CE\)> from the real bob[\s\S]*<me> hi bob/)
    expect(screen(m, bob).join('\n')).not.toContain('i am bob too')
    // A conversation reloaded at start is read; a query for an unheard key is named by it.
    const quiet = m.loadDirect(ME.replace('Me', 'Yo'), [dm({ text: 'old line', nick: 'me', account: ME, peer: ME.replace('Me', 'Yo') })])
    expect([quiet.name, quiet.unread]).toEqual([`acct:${ME.slice(0, 6).toLowerCase()}`.replace('me', 'yo'), 0])
  })
})

describe('unread counters and activity', () => {
  it('counts unread lines and mentions in other buffers; switching there reads them', () => {
    const m = model()
    m.open('#lobby', 'room')
    m.open('#dev', 'room')
    m.switchTo('#lobby')
    m.receive(chat({ text: 'anyone here?', targetName: '#dev' }))
    m.receive(chat({ text: 'hey ME: look', targetName: '#dev' }))
    m.receive(chat({ text: 'unmentioned memes', targetName: '#dev' })) // "memes" is not "me"
    m.receive(chat({ text: 'mine', targetName: '#dev', nick: 'me', account: ME })) // own lines are read
    const dev = m.find('#dev')!
    expect([dev.unread, dev.highlights, dev.activity]).toEqual([3, 1, Activity.highlight])
    m.receive(chat({ text: 'here, in view', targetName: '#lobby' }))
    expect(m.find('#lobby')!.unread).toBe(0)
    m.switchTo('#dev')
    expect([dev.unread, dev.highlights, dev.activity]).toEqual([0, 0, Activity.none])
  })

  it('Alt+A goes to a mention or direct message before plain chatter, then to the rest', () => {
    const m = model()
    for (const r of ['#a', '#b', '#c']) m.open(r, 'room')
    m.switchTo('#a')
    m.receive(chat({ text: 'chatter', targetName: '#b' }))
    m.receive(dm({ text: 'direct', nick: 'carol', account: MALLORY, peer: MALLORY }))
    m.notice('peer connected')
    expect(m.nextActive()).toBe(true)
    expect(m.current.name).toBe('@carol')
    expect(m.nextActive()).toBe(true)
    expect(m.current.name).toBe('#b')
    expect(m.nextActive()).toBe(true)
    expect(m.current.name).toBe(SYSTEM_BUFFER)
    expect(m.nextActive()).toBe(false)
  })

  it('switches by number, next and previous (wrapping), and closes buffers but not the system one', () => {
    const m = model()
    m.open('#a', 'room')
    m.open('@b', 'query')
    expect(m.switchTo(2)).toBe(true)
    expect(m.current.name).toBe('@b')
    m.next()
    expect(m.current.name).toBe(SYSTEM_BUFFER)
    m.prev()
    expect(m.current.name).toBe('@b')
    expect(m.switchTo(7)).toBe(false)
    expect(m.close('@b')).toBe(true)
    expect(m.current.name).toBe('#a')
    expect(m.close(SYSTEM_BUFFER)).toBe(false)
  })
})

describe('scrollback', () => {
  it('shows each message once, whether it came from the history, live, or both', () => {
    const m = model()
    const first = chat({ text: 'from the history' })
    m.loadHistory('#lobby', 'room', [first])
    m.receive(first)
    m.receive(chat({ text: 'live' }))
    expect(m.find('#lobby')!.entries.map(e => e.text)).toEqual(['from the history', 'live'])
    expect(m.find('#lobby')!.unread).toBe(1) // history counts as read
  })

  it('files lines replayed from a neighbour\'s store (DESIGN §10) at the time they were said, with the time drawn as history', () => {
    const m = model()
    m.receive(chat({ text: 'live before', receivedAt: T0 - 30 * 60_000, timestamp: T0 - 30 * 60_000 }))
    m.receive(chat({ text: 'live now', receivedAt: T0 + 60_000, timestamp: T0 + 60_000 }))
    // Replayed now, said at 09:10 and 09:05 (answers come oldest first, but order must not matter).
    m.receive(chat({ text: 'missed 2', history: true, timestamp: T0 - 20 * 60_000, receivedAt: T0 + 2 * 60_000 }))
    m.receive(chat({ text: 'missed 1', history: true, timestamp: T0 - 25 * 60_000, receivedAt: T0 + 2 * 60_000 }))
    expect(screen(m, m.find('#lobby'))).toEqual([
      '─── Monday, 23 November 2026 ───',
      '09:00 <alice> live before',
      '09:05 <alice> missed 1',
      '09:10 <alice> missed 2',
      '09:31 <alice> live now'
    ])
    const roles = m.view(m.find('#lobby')).lines.slice(1).map(l => l[0]!.role)
    expect(roles).toEqual(['time', 'history', 'history', 'time'])
    // Reloaded from the stored history after a restart (no flag): received long after it was
    // written, so it was a replay, and is shown as one again.
    const again = model()
    again.loadHistory('#lobby', 'room', [chat({ text: 'missed 1', timestamp: T0 - 25 * 60_000, receivedAt: T0 + 2 * 60_000 }), chat({ text: 'live now', receivedAt: T0 + 60_000, timestamp: T0 + 60_000 })])
    expect(screen(again, again.find('#lobby')).slice(1)).toEqual(['09:05 <alice> missed 1', '09:31 <alice> live now'])
    expect(again.view(again.find('#lobby')).lines[1]![0]!.role).toBe('history')
  })

  it('keeps a few thousand entries per buffer, dropping the oldest', () => {
    const m = model({ maxEntries: 100 })
    m.open('#lobby', 'room')
    m.switchTo('#lobby')
    for (let i = 0; i < 1000; i++) m.receive(chat({ text: `line ${i}` }))
    const b = m.find('#lobby')!
    expect(b.entries.length).toBeGreaterThanOrEqual(100)
    expect(b.entries.length).toBeLessThanOrEqual(110)
    expect(b.entries.at(-1)!.text).toBe('line 999')
    expect(b.ids.size).toBe(b.entries.length)
    expect(screen(m).at(-1)).toBe('09:30 <alice> line 999')
  })

  it('PgUp shows older lines with -MORE(n)-, keeps them still while messages arrive, PgDn follows again', () => {
    const m = model()
    m.open('#lobby', 'room')
    m.switchTo('#lobby')
    for (let i = 0; i < 50; i++) m.receive(chat({ text: `line ${i}` }))
    expect(m.view().more).toBe(0)
    m.pageUp()
    const before = screen(m)
    expect(before.at(-1)).toBe('09:30 <alice> line 41')
    expect(m.view().more).toBe(8)
    m.receive(chat({ text: 'new while reading' }))
    expect(screen(m)).toEqual(before)
    expect(m.view().more).toBe(9)
    m.pageDown()
    m.pageDown()
    expect(m.view().more).toBe(0)
    expect(screen(m).at(-1)).toBe('09:30 <alice> new while reading')
  })

  it('stops at the top of the scrollback', () => {
    const m = model()
    m.open('#lobby', 'room')
    m.switchTo('#lobby')
    for (let i = 0; i < 15; i++) m.receive(chat({ text: `line ${i}` }))
    for (let i = 0; i < 10; i++) m.pageUp()
    expect(screen(m)[0]).toBe('─── Monday, 23 November 2026 ───')
    expect(screen(m)[1]).toBe('09:30 <alice> line 0')
    m.pageDown()
    expect(screen(m)[0]).not.toBe('─── Monday, 23 November 2026 ───')
  })

  it('/clear empties a buffer', () => {
    const m = model()
    m.receive(chat({ text: 'x' }))
    const b = m.find('#lobby')!
    m.clear(b)
    expect(screen(m, b)).toEqual([])
  })
})

describe('lines as the chat pane shows them', () => {
  it('HH:MM timestamps, <nick> text, * nick action, -!- notices, and a line where the day changes', () => {
    const m = model()
    m.receive(chat({ text: 'hello' }))
    m.receive(chat({ text: 'waves', action: true, timestamp: T0 + 60_000, receivedAt: T0 + 60_000 }))
    m.notice('peer …abc connected', 'info', m.find('#lobby'))
    m.receive(chat({ text: 'next day', timestamp: T0 + 24 * 3600_000, receivedAt: T0 + 24 * 3600_000 }))
    expect(screen(m, m.find('#lobby'))).toEqual([
      '─── Monday, 23 November 2026 ───',
      '09:30 <alice> hello',
      '09:31 * alice waves',
      '09:30 -!- peer …abc connected',
      '─── Tuesday, 24 November 2026 ───',
      '09:30 <alice> next day'
    ])
  })

  it('names the signer once a second key uses the same nick (also on earlier lines), and marks unverified lines', () => {
    const m = model()
    m.receive(chat({ text: 'I am alice' }))
    expect(screen(m, m.find('#lobby')).at(-1)).toBe('09:30 <alice> I am alice')
    m.receive(chat({ text: 'no, I am', nick: 'ALICE', account: MALLORY }))
    m.receive(chat({ text: 'unsigned', nick: 'carol', account: undefined, verified: false }))
    m.receive(chat({ text: 'forged', nick: 'dave', verified: false }))
    m.receive(chat({ text: 'no nick', nick: undefined, account: MALLORY }))
    expect(screen(m, m.find('#lobby')).slice(1)).toEqual([
      '09:30 <alice(1AL1CE)> I am alice',
      '09:30 <ALICE(1MALLo)> no, I am',
      '09:30 <?carol> unsigned',
      '09:30 <?dave> forged',
      '09:30 <1MALLo> no nick'
    ])
  })

  it('wraps long lines under their text, within the pane, CJK and emoji included', () => {
    const m = model()
    m.setPane(30, 20)
    m.receive(chat({ text: 'the quick brown fox jumps over the lazy dog again and again' }))
    m.receive(chat({ text: '中文字符很宽所以要小心地换行才能对齐😀😀😀😀😀😀' }))
    const lines = screen(m, m.find('#lobby'))
    expect(lines.slice(1, 5)).toEqual([
      '09:30 <alice> the quick brown',
      '              fox jumps over',
      '              the lazy dog',
      '              again and again'
    ])
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(30)
    expect(lines.slice(5).join('').replace(/ /g, '')).toContain('中文字符很宽所以要小心地换行才能对齐😀😀😀😀😀😀')
  })

  it('renders peer text inert: no escapes or control characters, zalgo trimmed, 10 KB cut short', () => {
    const m = model()
    m.setPane(80, 100)
    m.receive(chat({ text: 'a\u001b[2J\u001b]0;PWNED\u0007b\u0007c\r\nd\u202ee{red-bg}x{/red-bg}', nick: 'eve' }))
    m.receive(chat({ text: 'z' + '\u0301'.repeat(50) + 'z\u200b\u00ad\ufeff👨\u200d👩', nick: 'eve' }))
    m.receive(chat({ text: 'A'.repeat(10_240), nick: 'eve' }))
    const b = m.find('#lobby')!
    expect(b.entries.map(e => e.text).slice(0, 2)).toEqual(['abc de{red-bg}x{/red-bg}', 'z\u0301\u0301z👨\u200d👩'])
    const long = b.entries[2]!.text
    expect(long).toMatch(/^A{2000} … \(8240 more characters not shown\)$/)
    expect(screen(m, b).join('\n')).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
  })
})

describe('nicks', () => {
  it('colours a nick the same way every time, whatever its case', () => {
    expect(nickColour('Alice')).toBe(nickColour('alice'))
    expect(new Set(['alice', 'bob', 'carol', 'dave', 'eve', 'frank', 'grace'].map(nickColour)).size).toBeGreaterThan(3)
  })

  it('finds mentions as words, case-insensitively', () => {
    expect(mentions('hey Alice: hi', 'alice')).toBe(true)
    expect(mentions('thanks alice.', 'alice')).toBe(true)
    expect(mentions('@alice', 'alice')).toBe(true)
    expect(mentions('malice', 'alice')).toBe(false)
    expect(mentions('alice_2 is here', 'alice')).toBe(false)
    expect(mentions('anything', undefined)).toBe(false)
  })

  it('derives a default nick from the user name, or a guest name', () => {
    expect(defaultNick('jane.doe', ME)).toBe('jane.doe')
    expect(defaultNick('Jane Doe (admin)', ME)).toBe('Jane_Doe_admin')
    expect(defaultNick('root', ME)).toBe('guest-MeMe')
    expect(defaultNick('ßü', ME)).toBe('guest-MeMe')
    expect(defaultNick(undefined, ME)).toBe('guest-MeMe')
  })

  it('remembers a bounded number of nicks', () => {
    const r = new NickRegistry()
    r.note('alice', ALICE)
    r.note('Alice', MALLORY)
    expect(r.shared('ALICE')).toBe(true)
    for (let i = 0; i < 20_000; i++) r.note(`n${i}`, ALICE)
    expect(r.shared('alice')).toBe(false) // forgotten, not grown without bound
  })

  it('lists who was heard recently, most recent first, and completes their nicks', () => {
    const m = model()
    m.receive(chat({ text: 'a', nick: 'old', receivedAt: T0 - 48 * 3600_000 }))
    m.receive(chat({ text: 'b', nick: 'alice' }))
    m.receive(chat({ text: 'c', nick: 'bob', receivedAt: T0 + 1000 }))
    m.receive(chat({ text: 'd', nick: 'me', account: ME, receivedAt: T0 + 2000 }))
    const b = m.find('#lobby')!
    expect(m.heardSince(b, T0 - 24 * 3600_000).map(h => h.nick)).toEqual(['me', 'bob', 'alice'])
    expect(m.completionNicks(b)).toEqual(['bob', 'alice', 'old'])
  })
})

describe('wrap', () => {
  it('breaks at spaces, and inside words longer than a line', () => {
    expect(wrap('aaa bbb ccc', 7, displayWidth)).toEqual(['aaa bbb', 'ccc'])
    expect(wrap('abcdefghij', 4, displayWidth)).toEqual(['abcd', 'efgh', 'ij'])
    expect(wrap('中中中', 4, displayWidth)).toEqual(['中中', '中'])
    expect(wrap('', 4, displayWidth)).toEqual([''])
  })
})
