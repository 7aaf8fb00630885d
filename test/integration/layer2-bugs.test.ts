/**
 * The channel bugs a user hit (issue 8, item 6), each as the user met it: two real nodes over
 * @libp2p/memory, one development ledger, and a ledger clock the test moves forward so that
 * expiry comes without waiting. Maintenance runs only when the test calls it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { link, startNode, stopAll } from '../helpers/network.ts'
import type { TestNode } from '../helpers/network.ts'
import { Store } from '../../src/store/store.ts'
import { Layer2 } from '../../src/layer2/layer2.ts'
import type { Layer2Init } from '../../src/layer2/layer2.ts'
import { createLogger } from '../../src/log.ts'
import { ChannelError } from '../../src/layer2/errors.ts'
import { LedgerRejectedError } from '../../src/layer2/chain/ledger.ts'
import type { ChannelEvent } from '../../src/layer2/channels/events.ts'
import { p2pkhLock } from '../../src/layer2/chain/tx.ts'
import { accountTarget } from '../../src/targets.ts'
import { CommandTable } from '../../tui/commands.ts'
import type { CommandContext } from '../../tui/commands.ts'
import { LAYER2_COMMANDS } from '../../tui/layer2-commands.ts'
import { answered } from '../helpers/wait.ts'

interface L2Node extends TestNode { l2: Layer2, store: Store, dir: string }

/** The ledger clock of every node in this file (Unix seconds). */
let clock = 1_900_000_000
const HOUR = 3600

async function startL2 (ledgerPath: string, extra: Partial<Layer2Init> = {}): Promise<L2Node> {
  const t = await startNode('flood')
  const dir = mkdtempSync(join(tmpdir(), 'tmsg-l2bugs-'))
  const store = new Store(join(dir, 'tmsg.db'))
  const l2 = new Layer2({
    node: t.node, db: store.db, log: createLogger({ level: 'silent', stderr: false }), ledgerPath, downloads: join(dir, 'downloads'),
    maintainEveryMs: 24 * 3600_000, now: () => clock, ...extra
  })
  t.node.subscribe(accountTarget(t.node.identity.account))
  await l2.start()
  return { ...t, l2, store, dir }
}

async function codeOf (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'none'
  } catch (err: unknown) {
    if (err instanceof ChannelError) return `${err.fromPeer ? 'peer:' : ''}${err.code}`
    throw err
  }
}

