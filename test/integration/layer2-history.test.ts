/**
 * Layer-2 requests that come back as store-and-forward history (DESIGN §10) were asked long
 * ago, of whoever was online then: a node that restarts, or a neighbour that replays them,
 * must not make this node answer them again. Live requests are still answered.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { link, startNode, stopAll } from '../helpers/network.ts'
import type { TestNode } from '../helpers/network.ts'
import { waitFor } from '../helpers/wait.ts'
import { Store } from '../../src/store/store.ts'
import { Layer2 } from '../../src/layer2/layer2.ts'
import { createLogger } from '../../src/log.ts'
import { accountTarget } from '../../src/targets.ts'
import { encodeTermsRequest, serviceTarget } from '../../src/layer2/terms/terms.ts'
import { BalanceRequestType, encodeAs } from '../../src/layer2/proto.ts'
import { Identity } from '../../src/identity.ts'
import { buildTMsg, Kind, toHex } from '../../src/wire/index.ts'
import type { SendOptions } from '../../src/node/node.ts'

describe('layer-2 and replayed history', () => {
  let provider: TestNode & { l2: Layer2, store: Store }
  let asker: TestNode

  beforeAll(async () => {
    const t = await startNode('flood')
    const dir = mkdtempSync(join(tmpdir(), 'tmsg-l2h-'))
    const store = new Store(join(dir, 'tmsg.db'))
    const l2 = new Layer2({ node: t.node, db: store.db, log: createLogger({ level: 'silent', stderr: false }), ledgerPath: join(dir, 'ledger.db'), downloads: join(dir, 'downloads') })
    t.node.subscribe(accountTarget(t.node.identity.account)) // as the App does
    await l2.start()
    provider = { ...t, l2, store }
    asker = await startNode('flood')
    await link(asker, provider)
  })
  afterAll(async () => {
    await provider?.l2.stop()
    await stopAll([provider, asker].filter(n => n !== undefined))
    provider?.store.close()
  })

  it('answers live terms and balance requests, never the same requests replayed from history', async () => {
    provider.l2.provider.offer({ service: 'compute', pricePerUnit: 7, unit: 'op', minDeposit: 5_000, windowSeconds: 3600 })
    const sent: SendOptions[] = []
    const original = provider.node.send.bind(provider.node)
    vi.spyOn(provider.node, 'send').mockImplementation(o => { sent.push(o); return original(o) })
    const answered = (id: Uint8Array): boolean => sent.some(o => o.replyTo !== undefined && toHex(o.replyTo) === toHex(id))

    const someone = Identity.generate()
    const hourAgo = Date.now() - 3_600_000
    const balancePayload = encodeAs(BalanceRequestType, { account: provider.node.identity.account, wantChannels: true, proof: false })
    const oldBalance = buildTMsg({ target: accountTarget(provider.node.identity.account).id, payload: balancePayload, kind: Kind.BALANCE_REQUEST, ttl: 7, timestamp: hourAgo, signer: someone })
    const oldTerms = buildTMsg({ target: serviceTarget('compute').id, payload: encodeTermsRequest('compute'), kind: Kind.TERMS_REQUEST, ttl: 7, timestamp: hourAgo + 1, signer: someone })
    const r = provider.node.router.ingestHistory(asker.node.peerId, [oldBalance, oldTerms])
    expect(r.accepted).toBe(2)
    await provider.node.settled() // deliveries wait for their signature checks
    expect(provider.deliveries.filter(d => d.history === true)).toHaveLength(2) // both reached the node

    // The same requests asked live now, after the replayed ones: these are answered.
    const liveBalance = asker.node.send({ target: accountTarget(provider.node.identity.account).id, payload: balancePayload, kind: Kind.BALANCE_REQUEST }).msg
    const liveTerms = asker.node.send({ target: serviceTarget('compute').id, payload: encodeTermsRequest('compute'), kind: Kind.TERMS_REQUEST }).msg
    await waitFor(() => answered(liveBalance.msgId) && answered(liveTerms.msgId), 'the provider to answer the live requests')
    expect(answered(oldTerms.msgId)).toBe(false)
    expect(answered(oldBalance.msgId)).toBe(false)
  })
})
