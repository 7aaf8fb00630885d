/** The CHAT payload: `Chat { nick, text, action }` from proto/tmsg.proto. */
import { ChatType } from '../wire/proto.ts'

export interface ChatPayload {
  nick: string
  text: string
  action: boolean
}

export function encodeChat (c: ChatPayload): Uint8Array {
  return ChatType.encode({ nick: c.nick, text: c.text, action: c.action }).finish()
}

/** Decodes a CHAT payload; undefined when it is not one (peers send what they like). */
export function decodeChat (payload: Uint8Array): ChatPayload | undefined {
  try {
    const c = ChatType.decode(payload) as unknown as Partial<ChatPayload>
    return { nick: typeof c.nick === 'string' ? c.nick : '', text: typeof c.text === 'string' ? c.text : '', action: c.action === true }
  } catch {
    return undefined
  }
}
