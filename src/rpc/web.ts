/**
 * The web chat (DESIGN §12): the page's static files, the login URL and the session cookie.
 *
 * The browser logs in once through `/login?token=<cookie secret>` (printed by `tmsg web` and
 * `/web`) and gets an HttpOnly, SameSite=Strict cookie derived from the node's current RPC
 * secret: a restart writes a new secret, so every browser is logged out with it. The page then
 * speaks the same JSON-RPC as any client, over the WebSocket. Files are read once at start from
 * the package's `web/` folder (and `src/shared/`, modules the terminal chat uses too): nothing is
 * fetched at run time, nothing is built.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { PACKAGE_ROOT } from '../package-root.ts'

export const WEB_DIR = join(PACKAGE_ROOT, 'web')
/**
 * Plain-JS modules the terminal chat imports too (nick and text rules, command syntax): the
 * page loads them from here, as they are, at `/shared/<name>.js`, so each rule has one copy.
 */
export const SHARED_DIR = join(PACKAGE_ROOT, 'src', 'shared')

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon'
}

/**
 * What the page may do: its own scripts and styles and a connection back to this node, nothing
 * inline, nothing from elsewhere. Peer text is rendered as text anyway; this is the second wall.
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** The login URL for a node at `baseUrl` (`http://127.0.0.1:4003/`). */
export function loginUrl (baseUrl: string, secret: string): string {
  return new URL(`login?token=${secret}`, baseUrl).href
}

/**
 * The session cookie's value: an HMAC of the RPC secret, so the cookie is worth nothing once
 * the node restarts, and the secret itself never sits in the browser's cookie jar.
 */
export function sessionValue (secret: string): string {
  return createHmac('sha256', secret).update('tmsg web session').digest('hex')
}

/** Cookies are not separated by port: two nodes on one machine each get their own name. */
export function sessionCookieName (port: number): string {
  return `tmsg_session_${port}`
}

/** True when the request carries this node's current session cookie. */
export function hasSession (req: IncomingMessage, secret: string, port: number): boolean {
  const header = req.headers.cookie
  if (header === undefined) return false
  const name = sessionCookieName(port)
  const want = Buffer.from(sessionValue(secret))
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue
    const given = Buffer.from(part.slice(eq + 1).trim())
    if (given.length === want.length && timingSafeEqual(given, want)) return true
  }
  return false
}

function tokenMatches (token: string | null, secret: string): boolean {
  if (token === null) return false
  // Compared as bytes: a token of the right length in characters may not be in bytes.
  const given = Buffer.from(token)
  const want = Buffer.from(secret)
  return given.length === want.length && timingSafeEqual(given, want)
}

interface WebFile { type: string, body: Buffer }

/** The page's files, by URL path; `/` is the chat, `/login.html` what a stranger sees. */
function loadFiles (dir: string, prefix = '/', files = new Map<string, WebFile>()): Map<string, WebFile> {
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[extname(name)]
    if (type !== undefined) files.set(prefix + name, { type, body: readFileSync(join(dir, name)) })
  }
  return files
}

export interface WebInit {
  /** The node's current RPC secret. */
  secret: () => string
  /** The port the server is bound to (names the cookie). */
  port: () => number
  /** @default WEB_DIR */
  dir?: string
}

export interface WebPages {
  /**
   * Serves a request for the page (GET/HEAD, and the POST that logs out); false when the path is
   * not the page's. The caller has already refused a foreign Origin.
   */
  serve: (req: IncomingMessage, res: ServerResponse) => boolean
}

export function webPages (init: WebInit): WebPages {
  const files = loadFiles(SHARED_DIR, '/shared/', loadFiles(init.dir ?? WEB_DIR))
  const send = (res: ServerResponse, status: number, file: WebFile | undefined, headers: Record<string, string> = {}, head = false): void => {
    const body = file?.body ?? Buffer.from('not found')
    res.writeHead(status, {
      'content-type': file?.type ?? 'text/plain; charset=utf-8',
      'content-length': String(body.length),
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      // The page differs by login state, and a login link must not linger in a cache.
      'cache-control': 'no-store',
      ...headers
    }).end(head ? undefined : body)
  }
  return {
    serve: (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      if (url.pathname === '/logout') {
        // A POST from the page only: a GET (a link or an image anywhere) or a request with no
        // Origin could log the browser out from any site. The server has checked the Origin
        // is this node's page, as for RPC calls.
        req.resume()
        const text = (t: string): WebFile => ({ type: 'text/plain; charset=utf-8', body: Buffer.from(t) })
        if (req.method !== 'POST') send(res, 405, text('log out with a POST from the page'), { allow: 'POST' }, req.method === 'HEAD')
        else if (req.headers.origin === undefined) send(res, 403, text('log out from the page'))
        else res.writeHead(204, { 'cache-control': 'no-store', 'set-cookie': `${sessionCookieName(init.port())}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0` }).end()
        return true
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return false
      const head = req.method === 'HEAD'
      const cookie = sessionCookieName(init.port())
      if (url.pathname === '/login') {
        if (!tokenMatches(url.searchParams.get('token'), init.secret())) {
          send(res, 403, files.get('/login.html'), {}, head)
          return true
        }
        // Path=/ so the WebSocket upgrade carries it too; no Max-Age: it ends with the browser
        // session, and in any case with the node's secret.
        send(res, 303, undefined, { location: '/', 'set-cookie': `${cookie}=${sessionValue(init.secret())}; Path=/; HttpOnly; SameSite=Strict` }, true)
        return true
      }
      const loggedIn = hasSession(req, init.secret(), init.port())
      if (url.pathname === '/session') {
        // The page asks this after its WebSocket closed: logged out (node restarted) or just gone?
        res.writeHead(loggedIn ? 204 : 401, { 'cache-control': 'no-store' }).end()
        return true
      }
      if (url.pathname === '/' || url.pathname === '/index.html') {
        send(res, 200, files.get(loggedIn ? '/index.html' : '/login.html'), {}, head)
        return true
      }
      const file = files.get(url.pathname)
      if (file === undefined || url.pathname.endsWith('.html')) return false
      send(res, 200, file, {}, head)
      return true
    }
  }
}