describe('channel bugs a user hits', () => {
  let client: L2Node
  let provider: L2Node
  let ledgerPath: string

  beforeAll(async () => {
    ledgerPath = join(mkdtempSync(join(tmpdir(), 'tmsg-l2bugs-ledger-')), 'ledger.db')
    ;[client, provider] = await Promise.all([startL2(ledgerPath), startL2(ledgerPath)])
    await link(client, provider)
    await client.l2.wallet.faucet(2_000_000)
    provider.l2.provider.offer({ service: 'compute', pricePerUnit: 1, unit: 'op', minDeposit: 1_000, windowSeconds: HOUR })
    expect(await answered(async () => await client.l2.client.terms('compute', 1500), t => t.length > 0, 'the compute terms')).toHaveLength(1)
  })
  afterAll(async () => {
    for (const n of [client, provider]) await n?.l2.stop()
    await stopAll([client, provider].filter(n => n !== undefined))
    for (const n of [client, provider]) n?.store.close()
  })

  const open = async (deposit = 20_000): Promise<string> => (await client.l2.client.open(provider.node.peerId, 'compute', deposit)).channelId

  it('the provider closes a topped-up channel: settled with the real refund figure, and no payment is taken after', async () => {
    const id = await open()
    for (let i = 0; i < 3; i++) await client.l2.client.pay(id, 100)
    expect(await client.l2.client.topUp(id, 10_000)).toEqual({ deposit: 30_000 })
    const before = (await client.l2.wallet.balance()).balance
    const r = await provider.l2.provider.close(id)
    expect(r.paid).toBe(300)
    expect(await provider.l2.ledger.output(r.txid, 0)).toMatchObject({ satoshis: 300, script: p2pkhLock(provider.node.identity.account).toHex() })
    const change = (await provider.l2.ledger.output(r.txid, 1))!.satoshis
    // What the client gets back: the settlement's change now, and the top-up by its own refund at expiry.
    expect(r.refunded).toBeGreaterThan(change)
    expect(r.refunded).toBeLessThan(30_000 - 300)
    expect(provider.l2.channels.get(id)!.state).toBe('closed')
    expect(await codeOf(client.l2.client.pay(id, 100))).toBe('peer:NOT_OPEN')
    expect(provider.l2.channels.get(id)!.paid).toBe(300)

    // The client notices the settlement, and takes the top-up back by its refund once it matures.
    await client.l2.maintain()
    expect(client.l2.channels.get(id)).toMatchObject({ state: 'closing', closeTxid: r.txid })
    clock += HOUR + 60
    await client.l2.maintain()
    expect(client.l2.channels.get(id)).toMatchObject({ state: 'closed', closeTxid: r.txid })
    expect((await client.l2.wallet.balance()).balance - before).toBe(r.refunded)
  })

  it('the client closes a topped-up channel: one settlement spends both fundings', async () => {
    const id = await open()
    await client.l2.client.pay(id, 500)
    await client.l2.client.topUp(id, 10_000)
    const r = await client.l2.client.close(id)
    expect(r.paid).toBe(500)
    const ch = client.l2.channels.get(id)!
    expect(ch).toMatchObject({ state: 'closed', closeTxid: r.txid })
    for (const f of ch.fundings) expect((await client.l2.ledger.output(f.txid, f.vout))?.spentBy).toBe(r.txid)
    expect((await client.l2.ledger.output(r.txid, 1))!.satoshis).toBe(r.refunded)
    expect(provider.l2.channels.get(id)!.state).toBe('closed')
    expect(await codeOf(client.l2.client.pay(id, 1))).toBe('NOT_OPEN')
  })

  it('a settlement that never lands: the client keeps watching and broadcasts its refund after expiry', async () => {
    const id = await open(10_000)
    await client.l2.client.pay(id, 700)
    const seen: ChannelEvent[] = []
    const onEvent = (e: ChannelEvent): void => { if (e.channelId === id) seen.push(e) }
    client.l2.events.on('event', onEvent)
    provider.l2.events.on('event', onEvent)
    // A provider that answers "closed" with a txid it never broadcast.
    const honest = provider.l2.provider.close.bind(provider.l2.provider)
    provider.l2.provider.close = async () => await Promise.resolve({ txid: 'ee'.repeat(32), paid: 700, refunded: 0 })
    try {
      expect(await codeOf(client.l2.client.close(id))).toBe('SETTLEMENT_UNSEEN')
    } finally {
      provider.l2.provider.close = honest
    }
    expect(client.l2.channels.get(id)!.state).toBe('closing')
    const before = (await client.l2.wallet.balance()).balance
    await client.l2.maintain()
    expect(client.l2.channels.get(id)!.state).toBe('closing') // not yet expired: nothing to do but watch
    clock += HOUR + 60
    await client.l2.maintain()
    const ch = client.l2.channels.get(id)!
    expect(ch.state).toBe('refunded')
    expect((await client.l2.ledger.output(ch.fundings[0]!.txid, 0))?.spentBy).toBe(ch.closeTxid)
    expect((await client.l2.wallet.balance()).balance - before).toBeGreaterThan(9_900)

    // The provider, back too late, sees the refund: no settlement retried, nothing earned.
    await provider.l2.maintain()
    expect(provider.l2.channels.get(id)).toMatchObject({ state: 'refunded', closeTxid: ch.closeTxid })
    client.l2.events.off('event', onEvent)
    provider.l2.events.off('event', onEvent)
    expect(seen.map(e => `${e.role} ${e.type}`)).toEqual(['client close', 'client settlement', 'client refund', 'provider refund'])
    expect(seen[1]).toMatchObject({ txid: 'ee'.repeat(32), confirmed: false })
    expect(seen[2]).toMatchObject({ txid: ch.closeTxid, confirmed: true, amount: expect.any(Number) })
    expect(seen[3]).toMatchObject({ txid: ch.closeTxid })
  })

  it('the provider notices a refund: it stops settling and does not count the money as earned', async () => {
    const id = await open(10_000)
    await client.l2.client.pay(id, 400)
    const earnedBefore = provider.l2.provider.earnings()[0]!.earned
    clock += HOUR + 60 // the provider was away until after expiry; the client refunds
    await client.l2.maintain()
    expect(client.l2.channels.get(id)!.state).toBe('refunded')
    await provider.l2.maintain()
    expect(provider.l2.channels.get(id)).toMatchObject({ state: 'refunded' })
    expect(provider.l2.provider.earnings()[0]!.earned).toBe(earnedBefore - 400)
    expect(await codeOf(provider.l2.provider.close(id))).toBe('NOT_OPEN')
  })

  it('channel_fetch says verified: false when a paid chunk does not match the committed root, and stops paying', async () => {
    const file = join(provider.dir, 'film.bin')
    writeFileSync(file, randomBytes(3 * 16 * 1024))
    provider.l2.provider.offer({ service: 'film', pricePerUnit: 10, unit: 'chunk', minDeposit: 1_000, windowSeconds: HOUR, file })
    await answered(async () => await client.l2.client.terms('film', 1500), t => t.length > 0, 'the film terms')
    const good = await client.l2.client.open(provider.node.peerId, 'film', 5_000)
    expect(await client.l2.client.fetch(good.channelId)).toMatchObject({ received: 3, verified: true, complete: true })

    const bad = await client.l2.client.open(provider.node.peerId, 'film', 5_000)
    // The client was told another root than the one the provider serves.
    client.l2.channels.update(bad.channelId, { contentRoot: 'ab'.repeat(32) })
    const r = await client.l2.client.fetch(bad.channelId)
    expect(r).toMatchObject({ received: 0, verified: false, stoppedBy: 'bad-chunk', paid: 10, complete: false })
  })

  it('/wallet faucet <amount> does what /help wallet says', async () => {
    const table = new CommandTable(LAYER2_COMMANDS)
    const printed: Array<[string, string]> = []
    const ctx = { app: { layer2: client.l2 }, print: (text: string, level = 'info') => { printed.push([level, text]) } } as unknown as CommandContext
    const help = [...table.helpLines(), ...table.commandHelp('wallet')].join('\n')
    expect(help).toContain('/wallet faucet <amount>')
    const before = (await client.l2.wallet.balance()).balance
    await table.run(ctx, 'wallet', 'faucet 5000')
    expect(printed.filter(([l]) => l === 'error')).toEqual([])
    expect((await client.l2.wallet.balance()).balance).toBe(before + 5000)
    await table.run(ctx, 'wallet', 'faucet')
    expect(printed.at(-1)).toEqual(['error', expect.stringContaining('/wallet faucet <amount>')])
    await table.run(ctx, 'wallet', '')
    expect(printed.at(-1)![1]).toContain(client.node.identity.account)
  })

  it('a funding the ledger refuses for good: the open fails and its coins come back (no retry holding them forever)', async () => {
    const ledger = client.l2.ledger as unknown as { broadcast: (tx: unknown) => Promise<string> }
    const broadcast = ledger.broadcast
    const before = await client.l2.wallet.balance()
    ledger.broadcast = async () => await Promise.reject(new LedgerRejectedError('malformed', 'ARC refused the transaction: 465 Fee too low'))
    try {
      expect(await codeOf(client.l2.client.open(provider.node.peerId, 'compute', 5_000))).toBe('LEDGER_REJECTED')
    } finally {
      ledger.broadcast = broadcast
    }
    const failed = client.l2.client.list().filter(c => c.role === 'client' && c.state === 'failed')
    expect(failed.length).toBeGreaterThan(0)
    expect(await client.l2.wallet.balance()).toEqual(before)
    // A top-up refused the same way leaves the channel as it was.
    const id = await open(5_000)
    const opened = client.l2.client.status(id)
    const held = await client.l2.wallet.balance()
    ledger.broadcast = async () => await Promise.reject(new LedgerRejectedError('double-spend', 'input already spent'))
    try {
      expect(await codeOf(client.l2.client.topUp(id, 2_000))).toBe('LEDGER_REJECTED')
    } finally {
      ledger.broadcast = broadcast
    }
    expect(client.l2.client.status(id)).toMatchObject({ state: 'open', deposit: opened.deposit })
    expect(await client.l2.wallet.balance()).toEqual(held)
    expect(await client.l2.client.topUp(id, 2_000)).toEqual({ deposit: opened.deposit + 2_000 })
  })

  it('refuses terms whose refund window is beyond --max-window', async () => {
    provider.l2.provider.offer({ service: 'slow', pricePerUnit: 1, unit: 'op', minDeposit: 1_000, windowSeconds: 8 * 86400 })
    await answered(async () => await client.l2.client.terms('slow', 1500), t => t.length > 0, 'the slow terms')
    const spent = (await client.l2.wallet.balance()).balance
    expect(await codeOf(client.l2.client.open(provider.node.peerId, 'slow', 5_000))).toBe('WINDOW_TOO_LONG')
    expect((await client.l2.wallet.balance()).balance).toBe(spent) // nothing funded

    const patient = await startL2(ledgerPath, { maxWindowSeconds: 10 * 86400 })
    try {
      await link(patient, provider)
      await patient.l2.wallet.faucet(10_000)
      await answered(async () => await patient.l2.client.terms('slow', 1500), t => t.length > 0, 'the slow terms')
      expect((await patient.l2.client.open(provider.node.peerId, 'slow', 5_000)).state).toBe('open')
    } finally {
      await patient.l2.stop()
      await stopAll([patient])
      patient.store.close()
    }
  })
})
