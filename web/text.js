// Small pure helpers for showing text on the page: links, days, times, amounts. Everything a
// peer wrote ends up in textContent, never in HTML; these only decide which characters and
// which words. The rules the terminal chat shares (control characters, nicks, mentions,
// colours) are not here but in src/shared/, served at /shared/.

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
