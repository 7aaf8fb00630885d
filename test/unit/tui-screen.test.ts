/**
 * The chat UI drawn by blessed onto fake terminal streams, on a real embedded App: what a
 * user would see, read back from the screen's cells.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { PassThrough } from 'node:stream'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { App } from '../../src/app.ts'
import { startServing } from '../../src/cli/serve.ts'
import { Identity } from '../../src/identity.ts'
import { buildTMsg, Kind } from '../../src/wire/index.ts'
import { channelTarget } from '../../src/targets.ts'
import { encodeChat } from '../../src/chat/codec.ts'
import { resolveConfig } from '../../src/config.ts'
import type { NodeConfig } from '../../src/config.ts'
import type { Message } from '../../src/message.ts'
import { Tui } from '../../tui/tui.ts'
import type { TuiOptions } from '../../tui/tui.ts'
import { screenText } from '../../tui/blessed.ts'
import { freePort, tempDatadir } from '../helpers/proc.ts'
import { waitFor } from '../helpers/wait.ts'

type FakeInput = PassThrough & { isTTY: boolean, isRaw: boolean, setRawMode: (raw: boolean) => FakeInput }
type FakeOutput = PassThrough & { isTTY: boolean, columns: number, rows: number }

interface Ui {
  app: App
  tui: Tui
  output: FakeOutput
  /** Everything blessed wrote to the terminal. */
  written: () => string
  rows: () => string[]
  screen: () => string
  type: (keys: string) => void
  waitFor: (what: string | RegExp, timeoutMs?: number) => Promise<void>
  stop: () => Promise<void>
}

const running: Ui[] = []
afterEach(async () => { await Promise.all(running.splice(0).map(async u => { await u.stop() })) })

async function startUi (opts: { datadir?: string, cols?: number, rows?: number, flags?: Partial<Record<keyof NodeConfig, unknown>>, tui?: TuiOptions, before?: (app: App) => void | Promise<void> } = {}): Promise<Ui> {
  const config = resolveConfig({ datadir: opts.datadir ?? tempDatadir(), host: '127.0.0.1', port: 0, rpcPort: 0, mdns: false, nick: 'alice', ...opts.flags }, {})
  // As `tmsg chat` runs it: the app, its RPC server (when --rpc-port is given), the chat on top.
  const serving = await startServing(config, { logToStderr: false })
  const { app, rpc } = serving
  await opts.before?.(app)
  const input = new PassThrough() as FakeInput
  input.isTTY = true
  input.isRaw = false
  input.setRawMode = raw => { input.isRaw = raw; return input }
  const output = new PassThrough() as FakeOutput
  output.isTTY = true
  output.columns = opts.cols ?? 100
  output.rows = opts.rows ?? 30
  let written = ''
  output.on('data', (d: Buffer) => { written += d.toString('utf8') })
  const tui = Tui.start(app, { input, output, terminal: 'xterm-256color', username: 'alice', ...(rpc !== undefined ? { rpc } : {}), ...opts.tui })
  const rows = (): string[] => screenText(tui.screen)
  const ui: Ui = {
    app,
    tui,
    output,
    written: () => written,
    rows,
    screen: () => rows().join('\n'),
    type: keys => { input.write(keys) },
    waitFor: async (what, timeoutMs = 5000) => {
      try {
        await waitFor(() => typeof what === 'string' ? rows().join('\n').includes(what) : what.test(rows().join('\n')), `screen to show ${String(what)}`, timeoutMs)
      } catch (err: unknown) {
        throw new Error(`${(err as Error).message}; the screen shows:\n${rows().join('\n')}`)
      }
    },
    stop: async () => {
      tui.quit()
      await tui.closed
      await serving.stop()
    }
  }
  running.push(ui)
  return ui
}

/** A chat message as the App hands it to the UI, from some peer. */
function peerMessage (o: Partial<Message> & { text: string }): Message {
  return {
    msgId: Math.random().toString(16).slice(2).padEnd(32, '0'),
    target: '00'.repeat(16),
    targetName: '#lobby',
    kind: 'chat',
    payload: '',
    encoding: 'utf8',
    nick: 'bob',
    account: '1BoatSLRHtKNngkdXEeobR76b53LETtpyT',
    verified: true,
    hops: 1,
    ttl: 6,
    timestamp: Date.now(),
    receivedAt: Date.now(),
    action: false,
    ...o
  }
}

const ENTER = '\r'
const ALT = (k: string): string => '\u001b' + k

