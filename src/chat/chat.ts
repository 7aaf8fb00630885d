/**
 * Chat on top of the node: rooms are channel targets where every line is a signed CHAT TMsg
 * carrying `Chat { nick, text, action }`; anything addressed to a person (`@nick`,
 * `acct:<address>`) is a sealed direct message (direct.ts).
 */
import { EventEmitter } from 'node:events'
import { channelTarget, nickTarget } from '../targets.ts'
import type { Target } from '../targets.ts'
import { Kind } from '../wire/tmsg.ts'
import type { SendResult } from '../node/node.ts'
import { encodeChat } from './codec.ts'

/** What the chat service needs from the app: subscriptions that persist, and sending. */
export interface ChatHost {
  /**
   * `persist: false` for subscriptions derived from settings (the @nick one); `historyFrom`:
   * no history older than this (Node.subscribe).
   */
  subscribe: (target: Target, persist?: boolean, historyFrom?: number) => boolean
  unsubscribe: (target: Target) => boolean
  subscriptions: () => Target[]
  send: (o: { target: Uint8Array, payload: Uint8Array, kind: number }) => SendResult
  /** Seals and sends a direct message to `@nick`, `acct:<address>` or an address. */
  sendDirect: (to: string, nick: string, text: string, action: boolean) => SendResult
  /** Persisted settings. */
  getSetting: (key: string) => string | undefined
  setSetting: (key: string, value: string) => void
}

/** The setting that says which nick this node took when: `{"nick":"bob","at":<ms>}`. */
const NICK_TAKEN = 'nick_taken'

/** Changes, whoever made them (RPC or the chat UI), so every front end can follow. */
interface ChatEvents {
  join: [Target]
  part: [Target]
  nick: [string]
}

export class ChatService extends EventEmitter<ChatEvents> {
  private readonly host: ChatHost
  private currentNick: string | undefined

  /** `nick` from the command line wins over the one saved by an earlier `chat_nick`. */
  constructor (host: ChatHost, nick?: string) {
    super()
    this.host = host
    const initial = nick ?? host.getSetting('nick')
    if (initial !== undefined) this.setNick(initial, nick === undefined)
  }

  get nick (): string | undefined {
    return this.currentNick
  }

  /** Changes the nick and listens to `@nick` instead of the old one. */
  setNick (nick: string, persist = true): void {
    const next = nickTarget(nick) // validates
    if (this.currentNick !== undefined) this.host.unsubscribe(nickTarget(this.currentNick))
    this.currentNick = nick.startsWith('@') ? nick.slice(1) : nick
    this.host.subscribe(next, false, this.takenAt(this.currentNick))
    if (persist) this.host.setSetting('nick', this.currentNick)
    this.emit('nick', this.currentNick)
  }

  /**
   * When this node took `nick`: what was sent to it before went to whoever held it then, so it
   * is not fetched as history. Kept across restarts, so a node that keeps its nick still gets
   * what was sent to it while it was off.
   */
  private takenAt (nick: string): number {
    const same = (other: unknown): boolean => typeof other === 'string' && nickTarget(other).hex === nickTarget(nick).hex
    const saved = this.host.getSetting(NICK_TAKEN)
    if (saved !== undefined) {
      try {
        const t = JSON.parse(saved) as { nick?: unknown, at?: unknown }
        if (same(t.nick) && typeof t.at === 'number') return t.at
      } catch {}
    }
    // A node from before this setting held its saved nick already: its day of history is its own.
    const at = saved === undefined && same(this.host.getSetting('nick')) ? 0 : Date.now()
    this.host.setSetting(NICK_TAKEN, JSON.stringify({ nick, at }))
    return at
  }

  join (room: string): Target {
    const t = channelTarget(room)
    this.host.subscribe(t)
    this.emit('join', t)
    return t
  }

  part (room: string): boolean {
    const t = channelTarget(room)
    const left = this.host.unsubscribe(t)
    if (left) this.emit('part', t)
    return left
  }

  rooms (): Target[] {
    return this.host.subscriptions().filter(t => t.kind === 'channel')
  }

  /** Sends to `#room`, or privately to `@nick` / `acct:<address>` (sealed, see direct.ts). */
  send (to: string, text: string, action = false): SendResult {
    const t = to.trim()
    const nick = this.currentNick ?? ''
    if (!t.startsWith('#') && !t.startsWith('chan:')) return this.host.sendDirect(t, nick, text, action)
    const target = channelTarget(t.startsWith('chan:') ? t.slice(5) : t)
    return this.host.send({ target: target.id, payload: encodeChat({ nick, text, action }), kind: Kind.CHAT })
  }
}
