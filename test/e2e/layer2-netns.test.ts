/**
 * The layer-2 life of layer2-separate-ledgers.test.ts with the provider in another Linux
 * network namespace: client and relay in namespace A, the provider in namespace B, P2P only
 * over a veth pair between them, so nothing can pass through loopback or a shared ledger.
 * The test drives each node's RPC over a management veth from the host (addresses the P2P
 * side never listens on). Needs root and `ip netns`; skipped with the reason printed otherwise.
 */
import { afterAll, beforeAll, describe } from 'vitest'
import { netnsSkipReason, quiet, sh, startNsNode } from '../helpers/netns.ts'
import type { NsProcess } from '../helpers/netns.ts'
import { waitFor } from '../helpers/wait.ts'
import { channelLife } from '../helpers/layer2-life.ts'
import type { LifeNode } from '../helpers/layer2-life.ts'

// Unique per run (names and subnets), so two checkouts running the suite at once do not collide.
const TAG = Math.floor(Math.random() * 250)
const NS = { a: `t8l${TAG}a`, b: `t8l${TAG}b` }
const DATA = { a: `10.12.${TAG}.1`, b: `10.12.${TAG}.2` }
const MGMT = { hostA: `10.13.${TAG}.1`, a: `10.13.${TAG}.2`, hostB: `10.13.${TAG}.5`, b: `10.13.${TAG}.6` }
const LINK = { dataA: `t8l${TAG}da`, dataB: `t8l${TAG}db`, hostA: `t8l${TAG}ha`, mA: `t8l${TAG}ma`, hostB: `t8l${TAG}hb`, mB: `t8l${TAG}mb` }

const reason = netnsSkipReason()
if (reason !== undefined) console.log(`layer-2 netns test skipped: ${reason}`)

const inNs = (ns: string, ...args: string[]): void => { sh('netns', 'exec', ns, 'ip', ...args) }

function cleanup (): void {
  quiet('netns', 'del', NS.a)
  quiet('netns', 'del', NS.b)
  quiet('link', 'del', LINK.hostA)
  quiet('link', 'del', LINK.hostB)
}

/** A veth pair `outer`—`inner` with `inner` moved into `ns`, addressed and up. */
function pair (outer: string, inner: string, ns: string, innerIp: string, prefix: number, outerNs?: string, outerIp?: string): void {
  sh('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner)
  sh('link', 'set', inner, 'netns', ns)
  inNs(ns, 'addr', 'add', `${innerIp}/${prefix}`, 'dev', inner)
  inNs(ns, 'link', 'set', inner, 'up')
  if (outerNs !== undefined) sh('link', 'set', outer, 'netns', outerNs)
  const at = outerNs !== undefined ? (...a: string[]) => { inNs(outerNs, ...a) } : (...a: string[]) => { sh(...a) }
  if (outerIp !== undefined) at('addr', 'add', `${outerIp}/${prefix}`, 'dev', outer)
  at('link', 'set', outer, 'up')
}

interface NsNode extends LifeNode, NsProcess {}

async function startNode (ns: string, host: string, port: number, rpcHost: string, rpcPort: number, nick: string): Promise<NsNode> {
  return await startNsNode({ ns, host, port, rpcHost, rpcPort, name: nick, args: ['--nick', nick] })
}

async function kill (n: NsNode | undefined): Promise<void> {
  if (n === undefined || n.proc.exitCode !== null || n.proc.signalCode !== null) return
  const gone = new Promise(resolve => n.proc.once('exit', resolve))
  n.proc.kill('SIGKILL')
  await gone
}

describe.skipIf(reason !== undefined)('layer-2 across two network namespaces joined by a veth pair', () => {
  let client: NsNode
  let relay: NsNode
  let provider: NsNode

  beforeAll(async () => {
    cleanup()
    sh('netns', 'add', NS.a)
    sh('netns', 'add', NS.b)
    for (const ns of [NS.a, NS.b]) inNs(ns, 'link', 'set', 'lo', 'up')
    // The only path between the nodes: A's data end — B's data end.
    pair(LINK.dataA, LINK.dataB, NS.b, DATA.b, 24, NS.a, DATA.a)
    // Management, host — each namespace, for the test's RPC calls only.
    pair(LINK.hostA, LINK.mA, NS.a, MGMT.a, 30, undefined, MGMT.hostA)
    pair(LINK.hostB, LINK.mB, NS.b, MGMT.b, 30, undefined, MGMT.hostB)
    ;[client, relay, provider] = await Promise.all([
      startNode(NS.a, DATA.a, 4004, MGMT.a, 4003, 'client'),
      startNode(NS.a, DATA.a, 4005, MGMT.a, 4006, 'relay'),
      startNode(NS.b, DATA.b, 4004, MGMT.b, 4003, 'provider')
    ])
    for (const [a, b] of [[client, relay], [relay, provider]] as const) {
      await a.call('peers_connect', { address: b.ready.p2p })
      await waitFor(async () => (await b.call<Array<{ peerId: string }>>('peers_list')).some(p => p.peerId === a.ready.peerId), 'peers to see each other', 30_000, 100)
    }
  }, 120_000)

  afterAll(async () => {
    await Promise.all([kill(client), kill(relay), kill(provider)])
    cleanup()
  })

  channelLife(() => ({ client, relay, provider, killProvider: async () => { await kill(provider) } }))
})
