import { afterEach, describe, expect, it } from 'vitest'
import { startNetwork, link, stopAll } from '../helpers/network.ts'
import type { TestNode } from '../helpers/network.ts'
import { waitFor } from '../helpers/wait.ts'
import { channelTarget } from '../../src/targets.ts'
import { Kind } from '../../src/wire/index.ts'

describe.each(['flood', 'gossipsub'] as const)('two nodes (%s)', (router) => {
  let nodes: TestNode[] = []
  afterEach(async () => { await stopAll(nodes) })

  it('delivers a signed message to a subscriber', async () => {
    nodes = await startNetwork(2, router)
    const [a, b] = nodes as [TestNode, TestNode]
    await link(a, b)
    const room = channelTarget('#lobby')
    b.node.subscribe(room)
    if (router === 'gossipsub') await waitFor(() => a.node.router.neighbourStats().length > 0 && (a.node.libp2p.services.pubsub?.getSubscribers('tmsg/v1').length ?? 0) > 0, 'gossipsub mesh')
    a.node.send({ target: room.id, payload: Buffer.from('hi'), kind: Kind.DATA })
    await waitFor(() => b.deliveries.length === 1, 'delivery')
    expect(b.deliveries[0]!.verified).toBe(true)
    expect(b.deliveries[0]!.account).toBe(a.node.identity.account)
    expect(Buffer.from(b.deliveries[0]!.msg.payload).toString()).toBe('hi')
  })
})
