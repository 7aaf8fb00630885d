/**
 * Target names <-> 16-byte target ids (DESIGN §2). A target is MD5(utf8(canonical name)).
 *
 * | kind    | canonical name        | short text form |
 * | channel | chan:#lobby           | #lobby          |
 * | nick    | nick:alice            | @alice          |
 * | account | acct:<P2PKH address>  | acct:<address>  |
 * | raw     | —                     | 32 hex chars    |
 */
import { hash } from 'node:crypto'
import { Utils } from '@bsv/sdk/primitives'
import { isValidNick, NICK_RE } from './shared/nicks.js'

/** The nick rule is shared with the front ends, the web page included (shared/nicks.js). */
export { isValidNick }

export type TargetKind = 'channel' | 'nick' | 'account' | 'raw'

export interface Target {
  kind: TargetKind
  /** Canonical name (`chan:#lobby`), or the hex id for a raw target. */
  name: string
  /** The short text form users type and see (`#lobby`, `@alice`, `acct:1…`, hex). */
  short: string
  /** 16-byte id on the wire. */
  id: Uint8Array
  /** The id as 32 lower-case hex chars. */
  hex: string
}

/** Text that names no valid target; the message says what was expected. */
export class TargetSyntaxError extends Error {
  static name = 'TargetSyntaxError'
  override name = 'TargetSyntaxError'
}

const CHANNEL_RE = /^#[a-z0-9_.-]{1,50}$/
const HEX_ID_RE = /^[0-9a-fA-F]{32}$/

export function targetIdOf (canonicalName: string): Uint8Array {
  return hash('md5', canonicalName, 'buffer')
}

function make (kind: TargetKind, name: string, short: string): Target {
  const id = targetIdOf(name)
  return { kind, name, short, id, hex: Buffer.from(id).toString('hex') }
}

/** `#Lobby` or `lobby` → channel target `chan:#lobby`. */
export function channelTarget (room: string): Target {
  const r = (room.startsWith('#') ? room : '#' + room).toLowerCase()
  if (!CHANNEL_RE.test(r)) throw new TargetSyntaxError(`"${room}" is not a room name: # followed by 1-50 of a-z 0-9 _ . -`)
  return make('channel', 'chan:' + r, r)
}

/** `@Alice` or `alice` → nick target `nick:alice`. */
export function nickTarget (nick: string): Target {
  const n = nick.startsWith('@') ? nick.slice(1) : nick
  if (!NICK_RE.test(n)) throw new TargetSyntaxError(`"${nick}" is not a nick: 1-32 of A-Z a-z 0-9 _ . -`)
  const lower = n.toLowerCase()
  return make('nick', 'nick:' + lower, '@' + lower)
}

/** True for a base58check mainnet P2PKH address. */
export function isAccountAddress (address: string): boolean {
  try {
    const { prefix, data } = Utils.fromBase58Check(address)
    return (prefix as number[]).length === 1 && (prefix as number[])[0] === 0 && (data as number[]).length === 20
  } catch {
    return false
  }
}

/** `acct:<address>` or a bare address → account target. */
export function accountTarget (account: string): Target {
  const a = account.startsWith('acct:') ? account.slice(5) : account
  if (!isAccountAddress(a)) throw new TargetSyntaxError(`"${account}" is not a BSV P2PKH mainnet address`)
  return make('account', 'acct:' + a, 'acct:' + a)
}

/** A raw 16-byte target given as 32 hex chars (or bytes). */
export function rawTarget (id: string | Uint8Array): Target {
  const hex = typeof id === 'string' ? id.toLowerCase() : Buffer.from(id).toString('hex')
  if (!HEX_ID_RE.test(hex)) throw new TargetSyntaxError(`"${hex}" is not a raw target: 32 hex characters`)
  return { kind: 'raw', name: hex, short: hex, id: Buffer.from(hex, 'hex'), hex }
}

/**
 * Parses any accepted text form: `#room`, `chan:#room`, `@nick`, `nick:name`,
 * `acct:<address>`, or 32 hex chars.
 */
export function parseTarget (text: string): Target {
  const t = text.trim()
  if (t.startsWith('#')) return channelTarget(t)
  if (t.startsWith('chan:')) return channelTarget(t.slice(5))
  if (t.startsWith('@')) return nickTarget(t)
  if (t.startsWith('nick:')) return nickTarget(t.slice(5))
  if (t.startsWith('acct:')) return accountTarget(t)
  if (HEX_ID_RE.test(t)) return rawTarget(t)
  throw new TargetSyntaxError(`"${text}" is not a target: use #room, @nick, acct:<address> or 32 hex characters`)
}

