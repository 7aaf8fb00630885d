/**
 * DESIGN §8a: two nodes, each with its OWN datadir and its OWN dev ledger (nothing shared):
 * channel funding, top-up and settlement travel as BEEF, each ledger learns them, and each
 * wallet ends with the right coins. Then the client's refund after expiry with the provider gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { link, startNode, stopAll } from '../helpers/network.ts'
import type { TestNode } from '../helpers/network.ts'
import { Store } from '../../src/store/store.ts'
import { Layer2 } from '../../src/layer2/layer2.ts'
import { createLogger } from '../../src/log.ts'
import { accountTarget } from '../../src/targets.ts'
import { waitFor } from '../helpers/wait.ts'
import { LedgerRejectedError } from '../../src/layer2/chain/ledger.ts'

interface L2Node extends TestNode { l2: Layer2, store: Store }

const clock = { t: Math.floor(Date.now() / 1000) }

async function startL2 (): Promise<L2Node> {
  const t = await startNode('flood')
  const dir = mkdtempSync(join(tmpdir(), 'tmsg-8a-sep-'))
  const store = new Store(join(dir, 'tmsg.db'))
  // Each node its own ledger file, in its own datadir.
  const l2 = new Layer2({ node: t.node, db: store.db, log: createLogger({ level: 'silent', stderr: false }), ledgerPath: join(dir, 'ledger.db'), downloads: join(dir, 'downloads'), now: () => clock.t, maintainEveryMs: 200 })
  t.node.subscribe(accountTarget(t.node.identity.account))
  await l2.start()
  return { ...t, l2, store }
}

describe('layer-2 between nodes with separate ledgers', () => {
  let client: L2Node
  let provider: L2Node

  beforeAll(async () => {
    ;[client, provider] = await Promise.all([startL2(), startL2()])
    await link(client, provider)
    await client.l2.wallet.faucet(1_000_000)
  })
  afterAll(async () => {
    for (const n of [client, provider]) await n?.l2.stop().catch(() => {})
    await stopAll([client, provider].filter(n => n !== undefined))
  })

  it('terms → open → 100 payments → top-up → close: each wallet shows the right coins', async () => {
    provider.l2.provider.offer({ service: 'compute', pricePerUnit: 10, unit: 'op', minDeposit: 5_000, windowSeconds: 3600 })
    await client.l2.client.terms('compute', 1500)
    const opened = await client.l2.client.open(provider.node.peerId, 'compute', 20_000)
    expect(opened).toMatchObject({ state: 'open', deposit: 20_000 })
    // The provider's own ledger learned the funding from the client's BEEF.
    expect(await provider.l2.ledger.output(opened.channelId, 0)).toMatchObject({ satoshis: 20_000 })
    expect(await client.l2.ledger.output(opened.channelId, 0)).toMatchObject({ satoshis: 20_000 })
    for (let i = 1; i <= 100; i++) {
      await client.l2.client.pay(opened.channelId, 150)
      if (i === 60) expect(await client.l2.client.topUp(opened.channelId, 10_000)).toEqual({ deposit: 30_000 })
    }
    const closed = await client.l2.client.close(opened.channelId)
    expect(closed.paid).toBe(15_000)
    // Both ledgers saw the settlement spend the funding; the provider earned exactly what was paid.
    expect((await provider.l2.wallet.balance()).balance).toBe(15_000)
    const settlement = await client.l2.ledger.output(closed.txid, 0)
    expect(settlement).toMatchObject({ satoshis: 15_000 })
    const mine = await client.l2.wallet.balance()
    // What the client holds: everything it had, less what it paid and the fees of its transactions.
    expect(mine.balance).toBeLessThan(1_000_000 - 15_000)
    expect(mine.balance).toBeGreaterThan(1_000_000 - 15_000 - 1_000)
    expect(mine.reserved).toBe(0)
  })

  it('closed by the provider: the client learns the settlement from the provider, gets its change, and never refunds', async () => {
    provider.l2.provider.offer({ service: 'by-provider', pricePerUnit: 1, unit: 'op', minDeposit: 1_000, windowSeconds: 1200 })
    await client.l2.client.terms('by-provider', 1500)
    const before = (await client.l2.wallet.balance()).balance
    const earned = (await provider.l2.wallet.balance()).balance
    const opened = await client.l2.client.open(provider.node.peerId, 'by-provider', 6_000)
    for (let i = 0; i < 10; i++) await client.l2.client.pay(opened.channelId, 100)
    const closed = await provider.l2.provider.close(opened.channelId)
    expect(closed).toMatchObject({ paid: 1_000 })
    await waitFor(() => client.l2.channels.get(opened.channelId)?.state === 'closed', 'the client to learn the settlement', 20_000, 50)
    expect(client.l2.channels.get(opened.channelId)?.closeTxid).toBe(closed.txid)
    expect((await provider.l2.wallet.balance()).balance).toBe(earned + 1_000)
    const after = await client.l2.wallet.balance()
    // The change came back: only the 1,000 paid and the fees are gone.
    expect(after.balance).toBeLessThan(before - 1_000)
    expect(after.balance).toBeGreaterThan(before - 1_000 - 1_000)
    // Past expiry nothing is refunded: the funding is spent in the client's own ledger.
    clock.t += 1300
    await client.l2.maintain()
    expect(client.l2.channels.get(opened.channelId)?.state).toBe('closed')
    expect((await client.l2.wallet.balance()).balance).toBe(after.balance)
  })

  it('a provider whose settlement failed until expiry learns the client\'s refund: it stops settling and counts nothing earned', async () => {
    provider.l2.provider.offer({ service: 'late', pricePerUnit: 1, unit: 'op', minDeposit: 1_000, windowSeconds: 1200 })
    await client.l2.client.terms('late', 1500)
    const opened = await client.l2.client.open(provider.node.peerId, 'late', 6_000)
    await client.l2.client.pay(opened.channelId, 7)
    const ledger = provider.l2.ledger as unknown as { broadcast: (tx: unknown) => Promise<string> }
    const broadcast = ledger.broadcast
    // The provider cannot get its settlement out (ARC down) until the client's refund matures.
    ledger.broadcast = async () => await Promise.reject(new LedgerRejectedError('network', 'ARC could not be reached'))
    try {
      clock.t += 1300 // past expiry
      await waitFor(() => client.l2.channels.get(opened.channelId)?.state === 'refunded', 'the client to refund', 20_000, 100)
      await waitFor(() => provider.l2.channels.get(opened.channelId)?.state === 'refunded', 'the provider to learn the refund', 10_000, 100)
    } finally {
      ledger.broadcast = broadcast
    }
    expect(provider.l2.provider.earnings().find(e => e.service === 'late')).toMatchObject({ earned: 0 })
  })

  it('refunds after expiry when the provider has vanished: the client\'s own ledger takes the refund', async () => {
    provider.l2.provider.offer({ service: 'short', pricePerUnit: 1, unit: 'op', minDeposit: 1_000, windowSeconds: 1200 })
    await client.l2.client.terms('short', 1500)
    const before = (await client.l2.wallet.balance()).balance
    const opened = await client.l2.client.open(provider.node.peerId, 'short', 8_000)
    await client.l2.client.pay(opened.channelId, 5) // the provider never settles: it vanishes
    await provider.l2.stop()
    await provider.node.stop()
    clock.t += 1300 // past expiry
    await waitFor(() => client.l2.channels.get(opened.channelId)?.state === 'refunded', 'the refund to go out', 30_000, 100)
    const after = await client.l2.wallet.balance()
    // Back: the deposit less the funding's and the refund's fees.
    expect(after.balance).toBeGreaterThan(before - 1_000)
    expect(after.balance).toBeLessThan(before)
    expect(after.reserved).toBe(0)
  })
})
