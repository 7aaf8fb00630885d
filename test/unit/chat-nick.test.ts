/**
 * The chat service's @nick subscription: history for a nick starts when this node took it
 * (what was sent to it before went to its last holder), and stays there across restarts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ChatService } from '../../src/chat/chat.ts'
import type { ChatHost } from '../../src/chat/chat.ts'
import type { Target } from '../../src/targets.ts'

function host (settings: Map<string, string>): ChatHost & { from: Map<string, number | undefined> } {
  const from = new Map<string, number | undefined>()
  return {
    from,
    subscribe: (t: Target, _persist?: boolean, historyFrom?: number) => { from.set(t.short, historyFrom); return true },
    unsubscribe: () => true,
    subscriptions: () => [],
    send: () => { throw new Error('not sending') },
    sendDirect: () => { throw new Error('not sending') },
    getSetting: k => settings.get(k),
    setSetting: (k, v) => { settings.set(k, v) }
  }
}

describe('the @nick subscription', () => {
  afterEach(() => { vi.useRealTimers() })

  it('asks history from when the nick was taken, kept across restarts, renewed when taken again', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const settings = new Map<string, string>()
    vi.setSystemTime(1_000_000)
    const h = host(settings)
    const chat = new ChatService(h, 'alice')
    expect(h.from.get('@alice')).toBe(1_000_000)

    vi.setSystemTime(2_000_000)
    chat.setNick('bob')
    expect(h.from.get('@bob')).toBe(2_000_000) // not the day before: that was the old bob's

    vi.setSystemTime(3_000_000) // a restart, the nick saved by chat_nick
    const again = host(settings)
    void new ChatService(again)
    expect(again.from.get('@bob')).toBe(2_000_000) // what came while off is still ours

    vi.setSystemTime(4_000_000)
    chat.setNick('carol')
    chat.setNick('Bob') // the same nick (case aside), held by someone else in between
    expect(h.from.get('@Bob') ?? h.from.get('@bob')).toBe(4_000_000)
  })

  it('a node from before the setting keeps the history of the nick it had saved', () => {
    const h = host(new Map([['nick', 'dave']]))
    void new ChatService(h)
    expect(h.from.get('@dave')).toBe(0)
  })
})
