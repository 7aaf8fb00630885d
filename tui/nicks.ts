/**
 * How people are named on screen (DESIGN §1): nicks are case-insensitive claims, accounts are
 * who actually signed. A nick is shown alone while one key uses it; once a second key uses
 * the same nick, every line of it says who signed it: `alice(1Mo5ip)`.
 */
import { isValidNick, nickKey, shortAccount } from '../src/shared/nicks.js'

// The naming rules the web page shares live in one place; the terminal chat's modules take them from here.
export { mentions, NICK_COLOURS, nickColour, nickKey, shortAccount, SHORT_ACCOUNT_LENGTH } from '../src/shared/nicks.js'

/** Nicks remembered for telling shared ones apart; a flood of made-up nicks cannot grow it further. */
const MAX_KNOWN_NICKS = 10_000

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
