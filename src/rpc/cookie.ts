/** The RPC cookie (DESIGN §6): `<datadir>/rpc.cookie`, mode 0600, new at every start. */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'

export const COOKIE_USER = '__cookie__'

/** Writes a fresh cookie atomically (a reader never sees half a file) and returns its secret. */
export function writeCookie (path: string): string {
  const secret = randomBytes(32).toString('hex')
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${COOKIE_USER}:${secret}`, { mode: 0o600 })
  renameSync(tmp, path)
  return secret
}

export function removeCookie (path: string): void {
  rmSync(path, { force: true })
}

/** The secret from a cookie file, or undefined when there is none (no node running). */
export function readCookie (path: string): string | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
  const m = /^__cookie__:([0-9a-f]{64})$/.exec(text)
  return m?.[1]
}

/**
 * Checks an Authorization header: `Basic base64(__cookie__:<secret>)` or `Bearer <secret>`.
 * Constant-time comparison of the secret.
 */
export function authorized (header: string | undefined, secret: string): boolean {
  if (header === undefined) return false
  let given: string | undefined
  const [scheme, value] = header.split(' ', 2)
  if (scheme?.toLowerCase() === 'bearer') given = value
  else if (scheme?.toLowerCase() === 'basic' && value !== undefined) {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon >= 0 && decoded.slice(0, colon) === COOKIE_USER) given = decoded.slice(colon + 1)
  }
  if (given === undefined) return false
  // Compared as bytes (timingSafeEqual throws on different lengths; a non-ASCII header has more bytes than characters).
  const a = Buffer.from(given)
  const b = Buffer.from(secret)
  return a.length === b.length && timingSafeEqual(a, b)
}
