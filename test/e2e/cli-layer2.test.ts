/** The layer-2 client commands against a live node, as a user reads them. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode } from '../helpers/rpc-node.ts'
import { runTmsg } from '../helpers/proc.ts'

describe('tmsg wallet / balance / channel', () => {
  let node: RpcNode
  const tmsg = async (...args: string[]): ReturnType<typeof runTmsg> => await runTmsg([...args, '--datadir', node.datadir])
  beforeAll(async () => { node = await startRpcNode() })
  afterAll(async () => { await node?.stop() })

  it('mints on the dev ledger and shows the wallet', async () => {
    const r = await tmsg('wallet', '--faucet', '25000')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^minted 25,000 sat in [0-9a-f]{64}\n/)
    expect(r.stdout).toContain(`${node.ready.account}: 25,000 sat in 1 coin\n`)
  })

  it('answers a balance query about its own account, verified and proven', async () => {
    const r = await tmsg('balance', node.ready.account, '--timeout', '300')
    expect(r.stdout).toBe(`${node.ready.account}: 25,000 sat (the owner, verified, proven)\n`)
    const bad = await tmsg('balance', 'not-an-address')
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/^tmsg: .*(address|account)/)
  })

  it('lists channels and explains bad channel commands', async () => {
    expect((await tmsg('channel', 'list')).stdout).toBe('no channels\n')
    const r = await tmsg('channel', 'pay', 'abc')
    expect([r.code, r.stderr.trim()]).toEqual([2, 'tmsg: usage: tmsg channel pay <channelId> <amount>'])
    expect((await tmsg('channel', 'dance')).stderr).toMatch(/unknown channel action "dance"/)
  })
})