describe('chat UI on fake streams', () => {
  it('draws the room list, chat pane, status bar and input line, and sends what is typed', async () => {
    const ui = await startUi()
    const seen: Message[] = []
    ui.app.on('message', m => { seen.push(m) }) // how the RPC's msg_subscribe sees hits
    await ui.waitFor('[#lobby]')
    const rows = ui.rows()
    expect(rows[0]).toMatch(/^ #lobby — room/)
    expect(rows[1]).toMatch(/^ 1 tmsg +│/)
    expect(rows[2]).toMatch(/^ 2 #lobby +│/)
    expect(rows[28]).toMatch(/^\[\d\d:\d\d\] \[alice\(1\w{5}\)\] \[2:#lobby\] \[0 peers\]/)
    expect(rows[29]).toMatch(/^\[#lobby\] +$/)
    ui.type('hello, world' + ENTER)
    await ui.waitFor(/\d\d:\d\d <alice> hello, world/)
    expect(seen.map(m => [m.targetName, m.nick, m.text])).toEqual([['#lobby', 'alice', 'hello, world']])
    expect(ui.app.store.history(seen[0]!.target === '' ? new Uint8Array() : Buffer.from(seen[0]!.target, 'hex'), 10)!.map(m => m.text)).toEqual(['hello, world'])
    expect(ui.screen()).not.toMatch(/\{\/?[a-z-]+\}/) // no tag of ours left unparsed
  })

  it('shows a line sent over JSON-RPC chat_send, from the same node', async () => {
    const rpcPort = await freePort()
    const ui = await startUi({ flags: { rpcPort } })
    const secret = readFileSync(join(ui.app.datadir.root, 'rpc.cookie'), 'utf8').trim().split(':')[1]!
    const res = await fetch(`http://127.0.0.1:${rpcPort}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'chat_send', params: { to: '#lobby', text: 'sent by a script' } })
    })
    expect((await res.json() as { result: { msgId: string } }).result.msgId).toMatch(/^[0-9a-f]{32}$/)
    await ui.waitFor('<alice> sent by a script')
  })

  it('renders hostile peer text inert: escapes, tags and 10 KB of text', async () => {
    const ui = await startUi()
    await ui.waitFor('[#lobby]')
    const hostile = 'A\u001b[2J\u001b]2;PWNED\u0007\u001b[31;41mB{red-bg}{bold}PAINT{/bold}{/red-bg} C\u009b1;1H\u202eD'
    ui.app.emit('message', peerMessage({ text: hostile }), undefined as never)
    ui.app.emit('message', peerMessage({ nick: '{red-bg}bob', text: 'nick tags' }), undefined as never)
    await ui.waitFor('<bob> AB{red-bg}{bold}PAINT{/bold}{/red-bg} CD')
    await ui.waitFor(/<1BoatS> nick tags/) // an invalid nick shows as its signer
    // No cell got a red background from the peer's tags or SGR codes, no title was set.
    const lines = (ui.tui.screen as unknown as { lines: Array<Array<[number, string]>> }).lines
    expect(lines.flat().filter(([attr]) => (attr & 0x1ff) === 1)).toEqual([])
    expect(ui.written()).not.toContain('PWNED')
    ui.app.emit('message', peerMessage({ text: 'x'.repeat(10_240) }), undefined as never)
    await ui.waitFor(/xxx … \(8240 more[\s│]+characters not shown\)/)
    // The UI still works afterwards.
    ui.type('still here' + ENTER)
    await ui.waitFor('<alice> still here')
  })

  it('runs the commands: /join, /msg, /query, /nick, /me, /names, /part, /clear, errors', async () => {
    const ui = await startUi()
    await ui.waitFor('[#lobby]')
    ui.type('/join #Dev' + ENTER)
    await ui.waitFor('[#dev]')
    expect(ui.rows()[3]).toMatch(/^ 3 #dev/)
    ui.type('/msg #lobby hi lobby' + ENTER)
    await ui.waitFor('→ #lobby: hi lobby')
    ui.type('/me waves' + ENTER)
    await ui.waitFor('* alice waves')
    ui.type('/query @carol are you there?' + ENTER)
    await ui.waitFor('no signed message from @carol has been heard')
    const carol = Identity.generate()
    ui.app.nicks.heard('carol', carol.publicKey) // as if carol had spoken in a room
    ui.type('/query @carol are you there?' + ENTER)
    await ui.waitFor('[@carol]')
    await ui.waitFor('<alice> are you there?')
    await ui.waitFor(`@carol (${carol.account.slice(0, 6)}) — direct messages, sealed for this key only`)
    expect(ui.app.direct.history(carol.account, 10)!.map(m => m.text)).toEqual(['are you there?'])
    ui.type('/nick bob' + ENTER)
    await ui.waitFor('You are now known as bob.')
    await ui.waitFor('[bob(')
    ui.type(ALT('2'))
    await ui.waitFor('[#lobby]')
    ui.type('/names' + ENTER)
    await ui.waitFor(/1 heard in #lobby in the last 24 hours: alice \(just now\)/)
    ui.type('/frobnicate' + ENTER)
    await ui.waitFor('/frobnicate: no such command.')
    ui.type('/join #no spaces' + ENTER)
    await ui.waitFor('/join: too many arguments')
    ui.type('/join #' + ENTER)
    await ui.waitFor('"#" is not a room name')
    ui.type('/clear' + ENTER)
    await waitFor(() => !ui.screen().includes('<alice> hi lobby'), '/clear to empty the buffer')
    ui.type('/part #dev' + ENTER)
    await waitFor(() => !ui.rows().some(r => / #dev /.test(r)), '#dev to leave the room list')
    expect(ui.app.chat.rooms().map(r => r.short)).toEqual(['#lobby'])
  })

  it('reopens direct conversations at start, and warns in the query when a second key signs as its nick', async () => {
    const carol = Identity.generate()
    const ui = await startUi({
      before: app => {
        app.nicks.heard('carol', carol.publicKey)
        app.chat.send('@carol', 'remember me?')
      }
    })
    await ui.waitFor(/ 3 @carol/)
    ui.type(ALT('3'))
    await ui.waitFor('<alice> remember me?')
    await ui.waitFor(`@carol (${carol.account.slice(0, 6)})`)
    // A room line signed by another key with the nick carol, through the node's real delivery path.
    const impostor = Identity.generate()
    const msg = buildTMsg({ target: channelTarget('#lobby').id, payload: encodeChat({ nick: 'carol', text: 'it is me', action: false }), kind: Kind.CHAT, signer: impostor })
    ui.app.node.emit('delivery', { msg, from: 'somewhere', verified: true, receivedAt: Date.now() })
    await ui.waitFor(`Warning: a new key (acct:${impostor.account}) now signs as`)
    expect(() => ui.app.resolveRecipient('@carol')).toThrow(/2 keys/)
  })

  it('switches buffers, scrolls back with -MORE(n)-, completes, recalls, and counts mentions', async () => {
    const ui = await startUi()
    await ui.waitFor('[#lobby]')
    for (let i = 0; i < 60; i++) ui.app.emit('message', peerMessage({ text: `line ${i}` }), undefined as never)
    await ui.waitFor('<bob> line 59')
    ui.type('\u001b[5~') // PgUp
    await ui.waitFor(/-MORE\(\d+\)-/)
    expect(ui.screen()).not.toContain('<bob> line 59')
    ui.type('\u001b[6~') // PgDn
    await ui.waitFor('<bob> line 59')
    expect(ui.screen()).not.toContain('-MORE(')

    ui.type('/jo\t#side' + ENTER)
    await ui.waitFor('[#side]')
    ui.app.emit('message', peerMessage({ text: 'hey alice, look' }), undefined as never)
    await ui.waitFor(/ 2 #lobby +1!1 │/)
    await ui.waitFor('[Act: 2]')
    ui.type(ALT('a'))
    await ui.waitFor('[#lobby]')
    expect(ui.screen()).not.toContain('[Act:')

    ui.type('b\t')
    await ui.waitFor('[#lobby] bob: ')
    ui.type('\u0015') // Ctrl+U
    ui.type('\u001b[A') // Up: the last line sent
    await ui.waitFor('[#lobby] /join #side')
    ui.type('\u0015' + ALT('1'))
    await ui.waitFor(' tmsg — node events')
    ui.type('\u000e') // Ctrl+N
    await ui.waitFor('[#lobby]')
  })

  it('relayouts on resize, hiding the room list when narrow', async () => {
    const ui = await startUi({ cols: 100, rows: 30 })
    await ui.waitFor('[#lobby]')
    ui.app.emit('message', peerMessage({ text: 'a fairly long line that will need to wrap once the terminal gets narrow, surely' }), undefined as never)
    await ui.waitFor('<bob> a fairly long line')
    ui.output.columns = 40
    ui.output.rows = 12
    ui.output.emit('resize')
    await waitFor(() => ui.rows().length === 12, 'the screen to shrink')
    await ui.waitFor(/^\d\d:\d\d <bob> a fairly long line/m)
    const rows = ui.rows()
    expect(rows.every(r => r.length === 40)).toBe(true)
    expect(rows[11]).toMatch(/^\[#lobby\]/)
    expect(rows.join('\n')).toContain('              ') // continuation lines indented under the text
    // Absurdly small still draws (and typing still works).
    ui.output.columns = 12
    ui.output.rows = 4
    ui.output.emit('resize')
    ui.type('x')
    await waitFor(() => ui.rows().length === 4 && ui.rows()[3]!.trimEnd().endsWith('x'), 'the tiny layout')
    expect(ui.rows().every(r => r.length === 12)).toBe(true)
  })

  it('reloads the history of joined rooms on start, and shows port notices', async () => {
    const datadir = tempDatadir()
    const first = await startUi({ datadir })
    await first.waitFor('[#lobby]')
    first.type('/join #keep' + ENTER)
    await first.waitFor('[#keep]')
    first.type('remember me' + ENTER)
    await first.waitFor('<alice> remember me')
    await first.stop()
    running.splice(running.indexOf(first), 1)

    const second = await startUi({ datadir, before: app => { app.notices.push('P2P port 4004 is taken; using 4005') } })
    await second.waitFor('P2P port 4004 is taken; using 4005') // in the first room, not only in the system buffer
    // The same notice arriving again through the log sink (as App.start logs it) is not repeated;
    // other warnings and errors from the log are shown.
    second.tui.log('10:11:12.131 WARN P2P port 4004 is taken; using 4005')
    second.tui.log('10:11:12.132 ERROR [rpc] the socket went away')
    expect(second.tui.model.system.entries.filter(e => e.text === 'P2P port 4004 is taken; using 4005')).toHaveLength(1)
    expect(second.tui.model.system.entries.at(-1)).toMatchObject({ type: 'notice', level: 'error', text: '[rpc] the socket went away' })
    second.type(ALT('3'))
    await second.waitFor('<alice> remember me')
    expect(second.app.chat.rooms().map(r => r.short)).toEqual(['#lobby', '#keep'])
  })

  it('picks a nick from the user name without saving it, and joins #lobby on a first start', async () => {
    const ui = await startUi({ flags: { nick: undefined }, tui: { username: 'Jane Doe' } })
    await ui.waitFor('[Jane_Doe(')
    expect(ui.app.chat.rooms().map(r => r.short)).toEqual(['#lobby'])
    expect(ui.app.store.getSetting('nick')).toBeUndefined()
    ui.type('/nick jane' + ENTER)
    await ui.waitFor('[jane(')
    expect(ui.app.store.getSetting('nick')).toBe('jane')
  })

  it('shows peers joining and leaving, their RTT, and /connect errors', async () => {
    const ui = await startUi()
    await ui.waitFor('[#lobby]')
    const other = await App.start(resolveConfig({ datadir: tempDatadir(), host: '127.0.0.1', port: 0, rpcPort: 0, mdns: false, nick: 'zed' }, {}), { logToStderr: false })
    try {
      ui.type(`/connect ${other.node.dialableAddress()}` + ENTER)
      await ui.waitFor(`Connected to ${other.node.peerId}.`)
      await ui.waitFor(/\[1 peer, [\d.]+ ms\]/, 15_000)
      ui.type('/peers' + ENTER)
      await ui.waitFor(`-!-   ${other.node.peerId}`)
      await ui.waitFor(/ {4}outbound \/ip4\/127\.0\.0\.1\/tcp\/\d+ · rtt \d+ ms · \d+ messages in, \d+ out/)
      ui.type('/connect /not/a/multiaddr' + ENTER)
      await ui.waitFor('/connect: cannot connect to /not/a/multiaddr')
      ui.type(ALT('1'))
      await ui.waitFor(`Peer …${other.node.peerId.slice(-6)} connected (1 connected).`)
    } finally {
      await other.stop()
    }
    await ui.waitFor(`Peer …${other.node.peerId.slice(-6)} disconnected (0 connected).`)
  })

  it('lists the peers that connected while the node was starting', async () => {
    const other = await App.start(resolveConfig({ datadir: tempDatadir(), host: '127.0.0.1', port: 0, rpcPort: 0, mdns: false }, {}), { logToStderr: false })
    try {
      const ui = await startUi({ before: async app => { await app.node.connect(other.node.dialableAddress()) } })
      ui.type(ALT('1'))
      await ui.waitFor(`Peer …${other.node.peerId.slice(-6)} connected.`)
      await ui.waitFor('[1 peer')
    } finally {
      await other.stop()
    }
  })

  it('quits on /quit and hands the terminal back', async () => {
    const ui = await startUi()
    await ui.waitFor('[#lobby]')
    ui.type('/quit' + ENTER)
    await ui.tui.closed
    const out = ui.written()
    const tail = out.slice(out.lastIndexOf('\u001b[?1049h'))
    expect(tail).toContain('\u001b[?1049l') // left the alternate screen
    expect(tail).toContain('\u001b[?25h') // cursor shown again
  })
})

describe('layer-2 in the chat', () => {
  it('offers, finds, opens, pays with a battery in the status bar, and shows earnings', async () => {
    const ledger = join(tempDatadir(), 'ledger.db')
    // Wide enough that no line of interest wraps.
    const provider = await startUi({ cols: 180, flags: { ledger, nick: 'prov' } })
    const client = await startUi({ cols: 180, flags: { ledger }, before: async app => { await app.node.connect(provider.app.node.dialableAddress()) } })
    await client.waitFor('[1 peer')
    // Connected is not yet flooding: /terms sent before each is the other's router neighbour
    // (identify, then the flood streams) reaches no one.
    expect(await client.app.node.waitForNeighbour(provider.app.node.peerId)).toBe(true)
    expect(await provider.app.node.waitForNeighbour(client.app.node.peerId)).toBe(true)
    provider.type('/offer compute 10 op 1000' + ENTER)
    await provider.waitFor('Offering compute at 10 sat/op, deposit ≥ 1,000 sat.')
    client.type('/wallet 100000' + ENTER)
    await client.waitFor('Minted 100,000 sat')
    client.type('/terms compute' + ENTER)
    const account = provider.app.node.identity.account
    await client.waitFor(`compute by ${account}: 10 sat/op`, 15_000) // /terms collects answers for 3 s before it prints
    client.type(`/open ${account} compute 20000 1000` + ENTER)
    await client.waitFor(/Channel [0-9a-f]{10} is open: 20,000 sat deposited/, 15_000)
    const id = client.app.layer2!.client.list()[0]!.channelId
    client.type(`/pay ${id.slice(0, 6)} 850` + ENTER)
    await client.waitFor('Paid 850 sat in total')
    await client.waitFor('80% of the 1000 sat budget spent [██░░░░░░░░] 15%')
    await client.waitFor('[compute [█░░░░░] 15%]') // the status bar's battery
    client.type(`/pay ${id.slice(0, 6)} 200` + ENTER)
    await client.waitFor('budget reached (850 of 1000 sat paid)')
    await client.waitFor('paying 200 would pass the budget of 1000 (paid 850)')
    client.type('/channels' + ENTER)
    await client.waitFor(`${id.slice(0, 10)} → compute open: paid 850 sat of 20,000 sat [██░░░░░░░░] 15% budget reached`)
    provider.type('/offer' + ENTER)
    await provider.waitFor('compute: offered, 1 channel(s), earned 850 sat')
    client.type('/pay zz 1' + ENTER)
    await client.waitFor('no channel zz: /channels lists them')
  })

  it('/send pays a nick, and the payee reads "received … from <nick>: <memo>"', async () => {
    const ledger = join(tempDatadir(), 'ledger.db')
    const alice = await startUi({ cols: 180, flags: { ledger, nick: 'alice' } })
    const bob = await startUi({ cols: 180, flags: { ledger, nick: 'bob' }, before: async app => { await app.node.connect(alice.app.node.dialableAddress()) } })
    await bob.waitFor('[1 peer')
    await alice.waitFor('[1 peer')
    await alice.waitFor('[#lobby]')
    // Each learns the other's nick from a signed chat line (the flood link may need a moment).
    await waitFor(async () => {
      alice.type('hi bob' + ENTER)
      return await bob.waitFor('hi bob', 1000).then(() => true, () => false)
    }, 'bob to hear alice', 20_000)
    bob.type('hello alice' + ENTER)
    await alice.waitFor('hello alice')
    bob.type('/send carol 1000' + ENTER)
    await bob.waitFor('no signed message from @carol has been heard')
    bob.type('/wallet faucet 5000' + ENTER)
    await bob.waitFor('Minted 5,000 sat')
    bob.type('/send alice 1000 thanks' + ENTER)
    await bob.waitFor(`Sent 1,000 sat to alice (${alice.app.node.identity.account})`)
    await alice.waitFor('received 1,000 sat from bob: thanks')
  })
})
