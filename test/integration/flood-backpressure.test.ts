/**
 * A node that runs late pauses its inbound flood streams (issue 11, memory under overload):
 * yamux stops opening the window, the sender's writes back up into its own queue, and nothing
 * is lost or penalised once the node has caught up and resumed.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { startNode, link, stopAll } from '../helpers/network.ts'
import type { TestNode } from '../helpers/network.ts'
import { waitFor } from '../helpers/wait.ts'
import { rawTarget } from '../../src/targets.ts'
import { buildTMsg, Kind } from '../../src/wire/index.ts'
import { FLOOD_PROTOCOL } from '../../src/flood/constants.ts'

describe('inbound pause while the node runs late', () => {
  let nodes: TestNode[] = []
  afterEach(async () => { await stopAll(nodes) })

  it('holds the sender back through yamux and takes everything once it catches up', async () => {
    let lagging = true
    const a = await startNode('flood')
    // The budget is not what this test is about: B takes whatever A's link carries.
    const b = await startNode('flood', { flood: { lagging: () => lagging, rateLimit: { messagesPerSecond: 1e9, burst: 1e9 } } })
    nodes = [a, b]
    await link(a, b)
    const room = rawTarget(randomBytes(16))
    b.node.subscribe(room)
    const COUNT = 10_000 // 500 B each: ~5 MB, more than any yamux window (≤ 1 MiB)
    for (let i = 0; i < COUNT; i++) a.node.router.publish(buildTMsg({ target: room.id, payload: randomBytes(500), kind: Kind.DATA }))

    const inbound = (): { readStatus: string } | undefined => b.node.libp2p.getConnections()[0]?.streams.find(s => s.protocol === FLOOD_PROTOCOL && s.direction === 'inbound')
    await waitFor(() => inbound()?.readStatus === 'paused', 'B to pause its inbound flood stream', 10_000)
    const queuedAtA = (): number => a.node.router.neighbourStats().find(n => n.peerId === b.node.peerId)?.queuedBytes ?? 0
    await waitFor(() => queuedAtA() > 0, 'A to hold what B does not take', 10_000)
    expect(b.deliveries.length).toBeLessThan(COUNT)

    lagging = false
    await waitFor(() => b.deliveries.length === COUNT, 'B to get every message once resumed', 30_000, 50)
    expect(inbound()?.readStatus).toBe('readable')
    expect(queuedAtA()).toBe(0)
    expect(b.node.stats().drops).toMatchObject({ rateLimited: 0, queueOverflow: 0 })
    expect(a.node.stats().drops).toMatchObject({ queueOverflow: 0 })
  }, 60_000)

  it('keeps the window shut when the node is late again while it takes what a stream buffered', async () => {
    // Late; then on time until the router has read one more message — the first of what the
    // paused stream buffered, handed over when it resumes — and late again from there: the
    // listener that gets that data sees the node late, and the stream must stay paused with its
    // yamux window shut, not read 'paused' while the sender's data keeps coming.
    let phase: 'late' | 'resuming' | 'done' = 'late'
    let read = 0
    const lagging = (): boolean => phase === 'late' || (phase === 'resuming' && b.node.router.stats().received > read)
    const a = await startNode('flood')
    const b = await startNode('flood', { flood: { lagging, rateLimit: { messagesPerSecond: 1e9, burst: 1e9 } } })
    nodes = [a, b]
    await link(a, b)
    const room = rawTarget(randomBytes(16))
    b.node.subscribe(room)
    const COUNT = 10_000 // 500 B each: ~5 MB, many windows of 256 KiB
    for (let i = 0; i < COUNT; i++) a.node.router.publish(buildTMsg({ target: room.id, payload: randomBytes(500), kind: Kind.DATA }))

    const inbound = (): { readStatus: string, readBufferLength: number } | undefined =>
      b.node.libp2p.getConnections()[0]?.streams.find(s => s.protocol === FLOOD_PROTOCOL && s.direction === 'inbound')
    await waitFor(() => inbound()?.readStatus === 'paused', 'B to pause its inbound flood stream', 10_000)
    read = b.node.router.stats().received
    phase = 'resuming'
    await waitFor(() => b.node.router.stats().received > read, 'B to take what the stream had buffered', 10_000)
    await new Promise(resolve => setTimeout(resolve, 1000)) // what an open window would let in
    expect(inbound()?.readStatus).toBe('paused')
    // At most one window (plus the frame that crossed it) waits at B; A holds the rest.
    expect(inbound()!.readBufferLength).toBeLessThanOrEqual(256 * 1024 + 64 * 1024)
    expect(b.deliveries.length).toBeLessThan(COUNT)

    phase = 'done'
    await waitFor(() => b.deliveries.length === COUNT, 'B to get every message once resumed', 30_000, 50)
    expect(inbound()?.readStatus).toBe('readable')
    expect(b.node.stats().drops).toMatchObject({ rateLimited: 0, queueOverflow: 0 })
  }, 60_000)
})
