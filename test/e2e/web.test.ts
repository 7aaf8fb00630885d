/**
 * The web chat (DESIGN §12) in a real headless Chromium against real `tmsg node` processes:
 * logging in through the URL `tmsg web` prints, chatting with a second node both ways, a
 * direct message, history after a reload, hostile text shown as text, requests without the
 * session or from another origin refused, a phone-sized screen, and a restart logging out.
 */
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { browserMissing, launchBrowser } from '../helpers/browser.ts'
import { connectNodes, startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode } from '../helpers/rpc-node.ts'
import { runTmsg, tempDatadir } from '../helpers/proc.ts'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { cleanText } from '../../src/shared/text.js'
import { nickColour } from '../../tui/nicks.ts'
import { answered, waitFor } from '../helpers/wait.ts'
import { encodeChat } from '../../src/chat/codec.ts'

/** expect.poll with room for a loaded machine (its default gives up after one second). */
const eventually = <T>(fn: () => Promise<T>): ReturnType<typeof expect.poll<T>> => expect.poll(fn, { timeout: 20_000 })

const missing = browserMissing()
if (missing !== undefined) console.warn(`web.test.ts: skipping the browser tests: ${missing}`)

async function historyTexts (n: RpcNode, target: string): Promise<string[]> {
  return (await n.call<any[]>('msg_history', { target, limit: 200 })).map(m => m.text as string)
}

/** POST / or a WebSocket upgrade with the given headers: the status the node answers. */
async function post (port: number, headers: Record<string, string>): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"jsonrpc":"2.0","id":1,"method":"node_info"}' })
  return r.status
}
async function upgrade (port: number, headers: Record<string, string>): Promise<number> {
  return await new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers })
    ws.once('open', () => { ws.close(); resolve(101) })
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode!) })
    ws.once('error', err => { if (!/Unexpected server response/.test(err.message)) reject(err) })
  })
}

