/**
 * How people are named on screen (DESIGN §1): nicks are case-insensitive claims, accounts are
 * who actually signed. A nick is shown alone while one key uses it; once a second key uses
 * the same nick, every line of it says who signed it: `alice(1Mo5ip)`.
 */
import { isValidNick } from '../src/targets.ts'

/** Characters of an account shown next to a shared nick: enough to tell two keys apart. */
export const SHORT_ACCOUNT_LENGTH = 6
/** Nick colours the view offers; a nick always maps to the same one. */
export const NICK_COLOURS = 10
/** Nicks remembered for telling shared ones apart; a flood of made-up nicks cannot grow it further. */
const MAX_KNOWN_NICKS = 10_000

export function shortAccount (account: string): string {
  return account.slice(0, SHORT_ACCOUNT_LENGTH)
}

/** Case-insensitive nick key. */
export function nickKey (nick: string): string {
  return nick.toLowerCase()
}

/** A stable colour index for a name (FNV-1a), the same in every session and on every machine. */
export function nickColour (name: string): number {
  let h = 0x811c9dc5
  for (const c of nickKey(name)) {
    h ^= c.codePointAt(0)!
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % NICK_COLOURS
}

/**
 * True when `text` names `nick` as a word. Word characters are letters, digits and `_`:
 * a nick followed by `.` or `:` ("thanks alice.") still counts.
 */
export function mentions (text: string, nick: string | undefined): boolean {
  if (nick === undefined || nick === '') return false
  const escaped = nick.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')
  return new RegExp(`(^|[^A-Za-z0-9_])${escaped}($|[^A-Za-z0-9_])`, 'i').test(text)
}

/**
 * A nick for a user who never chose one: the OS user name reduced to the nick alphabet, or
 * `guest-` and a few characters of the account when that leaves nothing useful (or `root`).
 */
export function defaultNick (username: string | undefined, account: string): string {
  const cleaned = (username ?? '').replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 32)
  if (cleaned === '' || cleaned.toLowerCase() === 'root' || !isValidNick(cleaned)) return `guest-${account.slice(1, 5)}`
  return cleaned
}

/** Which accounts were heard using each nick, to know when a nick needs its signer shown. */
export class NickRegistry {
  private readonly accounts = new Map<string, Set<string>>()

  note (nick: string, account: string | undefined): void {
    if (account === undefined) return
    const key = nickKey(nick)
    let set = this.accounts.get(key)
    if (set === undefined) {
      if (this.accounts.size >= MAX_KNOWN_NICKS) this.accounts.delete(this.accounts.keys().next().value!)
      set = new Set()
      this.accounts.set(key, set)
    }
    if (set.size < 16) set.add(account) // two are enough to know it is shared
  }

  /** More than one key has used this nick. */
  shared (nick: string): boolean {
    return (this.accounts.get(nickKey(nick))?.size ?? 0) > 1
  }

  /**
   * The name to show for a sender: its nick, with the short account when the nick is shared;
   * the short account alone when the nick is missing or not a valid nick; `anonymous` when
   * the message is not signed at all.
   */
  label (nick: string | undefined, account: string | undefined): string {
    if (nick !== undefined && isValidNick(nick)) {
      return account !== undefined && this.shared(nick) ? `${nick}(${shortAccount(account)})` : nick
    }
    return account !== undefined ? shortAccount(account) : 'anonymous'
  }
}
