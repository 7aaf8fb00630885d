/**
 * Peer-to-peer payments (DESIGN §8a "gift of cash") between real nodes over @libp2p/memory:
 * payer — relay — payee, so the PAYMENT TMsg is flooded and relayed like any other. Each node
 * keeps its own ledger: the payee knows the payment only from the BEEF it carries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Beef } from '@bsv/sdk'
import type { ChainTracker } from '@bsv/sdk'
import { link, startNode, stopAll } from '../helpers/network.ts'
import type { TestNode } from '../helpers/network.ts'
import { waitFor } from '../helpers/wait.ts'
import { Store } from '../../src/store/store.ts'
import { Layer2 } from '../../src/layer2/layer2.ts'
import { createLogger } from '../../src/log.ts'
import { accountTarget } from '../../src/targets.ts'
import { Kind } from '../../src/wire/tmsg.ts'
import { PeerPaymentType, encodeAs } from '../../src/layer2/proto.ts'
import { p2pkhLock } from '../../src/layer2/chain/tx.ts'
import { AnswerLimiter } from '../../src/layer2/answer-limit.ts'
import { LedgerRejectedError } from '../../src/layer2/chain/ledger.ts'
import type { WalletEvent } from '../../src/layer2/context.ts'

interface L2Node extends TestNode { l2: Layer2, store: Store, events: WalletEvent[] }

async function startL2 (): Promise<L2Node> {
  const t = await startNode('flood')
  const dir = mkdtempSync(join(tmpdir(), 'tmsg-pay-'))
  const ledgerPath = join(dir, 'ledger.db')
  const store = new Store(join(dir, 'tmsg.db'))
  const l2 = new Layer2({ node: t.node, db: store.db, log: createLogger({ level: 'silent', stderr: false }), ledgerPath, downloads: join(dir, 'dl'), maintainEveryMs: 3_600_000 })
  t.node.subscribe(accountTarget(t.node.identity.account))
  await l2.start()
  const events: WalletEvent[] = []
  l2.events.on('wallet', e => events.push(e))
  return { ...t, l2, store, events }
}

describe('wallet_send: a payment delivered to the payee', () => {
  let payer: L2Node
  let relay: L2Node
  let payee: L2Node

  beforeAll(async () => {
    ;[payer, relay, payee] = await Promise.all([startL2(), startL2(), startL2()])
    await link(payer, relay)
    await link(relay, payee)
    await payer.l2.wallet.faucet(50_000)
  })
  afterAll(async () => {
    for (const n of [payer, relay, payee]) await n?.l2.stop()
    await stopAll([payer, relay, payee].filter(n => n !== undefined))
    for (const n of [payer, relay, payee]) n?.store.close()
  })

  it('pays through a relay: the payee checks it, owns the coin, keeps it and is told, once', async () => {
    const r = await payer.l2.payments.send(payee.node.identity.account, 1_000, 'thanks')
    expect(r).toEqual({ txid: expect.stringMatching(/^[0-9a-f]{64}$/), amount: 1_000, to: payee.node.identity.account })
    await waitFor(() => payee.events.length > 0, 'the payee to take the payment')
    expect(payee.events).toEqual([{ type: 'received', txid: r.txid, amount: 1_000, peer: payer.node.identity.account, memo: 'thanks', at: expect.any(Number) }])
    expect(await payee.l2.wallet.balance()).toMatchObject({ balance: 1_000, utxos: 1 })
    expect(payee.l2.payments.list()).toEqual([expect.objectContaining({ type: 'received', txid: r.txid })])
    expect(payer.events).toEqual([expect.objectContaining({ type: 'sent', txid: r.txid, peer: payee.node.identity.account, amount: 1_000 })])
    expect((await payer.l2.wallet.balance()).balance).toBeLessThan(49_000) // less the fee
    expect(relay.events).toEqual([]) // passing through is not receiving
    expect(relay.node.stats().forwarded).toBeGreaterThan(0)
  })

  it('drops and counts a PAYMENT without the proof of its coins, and one paying someone else', async () => {
    const before = payee.l2.payments.dropped
    // Signed by the payer and well formed, but the BEEF lacks the coin it spends: the payee's ledger cannot check it.
    const unproven = await payer.l2.wallet.fund(p2pkhLock(payee.node.identity.account), 2_000)
    payer.l2.wallet.release(unproven.id('hex'))
    const alone = new Beef()
    alone.mergeTransaction(unproven)
    // Fully proven, but it pays the relay.
    const stranger = await payer.l2.wallet.fund(p2pkhLock(relay.node.identity.account), 2_000)
    payer.l2.wallet.release(stranger.id('hex'))
    for (const beef of [Uint8Array.from(alone.toBinary()), await payer.l2.wallet.beef(stranger)]) {
      payer.node.send({ target: accountTarget(payee.node.identity.account).id, kind: Kind.PAYMENT, payload: encodeAs(PeerPaymentType, { beef, memo: 'free money' }) })
    }
    await waitFor(() => payee.l2.payments.dropped === before + 2, 'both payments to be dropped')
    expect(payee.events).toHaveLength(1)
    expect((await payee.l2.wallet.balance()).balance).toBe(1_000)
  })

  it('a payment re-sent by someone who did not pay it is dropped; the payer\'s own still counts', async () => {
    // The relay sees the payment pass and races it to the payee under its own name and memo.
    const tx = await payer.l2.wallet.fund(p2pkhLock(payee.node.identity.account), 1_500)
    await payer.l2.ledger.broadcast(tx) // spent for good: the payee will know it spent
    await payer.l2.wallet.sync()
    const beef = await payer.l2.wallet.beef(tx)
    const before = payee.l2.payments.dropped
    const told = payee.events.length
    relay.node.send({ target: accountTarget(payee.node.identity.account).id, kind: Kind.PAYMENT, payload: encodeAs(PeerPaymentType, { beef, memo: 'paid by relay' }) })
    await waitFor(() => payee.l2.payments.dropped === before + 1, 'the relay\'s copy to be dropped')
    expect(payee.events).toHaveLength(told)
    payer.node.send({ target: accountTarget(payee.node.identity.account).id, kind: Kind.PAYMENT, payload: encodeAs(PeerPaymentType, { beef, memo: 'from payer' }) })
    await waitFor(() => payee.events.length === told + 1, 'the payer\'s own to be taken')
    expect(payee.events.at(-1)).toMatchObject({ txid: tx.id('hex'), peer: payer.node.identity.account, memo: 'from payer', amount: 1_500 })
  })

  it('two copies of one payment checked at the same time tell the user once', async () => {
    const tx = await payer.l2.wallet.fund(p2pkhLock(payee.node.identity.account), 1_200)
    await payer.l2.ledger.broadcast(tx) // spent for good: the payee will know it spent
    await payer.l2.wallet.sync()
    const beef = await payer.l2.wallet.beef(tx)
    // The payee's tracker answers only once both copies are in: both are being checked together.
    const ledger = payee.l2.ledger as unknown as { tracker: ChainTracker }
    const tracker = ledger.tracker
    let open!: () => void
    const gate = new Promise<void>(resolve => { open = resolve })
    let asked = 0
    ledger.tracker = { isValidRootForHeight: async (root, height) => { asked++; await gate; return await tracker.isValidRootForHeight(root, height) }, currentHeight: async () => await tracker.currentHeight() }
    const wallet = payee.l2.wallet
    const sync = wallet.sync.bind(wallet)
    let synced = 0
    wallet.sync = async () => { await sync(); synced++ }
    try {
      const told = payee.events.length
      for (const memo of ['once', 'once again']) payer.node.send({ target: accountTarget(payee.node.identity.account).id, kind: Kind.PAYMENT, payload: encodeAs(PeerPaymentType, { beef, memo }) })
      await waitFor(() => asked === 2, 'both copies to be under check')
      open()
      // Each copy ends by syncing the wallet: once both have, the second would have been told.
      await waitFor(() => synced >= 2, 'both copies to be done')
      expect(payee.events.filter(e => e.txid === tx.id('hex'))).toHaveLength(1)
      expect(payee.events).toHaveLength(told + 1)
    } finally {
      ledger.tracker = tracker
      wallet.sync = sync
    }
  })

  it('checks payments within a budget: over it, even a valid one is dropped unchecked and counted', async () => {
    const svc = payee.l2.payments as unknown as { budget: AnswerLimiter }
    const budget = svc.budget
    svc.budget = new AnswerLimiter({ perSecond: 0.001, burst: 1 })
    svc.budget.allow() // spent
    try {
      const before = payee.l2.payments.dropped
      await payer.l2.payments.send(payee.node.identity.account, 700, 'too many')
      await waitFor(() => payee.l2.payments.dropped === before + 1, 'the payment to be dropped')
      expect(payee.events.filter(e => e.memo === 'too many')).toEqual([])
      expect(svc.budget.refused).toBe(1)
    } finally {
      svc.budget = budget
    }
  })

  it('a broadcast whose answer was lost keeps the signed payment and its coins; maintenance sends it again', async () => {
    const ledger = payer.l2.ledger as unknown as { broadcast: (tx: unknown) => Promise<string> }
    const broadcast = ledger.broadcast
    // ARC timed out: it may or may not have the payment.
    ledger.broadcast = async () => await Promise.reject(new LedgerRejectedError('network', 'ARC could not be reached: timed out'))
    const before = await payer.l2.wallet.balance()
    const told = payee.events.length
    let txid = ''
    try {
      await expect(payer.l2.payments.send(payee.node.identity.account, 900, 'late')).rejects.toMatchObject({ code: 'LEDGER_REJECTED', message: expect.stringMatching(/kept signed/) })
      txid = payer.l2.payments.list().find(p => p.memo === 'late')?.txid ?? ''
      expect(txid).toMatch(/^[0-9a-f]{64}$/)
      // Its coins are held: nothing else may spend them while the network may have the payment.
      expect((await payer.l2.wallet.balance()).reserved).toBeGreaterThan(before.reserved)
      await payer.l2.maintain() // still unreachable: kept
      expect(payer.l2.payments.list().some(p => p.txid === txid)).toBe(true)
    } finally {
      ledger.broadcast = broadcast
    }
    await payer.l2.maintain()
    await waitFor(() => payee.events.length === told + 1, 'the payee to get the payment sent again')
    expect(payee.events.at(-1)).toMatchObject({ txid, amount: 900, memo: 'late', peer: payer.node.identity.account })
    expect(payer.events.filter(e => e.txid === txid)).toEqual([expect.objectContaining({ type: 'sent' })])
    expect((await payer.l2.wallet.balance()).reserved).toBe(before.reserved)
  })

  it('a payment the ledger refuses for good gives its coins back and is not kept', async () => {
    const ledger = payer.l2.ledger as unknown as { broadcast: (tx: unknown) => Promise<string> }
    const broadcast = ledger.broadcast
    ledger.broadcast = async () => await Promise.reject(new LedgerRejectedError('double-spend', 'input already spent'))
    const before = await payer.l2.wallet.balance()
    try {
      await expect(payer.l2.payments.send(payee.node.identity.account, 800, 'refused')).rejects.toMatchObject({ code: 'LEDGER_REJECTED' })
    } finally {
      ledger.broadcast = broadcast
    }
    expect(await payer.l2.wallet.balance()).toEqual(before)
    expect(payer.l2.payments.list().some(p => p.memo === 'refused')).toBe(false)
  })

  it('a payment the payee cannot check because its chain services are down is checked again, not dropped', async () => {
    const ledger = payee.l2.ledger as unknown as { learn: (b: unknown) => Promise<void> }
    const learn = ledger.learn
    let tried = 0
    ledger.learn = async () => { tried++; return await Promise.reject(new LedgerRejectedError('network', 'ARC could not be reached')) }
    const told = payee.events.length
    const dropped = payee.l2.payments.dropped
    let txid = ''
    try {
      txid = (await payer.l2.payments.send(payee.node.identity.account, 600, 'while down')).txid
      await waitFor(() => tried === 1, 'the payee to try')
      await payee.l2.maintain() // still down
      await waitFor(() => tried === 2, 'the payee to try again')
    } finally {
      ledger.learn = learn
    }
    await payee.l2.maintain()
    await waitFor(() => payee.events.length === told + 1, 'the payment to be taken once the services answer')
    expect(payee.events.at(-1)).toMatchObject({ txid, amount: 600, memo: 'while down' })
    expect(payee.l2.payments.dropped).toBe(dropped)
  })

  it('refuses to pay more than the wallet holds, keeping every coin', async () => {
    const before = await payer.l2.wallet.balance()
    await expect(payer.l2.payments.send(payee.node.identity.account, 10_000_000)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' })
    expect(await payer.l2.wallet.balance()).toEqual(before)
  })
})
