// Small pure helpers for showing peer text and names, the web twins of tui/nicks.ts and
// src/text.ts. Everything a peer wrote ends up in textContent, never in HTML; these only
// decide which characters and which words.

/** Characters of an account shown next to a shared nick (as the terminal chat does). */
export const SHORT_ACCOUNT_LENGTH = 6
export const NICK_COLOURS = 10

// C0/C1 controls except tab and newline, DEL, and the bidirectional overrides and isolates
// that could make a line read differently from what it is.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

export function cleanText (s) {
  return String(s).replace(CONTROLS, '')
}

export function shortAccount (account) {
  return String(account).slice(0, SHORT_ACCOUNT_LENGTH)
}

export function nickKey (nick) {
  return String(nick).toLowerCase()
}

const NICK = /^[A-Za-z0-9_.-]{1,32}$/
export function isValidNick (nick) {
  return typeof nick === 'string' && NICK.test(nick)
}

/** A stable colour for a name (FNV-1a), the same as the terminal chat's. */
export function nickColour (name) {
  let h = 0x811c9dc5
  for (const c of nickKey(name)) {
    h ^= c.codePointAt(0)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % NICK_COLOURS
}

/** True when `text` names `nick` as a word ("thanks alice." counts, "malice" does not). */
export function mentions (text, nick) {
  if (typeof text !== 'string' || nick === undefined || nick === null || nick === '') return false
  const escaped = nick.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')
  return new RegExp(`(^|[^A-Za-z0-9_])${escaped}($|[^A-Za-z0-9_])`, 'i').test(text)
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]}]/g

/**
 * Splits text into plain runs and http(s) links, for the caller to turn into text nodes and
 * <a> elements whose href it sets itself: nothing here is ever parsed as HTML.
 */
export function splitLinks (text) {
  const out = []
  let last = 0
  for (const m of text.matchAll(URL_RE)) {
    if (m.index > last) out.push({ text: text.slice(last, m.index) })
    out.push({ text: m[0], href: m[0] })
    last = m.index + m[0].length
  }
  if (last < text.length) out.push({ text: text.slice(last) })
  return out
}

/** `Today`, `Yesterday`, or the date, for the line between two days. */
export function dayLabel (ms, now = Date.now()) {
  const d = new Date(ms)
  const today = new Date(now)
  const start = t => new Date(t.getFullYear(), t.getMonth(), t.getDate()).getTime()
  const days = Math.round((start(today) - start(d)) / 86_400_000)
  if (days === 0) return 'Today'
  if (days === 1) return 'Yesterday'
  return d.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: d.getFullYear() === today.getFullYear() ? undefined : 'numeric' })
}

export function dayKey (ms) {
  const d = new Date(ms)
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`
}

export function clock (ms) {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
}

/** Whole satoshis as people read them: `25,000 sat`. */
export function sats (n) {
  return `${Number(n).toLocaleString('en-US')} sat`
}
