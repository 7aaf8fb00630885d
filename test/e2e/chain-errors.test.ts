/**
 * A `tmsg node --chain test` whose chain services are all unreachable (DESIGN §8a): every
 * layer-2 call that needs them answers with a clear error naming the service, and the node
 * keeps running. (Each backend's answers, right and wrong, are tested against fake servers in
 * test/unit/layer2-remote-chain.test.ts and layer2-wallet-source.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode } from '../helpers/rpc-node.ts'
import { freePort } from '../helpers/proc.ts'
import { Identity } from '../../src/identity.ts'

describe('chain errors on the RPC, --chain test with nothing listening', () => {
  let node: RpcNode
  let down: string

  beforeAll(async () => {
    down = `http://127.0.0.1:${await freePort()}`
    node = await startRpcNode(['--chain', 'test', '--arc-url', down, '--headers-url', down, '--wallet-url', down])
  }, 60_000)
  afterAll(async () => { await node?.stop() })

  it('wallet_faucet: the wallet that could not pay is named (−32016), no coin, the node still up', async () => {
    await expect(node.call('wallet_faucet', { amount: 10_000 })).rejects.toMatchObject({
      code: -32016,
      message: expect.stringMatching(new RegExp(`^the wallet at ${down.replace(/\./g, '\\.')} could not pay 10000 satoshis`)),
      data: { name: 'LedgerRejectedError', reason: 'network' }
    })
    expect(await node.call('wallet_balance')).toMatchObject({ balance: 0, utxos: 0 })
    expect(await node.call('node_info')).toMatchObject({ peerId: node.ready.peerId })
  })

  it('wallet_send with nothing to spend is insufficient funds, not a crash; a balance proof of nothing is unproven', async () => {
    await expect(node.call('wallet_send', { to: `acct:${Identity.generate().account}`, amount: 1_000 })).rejects.toMatchObject({ code: -32010, data: { name: 'ChannelError' } })
    const own = await node.call<any[]>('balance_query', { account: node.ready.account, proof: true, timeoutMs: 200 })
    expect(own).toEqual([expect.objectContaining({ balance: 0, verified: true, proven: false })])
    expect(node.proc.proc.exitCode).toBe(null)
  })
})
