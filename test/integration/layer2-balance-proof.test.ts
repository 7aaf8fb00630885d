/**
 * A proven balance through a relay (DESIGN §8a): asker — relay — owner, each with its own
 * datadir and its own dev ledger. The owner's answer carries BEEF of its coins; the asker
 * checks it against its own chain tracker. A lying answer comes back too, marked unproven.
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
import { isNeighbour } from '../helpers/network.ts'
import { answered } from '../helpers/wait.ts'

interface L2Node extends TestNode { l2: Layer2 }

async function startL2 (): Promise<L2Node> {
  const t = await startNode('flood')
  const dir = mkdtempSync(join(tmpdir(), 'tmsg-8a-proof-'))
  const store = new Store(join(dir, 'tmsg.db'))
  const l2 = new Layer2({ node: t.node, db: store.db, log: createLogger({ level: 'silent', stderr: false }), ledgerPath: join(dir, 'ledger.db'), downloads: join(dir, 'downloads') })
  t.node.subscribe(accountTarget(t.node.identity.account))
  await l2.start()
  return { ...t, l2 }
}

describe('balance_query with proof through a relay, separate ledgers', () => {
  let asker: L2Node
  let relay: L2Node
  let owner: L2Node

  beforeAll(async () => {
    ;[asker, relay, owner] = await Promise.all([startL2(), startL2(), startL2()])
    await link(asker, relay)
    await link(relay, owner)
    expect(isNeighbour(asker, owner)).toBe(false)
    await owner.l2.wallet.faucet(30_000)
    await owner.l2.wallet.faucet(12_000)
  })
  afterAll(async () => {
    for (const n of [asker, relay, owner]) await n?.l2.stop().catch(() => {})
    await stopAll([asker, relay, owner].filter(n => n !== undefined))
  })

  it('the owner\'s coins check out against the asker\'s own chain: proven', async () => {
    const answers = await answered(async () => await asker.l2.balance.query(owner.node.identity.account, 1500, true, true), a => a.length > 0, 'the owner\'s answer')
    expect(answers).toEqual([expect.objectContaining({ account: owner.node.identity.account, balance: 42_000, status: 'ok', verified: true, proven: true, responder: owner.node.peerId })])
    // Not asked for proof: nothing is proven.
    const plain = await answered(async () => await asker.l2.balance.query(owner.node.identity.account, 1500), a => a.length > 0, 'the owner\'s answer')
    expect(plain).toEqual([expect.objectContaining({ balance: 42_000, verified: true, proven: false })])
  })

  it('an owner claiming more than its coins hold is answered, signed, and not proven', async () => {
    const svc = owner.l2.balance as unknown as { answer: (...a: unknown[]) => Promise<{ balance: number } | undefined> }
    const honest = svc.answer.bind(svc)
    svc.answer = async (...a: unknown[]) => {
      const r = await honest(...a)
      return r === undefined ? r : { ...r, balance: r.balance + 1_000 }
    }
    try {
      // wantChannels differs from the first test's request: not the owner's cached answer.
      const answers = await answered(async () => await asker.l2.balance.query(owner.node.identity.account, 1500, false, true), a => a.length > 0, 'the owner\'s answer')
      expect(answers).toEqual([expect.objectContaining({ balance: 43_000, verified: true, proven: false })])
    } finally {
      svc.answer = honest
    }
  })
})
