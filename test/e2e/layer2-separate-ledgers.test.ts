/**
 * DESIGN §8a between three `tmsg node` processes, each with its own datadir and its own dev
 * ledger — no `--ledger` shared, nothing in common but the network: client — relay —
 * provider. Every transaction one hands another travels as BEEF. (The same life runs in two
 * network namespaces in layer2-netns.test.ts.)
 */
import { afterAll, beforeAll, describe } from 'vitest'
import { connectNodes, startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode } from '../helpers/rpc-node.ts'
import { channelLife } from '../helpers/layer2-life.ts'
import { runTmsg } from '../helpers/proc.ts'

describe('layer-2 between processes with separate ledgers', () => {
  let client: RpcNode
  let relay: RpcNode
  let provider: RpcNode

  beforeAll(async () => {
    ;[client, relay, provider] = await Promise.all([startRpcNode(['--nick', 'client']), startRpcNode(['--nick', 'relay']), startRpcNode(['--nick', 'provider'])])
    await connectNodes(client, relay)
    await connectNodes(relay, provider)
  }, 60_000)
  afterAll(async () => {
    await Promise.all([client?.stop(), relay?.stop(), provider?.stop('SIGKILL')])
  })

  channelLife(() => ({ client, relay, provider, killProvider: async () => { await provider.stop('SIGKILL') }, clientCli: async args => await runTmsg([...args, '--datadir', client.datadir]) }))
})
