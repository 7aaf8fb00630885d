/**
 * In-process networks of real TmsgNodes over @libp2p/memory (full Noise + Yamux upgrade).
 */
import { TmsgNode } from '../../src/node/node.ts'
import type { NodeOptions, Delivery } from '../../src/node/node.ts'
import { Identity } from '../../src/identity.ts'
import type { RouterName } from '../../src/routing.ts'
import { CHANNEL_SERVICE, channelStream } from '../../src/layer2/channels/stream.ts'
import { waitFor } from './wait.ts'

let counter = 0

export interface TestNode {
  node: TmsgNode
  deliveries: Delivery[]
  addr: string
}

/** A node as `tmsg node` builds it (layer-2's channel stream among its services), on the memory transport. */
export async function startNode (router: RouterName, opts: Partial<NodeOptions> = {}): Promise<TestNode> {
  const name = `/memory/tmsg-${process.pid}-${counter++}`
  const services = { [CHANNEL_SERVICE]: channelStream(), ...opts.services }
  const node = await TmsgNode.create({ identity: Identity.generate(), router, transport: 'memory', listen: [name], mdns: false, maxPeers: 64, minPeers: 0, ...opts, services })
  const deliveries: Delivery[] = []
  node.on('delivery', d => deliveries.push(d))
  await node.start()
  return { node, deliveries, addr: node.dialableAddress() }
}

export async function startNetwork (n: number, router: RouterName, opts: Partial<NodeOptions> = {}): Promise<TestNode[]> {
  return await Promise.all(Array.from({ length: n }, async () => await startNode(router, opts)))
}

/** Connects a to b and waits until each sees the other as a neighbour. */
export async function link (a: TestNode, b: TestNode): Promise<void> {
  await a.node.connect(b.addr)
  await waitFor(() => isNeighbour(a, b) && isNeighbour(b, a), `${a.addr} <-> ${b.addr} neighbours`)
}

export function isNeighbour (a: TestNode, b: TestNode): boolean {
  return a.node.peers().some(p => p.peerId === b.node.peerId && p.neighbour)
}

export async function stopAll (nodes: TestNode[]): Promise<void> {
  await Promise.all(nodes.map(async n => { await n.node.stop() }))
}
