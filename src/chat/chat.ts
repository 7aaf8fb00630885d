/**
 * Chat on top of the node: rooms are channel targets, direct messages go to nick targets,
 * and every message is a signed CHAT TMsg carrying `Chat { nick, text, action }`.
 */
import { EventEmitter } from 'node:events'
import { channelTarget, nickTarget, parseTarget, TargetSyntaxError } from '../targets.ts'
import type { Target } from '../targets.ts'
import { Kind } from '../wire/tmsg.ts'
import type { SendResult } from '../node/node.ts'
import { encodeChat } from './codec.ts'

/** What the chat service needs from the app: subscriptions that persist, and sending. */
export interface ChatHost {
  /** `persist: false` for subscriptions derived from settings (the @nick one). */
  subscribe: (target: Target, persist?: boolean) => boolean
  unsubscribe: (target: Target) => boolean
  subscriptions: () => Target[]
  send: (o: { target: Uint8Array, payload: Uint8Array, kind: number }) => SendResult
  /** Persisted settings. */
  getSetting: (key: string) => string | undefined
  setSetting: (key: string, value: string) => void
}

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
    this.host.subscribe(next, false)
    if (persist) this.host.setSetting('nick', this.currentNick)
    this.emit('nick', this.currentNick)
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

  /** Sends to `#room` or `@nick`. */
  send (to: string, text: string, action = false): SendResult {
    const target = parseTarget(to)
    if (target.kind !== 'channel' && target.kind !== 'nick') throw new TargetSyntaxError(`chat goes to a #room or an @nick, not "${to}"`)
    return this.host.send({ target: target.id, payload: encodeChat({ nick: this.currentNick ?? '', text, action }), kind: Kind.CHAT })
  }
}
