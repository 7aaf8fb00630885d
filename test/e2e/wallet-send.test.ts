/**
 * The gift of cash between two `tmsg node` processes (DESIGN §8a): `wallet_send` to an
 * @nick the payer has heard, the payee told over `wallet_subscribe`, and `tmsg wallet send`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { connectNodes, openWs, startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode, WsClient } from '../helpers/rpc-node.ts'
import { runTmsg, tempDatadir } from '../helpers/proc.ts'
import { waitFor } from '../helpers/wait.ts'

describe('wallet_send between two processes', () => {
  let alice: RpcNode
  let bob: RpcNode
  let aliceWs: WsClient

  beforeAll(async () => {
    const ledger = join(tempDatadir(), 'ledger.db')
    ;[alice, bob] = await Promise.all([startRpcNode(['--ledger', ledger, '--nick', 'alice']), startRpcNode(['--ledger', ledger, '--nick', 'bob'])])
    await connectNodes(bob, alice)
    aliceWs = await openWs(alice)
    expect((await aliceWs.request('wallet_subscribe')).result).toMatch(/\S/)
    await bob.call('wallet_faucet', { amount: 20_000 })
  }, 60_000)
  afterAll(async () => {
    aliceWs?.close()
    await Promise.all([alice?.stop(), bob?.stop()])
  })

  it('pays @alice once bob has heard her sign as alice; an unheard nick is not found', async () => {
    await expect(bob.call('wallet_send', { to: '@carol', amount: 1_000 })).rejects.toMatchObject({ code: -32002 })
    await bob.call('chat_join', { room: '#lobby' })
    await alice.call('chat_join', { room: '#lobby' })
    await waitFor(async () => {
      await alice.call('chat_send', { to: '#lobby', text: 'hi, I am alice' })
      return (await bob.call<any[]>('msg_history', { target: '#lobby' })).some(m => m.nick === 'alice')
    }, 'bob to hear alice', 30_000)
    const r = await bob.call('wallet_send', { to: '@alice', amount: 1_000, memo: 'thanks' })
    expect(r).toEqual({ txid: expect.stringMatching(/^[0-9a-f]{64}$/), amount: 1_000, to: alice.ready.account })
    await waitFor(() => aliceWs.walletEvents.length > 0, 'alice to be told', 30_000)
    expect(aliceWs.walletEvents[0].result).toEqual({ type: 'received', txid: r.txid, amount: 1_000, peer: bob.ready.account, memo: 'thanks', at: expect.any(Number) })
    expect(await alice.call('wallet_balance')).toMatchObject({ balance: 1_000 })
  }, 60_000)

  it('tmsg wallet send pays an account from the command line', async () => {
    const r = await runTmsg(['wallet', 'send', `acct:${alice.ready.account}`, '500', 'for', 'lunch', '--datadir', bob.datadir])
    expect([r.code, r.stderr]).toEqual([0, ''])
    expect(r.stdout).toMatch(new RegExp(`^sent 500 sat to ${alice.ready.account} in [0-9a-f]{64}\\n$`))
    await waitFor(() => aliceWs.walletEvents.length > 1, 'the second payment', 30_000)
    expect(aliceWs.walletEvents[1].result).toMatchObject({ amount: 500, memo: 'for lunch' })
    const bad = await runTmsg(['wallet', 'send', 'acct:nope', '--datadir', bob.datadir])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/usage: tmsg wallet send/)
  }, 60_000)
})
