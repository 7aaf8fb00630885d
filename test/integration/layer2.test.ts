/**
 * Layer-2 across real nodes over @libp2p/memory, sharing one development ledger file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { link, startNode, stopAll } from '../helpers/network.ts'
import type { TestNode } from '../helpers/network.ts'
import { Store } from '../../src/store/store.ts'
import { Layer2 } from '../../src/layer2/layer2.ts'
import { createLogger } from '../../src/log.ts'
import { p2pkhLock, txFromBytes } from '../../src/layer2/chain/tx.ts'
import { accountTarget } from '../../src/targets.ts'
import { answered } from '../helpers/wait.ts'

interface L2Node extends TestNode { l2: Layer2, store: Store, dir: string }

async function startL2 (ledgerPath: string): Promise<L2Node> {
  const t = await startNode('flood')
  const dir = mkdtempSync(join(tmpdir(), 'tmsg-l2i-'))
  const store = new Store(join(dir, 'tmsg.db'))
  const l2 = new Layer2({ node: t.node, db: store.db, log: createLogger({ level: 'silent', stderr: false }), ledgerPath, downloads: join(dir, 'downloads') })
  t.node.subscribe(accountTarget(t.node.identity.account)) // as the App does
  await l2.start()
  return { ...t, l2, store, dir }
}

describe('layer-2 over an in-process network', () => {
  let client: L2Node
  let relay: L2Node
  let provider: L2Node
  let ledgerPath: string

  beforeAll(async () => {
    ledgerPath = join(mkdtempSync(join(tmpdir(), 'tmsg-ledger-')), 'ledger.db')
    ;[client, relay, provider] = await Promise.all([startL2(ledgerPath), startL2(ledgerPath), startL2(ledgerPath)])
    await link(client, relay) // client — relay — provider: no direct flood link between the ends
    await link(relay, provider)
    await client.l2.wallet.faucet(1_000_000)
  })
  afterAll(async () => {
    for (const n of [client, relay, provider]) await n?.l2.stop()
    await stopAll([client, relay, provider].filter(n => n !== undefined))
    for (const n of [client, relay, provider]) n?.store.close()
  })

  it('answers a balance query through a relay, verified only from the owner', async () => {
    const answers = await answered(async () => await client.l2.balance.query(provider.node.identity.account, 1500), a => a.length > 0, 'the provider\'s answer')
    expect(answers).toEqual([expect.objectContaining({ account: provider.node.identity.account, balance: 0, status: 'ok', verified: true, responder: provider.node.peerId })])
    expect(relay.node.stats().forwarded).toBeGreaterThanOrEqual(2) // request out, reply back
    const own = await client.l2.balance.query(client.node.identity.account, 500)
    expect(own[0]).toMatchObject({ balance: 1_000_000, verified: true, responder: client.node.peerId })
  })

  it('runs a channel: 100 payments, a top-up and a close, every transaction accepted by the shared ledger', async () => {
    provider.l2.provider.offer({ service: 'compute', pricePerUnit: 7, unit: 'op', minDeposit: 5_000, windowSeconds: 3600 })
    const terms = await answered(async () => await client.l2.client.terms('compute', 1500), t => t.length > 0, 'the compute terms')
    expect(terms).toEqual([expect.objectContaining({ provider: provider.node.peerId, account: provider.node.identity.account, pricePerUnit: 7, unit: 'op' })])
    const opened = await client.l2.client.open(provider.node.peerId, 'compute', 20_000)
    expect(opened).toMatchObject({ state: 'open', deposit: 20_000 })
    const id = opened.channelId
    let last
    for (let i = 1; i <= 100; i++) {
      last = await client.l2.client.pay(id, 150)
      if (i === 60) expect(await client.l2.client.topUp(id, 10_000)).toEqual({ deposit: 30_000 })
    }
    expect(last).toMatchObject({ sequence: 100, paid: 15_000 })
    expect(provider.l2.channels.get(id)).toMatchObject({ state: 'open', sequence: 100, paid: 15_000, role: 'provider' })
    expect(provider.l2.provider.earnings()).toEqual([{ service: 'compute', active: true, channels: 1, earned: 15_000 }])

    // A third node asking about the client's account hears the client (verified) and the provider's claim.
    const claims = await answered(async () => await relay.l2.balance.query(client.node.identity.account, 1500), a => a.length >= 2, 'answers from the client and the provider')
    expect(claims.find(a => a.responder === client.node.peerId)).toMatchObject({ verified: true, status: 'ok' })
    expect(claims.find(a => a.responder === provider.node.peerId)).toMatchObject({ verified: false, status: 'channels', channels: [expect.objectContaining({ id, paid: 15_000 })] })

    const closed = await client.l2.client.close(id)
    expect(closed.paid).toBe(15_000)
    const settlement = await client.l2.ledger.output(closed.txid, 0)
    expect(settlement).toMatchObject({ satoshis: 15_000, script: p2pkhLock(provider.node.identity.account).toHex() })
    for (const f of client.l2.channels.get(id)!.fundingTxs) {
      const txid = txFromBytes(Buffer.from(f, 'hex')).id('hex')
      expect((await client.l2.ledger.output(txid, 0))?.spentBy).toBe(closed.txid) // both funding outputs settled
    }
    expect((await provider.l2.wallet.balance()).balance).toBe(15_000)
    expect(closed.refunded).toBe((await client.l2.ledger.output(closed.txid, 1))!.satoshis)
  })

  it('streams a metered file chunk by chunk, each checked against the root, until the budget stops it', async () => {
    const content = randomBytes(40 * 1024 + 123) // 3 chunks of 16 KiB
    const file = join(provider.dir, 'movie.bin')
    writeFileSync(file, content)
    const offer = provider.l2.provider.offer({ service: 'movie', pricePerUnit: 1000, unit: 'chunk', minDeposit: 2_000, windowSeconds: 3600, file })
    expect(offer.contentRoot).toMatch(/^[0-9a-f]{64}$/)
    await answered(async () => await client.l2.client.terms('movie', 1500), t => t.length > 0, 'the movie terms')
    const alerts: string[] = []
    client.l2.events.on('alert', a => alerts.push(a.alert))
    const { channelId } = await client.l2.client.open(provider.node.identity.account, 'movie', 10_000, 2_000)
    const r = await client.l2.client.fetch(channelId)
    expect(r).toMatchObject({ received: 2, verified: true, paid: 2000, stoppedBy: 'budget', complete: false })
    expect(readFileSync(r.path)).toEqual(content.subarray(0, 2 * 16 * 1024))
    expect(alerts).toEqual(['warn-80', 'warn-95', 'exhausted'])
    expect(client.l2.client.status(channelId)).toMatchObject({ paid: 2000, remaining: 0, alerts: ['warn-80', 'warn-95', 'exhausted'] })
    expect(provider.l2.channels.get(channelId)!.unitsServed).toBe(2)
  })
})
