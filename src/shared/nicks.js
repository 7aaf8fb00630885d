// How people are named on screen (DESIGN §1), the rules the terminal chat and the web page
// share: which nicks are valid, how they compare, their colour, and what counts as a mention.
//
// Plain JavaScript with no imports: the terminal chat and the node import it, and the web page
// loads this very file (served at /shared/nicks.js, see src/rpc/web.ts).

/** 1-32 of A-Z a-z 0-9 _ . - (DESIGN §1). */
export const NICK_RE = /^[A-Za-z0-9_.-]{1,32}$/
/** Characters of an account shown next to a shared nick: enough to tell two keys apart. */
export const SHORT_ACCOUNT_LENGTH = 6
/** Nick colours a front end offers; a nick always maps to the same one. */
export const NICK_COLOURS = 10

/**
 * @param {unknown} nick
 * @returns {boolean}
 */
export function isValidNick (nick) {
  return typeof nick === 'string' && NICK_RE.test(nick)
}

/**
 * @param {string} account
 * @returns {string}
 */
export function shortAccount (account) {
  return String(account).slice(0, SHORT_ACCOUNT_LENGTH)
}

/**
 * Case-insensitive nick key.
 * @param {string} nick
 * @returns {string}
 */
export function nickKey (nick) {
  return String(nick).toLowerCase()
}

/**
 * A stable colour index for a name (FNV-1a), the same in every session, on every machine and
 * in both front ends.
 * @param {string} name
 * @returns {number}
 */
export function nickColour (name) {
  let h = 0x811c9dc5
  for (const c of nickKey(name)) {
    h ^= /** @type {number} */ (c.codePointAt(0))
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % NICK_COLOURS
}

/**
 * True when `text` names `nick` as a word. Word characters are letters, digits and `_`:
 * a nick followed by `.` or `:` ("thanks alice.") still counts, "malice" does not.
 * @param {string} text
 * @param {string | undefined | null} nick
 * @returns {boolean}
 */
export function mentions (text, nick) {
  if (typeof text !== 'string' || nick === undefined || nick === null || nick === '') return false
  const escaped = nick.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')
  return new RegExp(`(^|[^A-Za-z0-9_])${escaped}($|[^A-Za-z0-9_])`, 'i').test(text)
}