describe.skipIf(missing !== undefined)('web chat in a real browser', () => {
  let a: RpcNode
  let b: RpcNode
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let base: string
  let loginUrl: string
  let ledger: string

  beforeAll(async () => {
    ledger = join(tempDatadir(), 'ledger.db') // one dev chain for both: the battery test opens a channel
    // One after the other: two processes creating a fresh shared ledger at once can race in its migration.
    a = await startRpcNode(['--nick', 'alice', '--ledger', ledger])
    b = await startRpcNode(['--nick', 'bob', '--ledger', ledger])
    await connectNodes(a, b)
    await b.call('chat_join', { room: '#lobby' })
    base = `http://127.0.0.1:${a.port}`
    browser = await launchBrowser()
    context = await browser.newContext({ viewport: { width: 1100, height: 760 } })
    page = await context.newPage()
  })
  afterAll(async () => {
    await browser?.close()
    await Promise.all([a?.stop(), b?.stop()])
  })

  const exactly = (text: string): RegExp => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
  /** The text of a chat line whose whole text is `text`. */
  const line = (text: string): ReturnType<Page['locator']> => page.locator('#lines .msg .text', { hasText: exactly(text) })
  /** The whole line (nick, time, text). */
  const msgLine = (text: string): ReturnType<Page['locator']> => page.locator('#lines .msg', { has: page.locator('.text', { hasText: exactly(text) }) })

  it('shows only how to log in until the browser has used the URL `tmsg web` prints', async () => {
    await page.goto(base + '/')
    expect(await page.locator('body').innerText()).toContain('tmsg web')
    expect(await page.locator('#rooms').count()).toBe(0)
    expect(await page.evaluate(async () => (await fetch('/', { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"node_info"}' })).status)).toBe(401)

    const r = await runTmsg(['web', '--datadir', a.datadir])
    expect(r.code, r.stderr).toBe(0)
    loginUrl = r.stdout.trim()
    expect(loginUrl).toBe(`${base}/login?token=${a.secret}`)
    expect((await page.goto(`${base}/login?token=${'0'.repeat(64)}`))?.status()).toBe(403)

    await page.goto(loginUrl)
    expect(page.url()).toBe(base + '/')
    await page.locator('#rooms .conv', { hasText: '#lobby' }).waitFor()
    await eventually(async () => await page.locator('#conv-title').textContent()).toBe('#lobby')
    const cookies = await context.cookies()
    expect(cookies).toHaveLength(1)
    expect(cookies[0]).toMatchObject({ name: `tmsg_session_${a.port}`, httpOnly: true, sameSite: 'Strict' })
    expect(cookies[0]!.value).not.toContain(a.secret)
  })

  it('sends a line that the second node receives, and shows the second node\'s answer', async () => {
    await page.locator('#input').fill('hello from the browser')
    await page.locator('#input').press('Enter')
    await waitFor(async () => (await historyTexts(b, '#lobby')).includes('hello from the browser'), 'bob to receive the browser\'s line')
    await line('hello from the browser').waitFor()

    await b.call('chat_send', { to: '#lobby', text: 'hi alice, bob here' })
    await line('hi alice, bob here').waitFor()
    const li = page.locator('#lines .msg', { hasText: 'hi alice, bob here' })
    expect(await li.locator('.who .nick').textContent()).toBe('bob')
    expect(await li.getAttribute('class')).toContain('mention')
    expect(await page.locator('#lines .day').first().textContent()).toBe('Today')
  })

  it('counts unread lines of a room not in view, and clears them when it is opened', async () => {
    await page.locator('#input').fill('/join #side')
    await page.locator('#input').press('Enter')
    await eventually(async () => await page.locator('#conv-title').textContent()).toBe('#side')
    await b.call('chat_send', { to: '#lobby', text: 'while you were away' })
    await b.call('chat_send', { to: '#lobby', text: 'alice, look' })
    const lobby = page.locator('#rooms .conv', { hasText: '#lobby' })
    // Two unread, one of them naming alice: the badge counts mentions, in red, over unread lines.
    await eventually(async () => await lobby.locator('.badge.mention').count()).toBe(1)
    expect(await lobby.locator('.badge').textContent()).toBe('1')
    expect(await lobby.getAttribute('class')).toContain('unread')
    await lobby.click()
    await line('alice, look').waitFor()
    expect(await page.locator('#lines .new + .msg .text').textContent()).toBe('while you were away') // the "new" line
    expect(await lobby.locator('.badge').count()).toBe(0)
  })

  it('opens a direct message with /query, and the second node reads it', async () => {
    await page.locator('#input').fill('/query @bob hello bob, just you')
    await page.locator('#input').press('Enter')
    await waitFor(async () => (await historyTexts(b, `acct:${a.ready.account}`)).includes('hello bob, just you'), 'bob to receive the direct message')
    await eventually(async () => await page.locator('#conv-title').textContent()).toBe('@bob')
    expect(await page.locator('#conv-sub').textContent()).toContain(b.ready.account)
    await page.locator('#directs .conv', { hasText: '@bob' }).waitFor()
    await line('hello bob, just you').waitFor()
    await b.call('chat_send', { to: `acct:${a.ready.account}`, text: 'private answer' })
    await line('private answer').waitFor()
  })

  it('finds rooms, conversations and their history after a reload', async () => {
    await page.reload()
    await page.locator('#directs .conv', { hasText: '@bob' }).click()
    await line('private answer').waitFor()
    await line('hello bob, just you').waitFor()
    await page.locator('#rooms .conv', { hasText: '#lobby' }).click()
    await line('hello from the browser').waitFor()
    await line('hi alice, bob here').waitFor()
  })

  it('runs /commands from the composer, and leaves a room with the Leave button', async () => {
    await page.locator('#input').fill('/jion #x')
    await page.locator('#input').press('Enter')
    await page.locator('#lines .notice.error', { hasText: '/jion: no such command' }).waitFor()
    await page.locator('#input').fill('/help')
    await page.locator('#input').press('Enter')
    await page.locator('#lines .notice', { hasText: '/join <#room> — join a room' }).waitFor()
    await page.locator('#input').fill('Bo')
    await page.locator('#input').press('Tab') // nicks heard here complete, IRC style
    expect(await page.locator('#input').inputValue()).toBe('bob: ')
    await page.locator('#input').fill('thanks @b')
    await page.locator('#input').press('Tab')
    expect(await page.locator('#input').inputValue()).toBe('thanks @bob ')
    await page.locator('#input').fill('')
    await page.locator('#rooms .conv', { hasText: '#side' }).click()
    await eventually(async () => await page.locator('#conv-title').textContent()).toBe('#side')
    await page.locator('#leave').click()
    await eventually(async () => await page.locator('#rooms .conv', { hasText: '#side' }).count()).toBe(0)
    expect(await a.call('targets_list')).not.toContain('#side')
    expect(await page.locator('#conv-title').textContent()).toBe('#lobby')
  })

  it('loads older history when scrolled to the top', async () => {
    for (let i = 0; i < 120; i++) await b.call('chat_send', { to: '#lobby', text: `backlog ${i}` })
    await waitFor(async () => (await a.call<any[]>('msg_history', { target: '#lobby', limit: 1 }))[0]?.text === 'backlog 119', 'alice to have the backlog')
    await page.reload()
    await line('backlog 119').waitFor()
    expect(await line('backlog 10').count()).toBe(0) // not on the first page
    await page.locator('#log').evaluate(e => { e.scrollTop = 0 })
    await waitFor(async () => {
      await page.locator('#log').evaluate(e => { e.scrollTop = 0 })
      return await line('hello from the browser').count() === 1
    }, 'scrolling back to reach the first line')
    expect(await line('backlog 10').count()).toBe(1)
    expect(await page.locator('#log-top').textContent()).toContain('beginning')
  })

  it('shows hostile messages as text, never as HTML', async () => {
    const img = '<img src=x onerror="window.__pwned=1">'
    const script = '<script>window.__pwned=2</script>'
    const big = '<b>bold</b>&amp;'.repeat(625) // 10,000 characters
    expect(big.length).toBe(10_000)
    await b.call('chat_send', { to: '#lobby', text: img })
    await b.call('chat_send', { to: '#lobby', text: script })
    // Longer than chat_send takes (8,000): a peer speaks the wire, not our RPC.
    await b.call('msg_send', { target: '#lobby', kind: 'chat', encoding: 'base64', payload: Buffer.from(encodeChat({ nick: 'bob', text: big, action: false })).toString('base64') })
    const texts = page.locator('#lines .msg .text')
    await waitFor(async () => (await texts.allTextContents()).some(t => t.startsWith(big.slice(0, 2000))), 'the 10 KB line')
    const long = page.locator('#lines .msg', { hasText: big.slice(0, 100) }).last()
    expect((await long.locator('.text').textContent())!.length).toBeLessThan(big.length) // folded…
    await long.locator('.more').click() // …until asked
    expect(await long.locator('.text').textContent()).toBe(big)
    const all = await texts.allTextContents()
    expect(all).toContain(img)
    expect(all).toContain(script)
    expect(await page.locator('#lines img, #lines script, #lines b').count()).toBe(0)
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
  })

  it('cleans peer text and colours nicks by the terminal chat\'s own rules (one copy, served to the page)', async () => {
    for (const name of ['text', 'nicks', 'commands']) {
      const r = await fetch(`${base}/shared/${name}.js`)
      expect(r.status).toBe(200)
      expect(r.headers.get('content-type')).toContain('text/javascript')
      expect(await r.text()).toBe(readFileSync(new URL(`../../src/shared/${name}.js`, import.meta.url), 'utf8'))
    }
    // An escape sequence goes whole, as on a terminal, not just its ESC byte.
    const hostile = 'red \u001b[31malert\u001b[0m and \u001b]0;title\u0007\u202eevil'
    await b.call('chat_send', { to: '#lobby', text: hostile })
    const shown = cleanText(hostile)
    expect(shown).toBe('red alert and evil')
    const l = msgLine(shown)
    await l.waitFor()
    expect(await l.locator('.who').getAttribute('class')).toContain(`c${nickColour('bob')}`)
  })

  it('names the signer next to a nick once two keys use it', async () => {
    await b.call('chat_send', { to: '#lobby', text: 'only one bob here' })
    const first = msgLine('only one bob here')
    await first.waitFor()
    expect(await first.locator('.who .acct').count()).toBe(0) // one key behind the nick: the nick alone
    const other = await startRpcNode(['--nick', 'bob'])
    try {
      await connectNodes(other, a)
      await other.call('chat_join', { room: '#lobby' })
      await other.call('chat_send', { to: '#lobby', text: 'I am bob too' })
      const mine = msgLine('I am bob too')
      await mine.waitFor()
      expect(await mine.locator('.who .acct').textContent()).toBe(other.ready.account.slice(0, 6))
      // …and the first bob's lines, drawn before, are redrawn with his.
      await eventually(async () => await first.locator('.who .acct').textContent()).toBe(b.ready.account.slice(0, 6))
    } finally {
      await other.stop()
    }
  })

  it('pops up mentions and direct messages as desktop notifications once asked to, when not in view', async () => {
    const ctx2 = await browser.newContext()
    try {
      await ctx2.addCookies(await context.cookies())
      // The page's Notification and visibility, recorded: what the browser would show is its business.
      await ctx2.addInitScript(() => {
        const w = globalThis as unknown as { notes: Array<{ title: string, body: string }>, hidden: boolean, Notification: unknown, document: object }
        w.notes = []
        w.hidden = false
        w.Notification = class {
          static permission = 'default'
          static requestPermission (): Promise<string> { (this as unknown as { permission: string }).permission = 'granted'; return Promise.resolve('granted') }
          onclick: unknown
          constructor (title: string, o: { body: string }) { w.notes.push({ title, body: o.body }) }
          close (): void {}
        }
        Object.defineProperty(w.document, 'hidden', { get: () => w.hidden })
      })
      const p = await ctx2.newPage()
      await p.goto(base + '/')
      await p.locator('#rooms .conv', { hasText: '#lobby' }).click()
      await p.locator('#lines .msg').first().waitFor()
      const notes = async (): Promise<Array<{ title: string, body: string }>> => await p.evaluate(() => (globalThis as unknown as { notes: Array<{ title: string, body: string }> }).notes)
      await b.call('chat_send', { to: '#lobby', text: 'alice, before you asked' })
      await p.locator('#lines .msg .text', { hasText: 'before you asked' }).waitFor()
      expect(await p.locator('#notify').textContent()).toBe('Notifications off')
      await p.locator('#notify').click()
      await eventually(async () => await p.locator('#notify').textContent()).toBe('Notifications on')
      await p.evaluate(() => { (globalThis as unknown as { hidden: boolean }).hidden = true })
      await b.call('chat_send', { to: '#lobby', text: 'no mention here' })
      await b.call('chat_send', { to: '#lobby', text: 'alice: <b>ping</b>' })
      await b.call('chat_send', { to: `acct:${a.ready.account}`, text: 'psst' })
      await eventually(async () => (await notes()).length).toBe(2)
      const bob = `bob (${b.ready.account.slice(0, 6)})` // two keys sign as bob by now
      expect(await notes()).toEqual([{ title: `${bob} in #lobby`, body: 'alice: <b>ping</b>' }, { title: `${bob} (direct)`, body: 'psst' }])
    } finally {
      await ctx2.close()
    }
  })

  it('shows the budget of the payment channel in use as a battery', async () => {
    expect(await page.locator('#battery').isVisible()).toBe(false) // no channel yet
    await b.call('channel_offer', { service: 'compute', pricePerUnit: 10, unit: 'op', minDeposit: 1000 })
    await a.call('wallet_faucet', { amount: 100_000 })
    await answered(async () => await a.call<any[]>('channel_terms', { service: 'compute', timeoutMs: 2000 }), t => t.some(x => x.provider === b.ready.peerId), 'the provider\'s terms')
    const { channelId } = await a.call('channel_open', { provider: b.ready.peerId, service: 'compute', deposit: 20_000, budget: 1000 })
    await page.locator('#battery').waitFor()
    await eventually(async () => await page.locator('#battery-text').textContent()).toBe('100%')
    expect(await page.locator('#battery-service').textContent()).toBe('compute')
    await a.call('channel_pay', { channelId, amount: 850 })
    await eventually(async () => await page.locator('#battery-text').textContent()).toBe('15%')
    expect(await page.locator('#battery').getAttribute('class')).toContain('low')
    expect(await page.locator('#battery').getAttribute('title')).toContain('850 sat paid of a 1,000 sat budget')
  })

  it('refuses RPC and WebSocket requests without the session or from another origin', async () => {
    const cookie = (await context.cookies())[0]!
    const header = `${cookie.name}=${cookie.value}`
    const own = `http://127.0.0.1:${a.port}`
    expect(await post(a.port, { origin: own, cookie: header })).toBe(200) // the page's own requests
    expect(await upgrade(a.port, { origin: own, cookie: header })).toBe(101)
    expect(await post(a.port, {})).toBe(401)
    expect(await upgrade(a.port, { origin: own })).toBe(401)
    expect(await post(a.port, { cookie: header })).toBe(401) // a cookie counts only with the browser's Origin
    expect(await post(a.port, { origin: 'http://attacker.example', cookie: header })).toBe(403)
    expect(await upgrade(a.port, { origin: 'http://attacker.example', cookie: header })).toBe(403)
    expect(await post(a.port, { origin: own, cookie: `${cookie.name}=${'0'.repeat(64)}` })).toBe(401)

    // A page on another port of the same host is the same *site*: the browser does send the
    // SameSite cookie along. The Origin check is what stops it.
    const evil: Server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<p>elsewhere</p>') })
    await new Promise<void>(resolve => evil.listen(0, '127.0.0.1', resolve))
    try {
      const evilPage = await context.newPage()
      await evilPage.goto(`http://127.0.0.1:${(evil.address() as { port: number }).port}/`)
      const outcome = await evilPage.evaluate(async (port) => {
        const posted = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{"jsonrpc":"2.0","id":1,"method":"chat_join","params":{"room":"#csrf"}}' }).then(() => 'sent', () => 'failed')
        const ws = await new Promise(resolve => {
          // The browser's own WebSocket (the name WebSocket here is the ws package's).
          const s = new (globalThis as unknown as { WebSocket: new (url: string) => { onopen: () => void, onclose: () => void, close: () => void } }).WebSocket(`ws://127.0.0.1:${port}/`)
          s.onopen = () => { s.close(); resolve('open') }
          s.onclose = () => { resolve('refused') }
        })
        return { posted, ws }
      }, a.port)
      expect(outcome.ws).toBe('refused')
      expect(outcome.posted).toBe('sent') // the request went out (and came back opaque)…
      expect(await a.call('targets_list')).not.toContain('#csrf') // …and the node did not act on it
      await evilPage.close()
    } finally {
      evil.close()
    }
  })

  it('fits a phone-sized screen: the conversation list is a drawer', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
    try {
      await phone.addCookies((await context.cookies()))
      const p = await phone.newPage()
      await p.goto(base + '/')
      await p.locator('#lines .msg').first().waitFor()
      expect(await p.locator('#menu').isVisible()).toBe(true)
      const sidebarRight = async (): Promise<number> => await p.locator('#sidebar').evaluate(e => e.getBoundingClientRect().right)
      expect(await sidebarRight()).toBeLessThanOrEqual(0) // off screen
      const width = await p.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)
      expect(width).toBeLessThanOrEqual(390) // nothing wider than the phone
      await p.locator('#menu').click()
      await eventually(sidebarRight).toBeGreaterThan(200)
      await p.locator('#directs .conv', { hasText: '@bob' }).click()
      await eventually(sidebarRight).toBeLessThanOrEqual(0)
      await p.locator('#lines .msg .text', { hasText: 'private answer' }).waitFor()
    } finally {
      await phone.close()
    }
  })

  it('logs out only by a POST from the page: a link or another site cannot', async () => {
    const cookie = (await context.cookies())[0]!
    const header = `${cookie.name}=${cookie.value}`
    const logout = async (method: string, headers: Record<string, string>): Promise<Response> =>
      await fetch(`${base}/logout`, { method, headers: { cookie: header, ...headers }, redirect: 'manual' })
    const cleared = (r: Response): boolean => (r.headers.get('set-cookie') ?? '').includes('Max-Age=0')
    for (const r of [
      await logout('GET', { origin: base }), // a link, an <img>, a redirect
      await logout('POST', {}), // no Origin: not the page
      await logout('POST', { origin: 'http://attacker.example' })
    ]) {
      expect(r.status).toBeGreaterThanOrEqual(400)
      expect(cleared(r)).toBe(false)
    }
    expect((await logout('GET', {})).status).toBe(405)

    // The page's button, in a second browser session (the first stays logged in for the rest).
    const other = await browser.newContext()
    try {
      const p = await other.newPage()
      await p.goto(loginUrl)
      await p.locator('#rooms .conv', { hasText: '#lobby' }).waitFor()
      expect(await other.cookies()).toHaveLength(1)
      await p.locator('#logout').click()
      await p.locator('.login-box').waitFor()
      expect(await other.cookies()).toHaveLength(0)
    } finally {
      await other.close()
    }
    expect(await post(a.port, { origin: base, cookie: header })).toBe(200) // the first session is untouched
  })

  it('is logged out when the node restarts (a new cookie secret)', async () => {
    const datadir = a.datadir
    const port = a.port
    await a.stop()
    a = await startRpcNode(['--nick', 'alice', '--ledger', ledger], datadir, port)
    // The open page notices by itself: its WebSocket closed, and the node no longer knows it.
    await page.locator('.login-box').waitFor({ timeout: 30_000 })
    expect(await page.locator('body').innerText()).toContain('tmsg web')
    expect(await page.locator('#rooms').count()).toBe(0)
    expect((await page.goto(loginUrl))?.status()).toBe(403) // the old URL is dead too
  })
})

describe('the web chat\'s Origin rule with --rpc-allow-remote', () => {
  let n: RpcNode
  beforeAll(async () => { n = await startRpcNode(['--rpc-host', '0.0.0.0', '--rpc-allow-remote']) })
  afterAll(async () => { await n?.stop() })

  it('takes only the origin the page was loaded from (the Host it was reached by), http or https', async () => {
    const auth = { authorization: `Bearer ${n.secret}` }
    const host = `127.0.0.1:${n.port}` // what fetch sends as Host
    expect(await post(n.port, { ...auth, origin: `http://${host}` })).toBe(200)
    expect(await post(n.port, { ...auth, origin: `https://${host}` })).toBe(200) // a TLS proxy in front
    expect(await post(n.port, { ...auth, origin: 'http://attacker.example' })).toBe(403)
    expect(await post(n.port, { ...auth, origin: `http://127.0.0.1:${n.port + 1}` })).toBe(403)
    expect(await post(n.port, { ...auth, origin: `ftp://${host}` })).toBe(403)
  })
})
