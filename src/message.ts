/**
 * The `Message` record of DESIGN §6: how a delivered TMsg is shown to programs (RPC), stored
 * (history) and rendered (TUI). Bytes are hex; the payload is UTF-8 text when it is valid
 * UTF-8, else base64, and `encoding` says which.
 */
import { isUtf8 } from 'node:buffer'
import { Kind, kindName, toHex } from './wire/tmsg.ts'
import type { TMsg } from './wire/tmsg.ts'
import { decodeChat } from './chat/codec.ts'
import { accountOf } from './identity.ts'

export interface Message {
  msgId: string
  target: string
  targetName?: string
  kind: string
  payload: string
  encoding: 'utf8' | 'base64'
  sender?: string
  account?: string
  nick?: string
  /** CHAT messages: the decoded text and /me flag. */
  text?: string
  action?: boolean
  /** Direct messages (DESIGN §9): the payload was sealed end to end; `text` is what was inside. */
  encrypted?: boolean
  /** Direct messages: the other party's account (the sender, or the recipient of our own). */
  peer?: string
  verified: boolean
  hops: number
  ttl: number
  timestamp: number
  receivedAt: number
  replyTo?: string
  /** Replayed from a neighbour's store (DESIGN §10) rather than heard live: shown as history. */
  history?: boolean
}

export interface MessageMeta {
  verified: boolean
  receivedAt: number
  targetName?: string
}

export function payloadText (payload: Uint8Array): { payload: string, encoding: 'utf8' | 'base64' } {
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  return isUtf8(b) ? { payload: b.toString('utf8'), encoding: 'utf8' } : { payload: b.toString('base64'), encoding: 'base64' }
}

export function toMessage (msg: TMsg, meta: MessageMeta): Message {
  const out: Message = {
    msgId: toHex(msg.msgId),
    target: toHex(msg.target),
    kind: kindName(msg.kind),
    ...payloadText(msg.payload),
    verified: meta.verified,
    hops: msg.hops,
    ttl: msg.ttl,
    timestamp: msg.timestamp,
    receivedAt: meta.receivedAt
  }
  if (meta.targetName !== undefined) out.targetName = meta.targetName
  if (msg.sender.length > 0) {
    out.sender = toHex(msg.sender)
    try {
      out.account = accountOf(msg.sender)
    } catch {}
  }
  if (msg.replyTo.length > 0) out.replyTo = toHex(msg.replyTo)
  if (msg.kind === Kind.CHAT) {
    const chat = decodeChat(msg.payload)
    if (chat !== undefined) {
      if (chat.nick !== '') out.nick = chat.nick
      out.text = chat.text
      out.action = chat.action
    }
  }
  return out
}
