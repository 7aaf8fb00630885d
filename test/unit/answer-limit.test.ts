import { describe, expect, it } from 'vitest'
import { EventEmitter } from 'node:events'
import { AnswerLimiter } from '../../src/layer2/answer-limit.ts'
import { BalanceService } from '../../src/layer2/balances/balance.ts'
import type { Layer2Context } from '../../src/layer2/context.ts'
import { BalanceRequestType, encodeAs } from '../../src/layer2/proto.ts'
import { Identity } from '../../src/identity.ts'
import { buildTMsg, Kind } from '../../src/wire/index.ts'
import { randomBytes } from 'node:crypto'
import { createLogger } from '../../src/log.ts'

describe('answers to flooded requests', () => {
  it('a flood of balance requests costs a few wallet syncs and a bounded number of signed answers', async () => {
    const me = Identity.generate()
    let now = 1_750_000_000_000
    let walletSyncs = 0
    const sent: unknown[] = []
    const ctx = {
      identity: me,
      node: { send: (o: unknown) => { sent.push(o); return { msgId: 'x', neighbours: 1 } } },
      // The owner's answer counts its spendable coins: one wallet read per answer computed.
      wallet: { spendable: async () => { walletSyncs++; return await Promise.resolve([{ txid: 'aa'.repeat(32), vout: 0, satoshis: 1234 }]) } },
      channels: { list: () => [] },
      log: createLogger({ level: 'silent', stderr: false }),
      events: new EventEmitter()
    } as unknown as Layer2Context
    const svc = new BalanceService(ctx, new AnswerLimiter({ perSecond: 20, burst: 50, cacheMs: 2000, now: () => now }))
    const request = (): void => {
      const msg = buildTMsg({ target: randomBytes(16), kind: Kind.BALANCE_REQUEST, payload: encodeAs(BalanceRequestType, { account: me.account, wantChannels: true }) })
      svc.onDelivery({ msg, from: 'attacker', verified: false, receivedAt: now })
    }
    for (let t = 0; t < 10; t++) { // 10 s at 1,000 requests/s
      for (let i = 0; i < 1000; i++) request()
      await new Promise(resolve => setImmediate(resolve))
      now += 1000
    }
    await new Promise(resolve => setImmediate(resolve))
    expect(sent.length).toBe(50 + 9 * 20) // the burst, then 20/s
    expect(walletSyncs).toBeLessThanOrEqual(6) // one per 2 s cache period, not one per request
    expect(svc.limiter.refused).toBe(10_000 - sent.length)
    // After the flood, an honest request is answered again.
    now += 10_000
    request()
    await new Promise(resolve => setImmediate(resolve))
    expect(sent.length).toBe(50 + 9 * 20 + 1)
  })
})
