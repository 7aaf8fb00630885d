/**
 * `npm run screenshot`: the README's pictures of the web chat (docs/web-chat.png and
 * docs/web-chat-phone.png), taken in headless Chromium of a real node talking to three others.
 * Nothing is staged in the page: every line is a real signed message on a real network.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { browserMissing, launchBrowser } from '../test/helpers/browser.ts'
import { connectNodes, startRpcNode } from '../test/helpers/rpc-node.ts'
import type { RpcNode } from '../test/helpers/rpc-node.ts'
import { tempDatadir } from '../test/helpers/proc.ts'
import { waitFor } from '../test/helpers/wait.ts'

const DOCS = fileURLToPath(new URL('../docs/', import.meta.url))

async function main (): Promise<void> {
  const missing = browserMissing()
  if (missing !== undefined) throw new Error(missing)
  const ledger = join(tempDatadir(), 'ledger.db')
  // One after another: four processes opening a fresh shared ledger at once can find it locked.
  const nodes: RpcNode[] = []
  for (const nick of ['alice', 'bob', 'carol', 'bob']) nodes.push(await startRpcNode(['--nick', nick, '--ledger', ledger]))
  const [alice, bob, carol, otherBob] = nodes as [RpcNode, RpcNode, RpcNode, RpcNode]
  const browser = await launchBrowser()
  try {
    for (const n of [bob, carol, otherBob]) await connectNodes(n, alice)
    for (const n of nodes) {
      await n.call('chat_join', { room: '#lobby' })
      await n.call('chat_join', { room: '#bsv-dev' })
    }
    const say = async (n: RpcNode, text: string, to = '#lobby', action = false): Promise<void> => {
      await n.call('chat_send', { to, text, action })
      await waitFor(async () => (await alice.call<Array<{ text?: string }>>('msg_history', { target: to.startsWith('#') ? to : `acct:${n.ready.account}`, limit: 5 })).some(m => m.text === text), `alice to hear "${text}"`)
    }
    await say(carol, 'morning all')
    await say(bob, 'hi carol — did anyone try the new plumtree router?')
    await say(carol, 'on 200 nodes in the simulator: 1.0 copies per delivery once the tree forms')
    await say(alice, 'nice. flooding was ~5 at degree 6')
    await say(otherBob, 'I am the real bob, by the way')
    await say(bob, 'the short account next to the nick tells us apart')
    await say(carol, 'checks the signatures', '#lobby', true)
    await say(bob, 'alice: can you share the compute service terms?')
    await say(carol, 'release notes are up: https://example.org/tmsg/0.2', '#bsv-dev')
    await say(carol, 'the sealed DMs are in, see the README for the layout', '#bsv-dev')

    await bob.call('channel_offer', { service: 'compute', pricePerUnit: 10, unit: 'op', minDeposit: 1000 })
    await alice.call('wallet_faucet', { amount: 100_000 })
    await alice.call('channel_terms', { service: 'compute', timeoutMs: 2000 })
    const { channelId } = await alice.call('channel_open', { provider: bob.ready.peerId, service: 'compute', deposit: 20_000, budget: 2000 })
    await alice.call('channel_pay', { channelId, amount: 1300 })

    mkdirSync(DOCS, { recursive: true })
    const login = `http://127.0.0.1:${alice.port}/login?token=${alice.secret}`
    const shots = [
      { file: 'web-chat.png', viewport: { width: 1200, height: 720 }, mobile: false },
      { file: 'web-chat-phone.png', viewport: { width: 390, height: 760 }, mobile: true }
    ]
    const pages = await Promise.all(shots.map(async shot => {
      const context = await browser.newContext({ viewport: shot.viewport, isMobile: shot.mobile, hasTouch: shot.mobile, deviceScaleFactor: 1, colorScheme: 'light' })
      const page = await context.newPage()
      await page.goto(login)
      if (!shot.mobile) await page.locator('#rooms .conv', { hasText: '#lobby' }).click() // on a phone the list is a closed drawer
      await page.locator('#lines .msg .text', { hasText: 'can you share' }).waitFor()
      await page.locator('#battery').waitFor()
      return { ...shot, page }
    }))
    // Arrives while the pages are open, so it shows as unread.
    await say(bob, 'got your 1,300 sat on the compute channel, thanks! results are in #bsv-dev', `acct:${alice.ready.account}`)
    for (const { page, file, mobile } of pages) {
      await page.locator('#directs .conv .badge').waitFor({ state: 'attached' })
      if (mobile) await page.locator('#input').fill('sure, sending them to #bsv-dev now')
      else {
        await page.locator('#input').fill('/q')
        await page.locator('#suggest').waitFor()
      }
      await page.screenshot({ path: join(DOCS, file) })
      process.stdout.write(`wrote docs/${file}\n`)
    }
  } finally {
    await browser.close()
    await Promise.all(nodes.map(async n => await n.stop()))
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`web-screenshot: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
