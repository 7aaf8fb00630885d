/**
 * The channel stream as a libp2p service of two real nodes (memory transport): answers in
 * the order asked, the provider's refusals carried with their code, and a node that does not
 * serve channels (layer-2 not started, or stopped) unreachable rather than silent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { link, startNode, stopAll } from '../helpers/network.ts'
import type { TestNode } from '../helpers/network.ts'
import { CHANNEL_SERVICE, ChannelStream } from '../../src/layer2/channels/stream.ts'
import type { ChannelRequest, ChannelResponse } from '../../src/layer2/channels/stream.ts'
import { ChannelError } from '../../src/layer2/errors.ts'

function streamOf (n: TestNode): ChannelStream {
  const s = n.node.service(CHANNEL_SERVICE)
  if (!(s instanceof ChannelStream)) throw new Error('no channel stream service')
  return s
}

async function failure (p: Promise<unknown>): Promise<{ code: string, fromPeer: boolean }> {
  try {
    await p
  } catch (err: unknown) {
    if (err instanceof ChannelError) return { code: err.code, fromPeer: err.fromPeer }
    throw err
  }
  throw new Error('expected the request to fail')
}

const pay = (sequence: number): ChannelRequest => ({ pay: { channelId: 'ab'.repeat(32), sequence, cumulativePaid: sequence, updateTx: new Uint8Array([1]), signatures: [] } })

describe('the channel stream service', () => {
  let client: TestNode
  let provider: TestNode

  beforeAll(async () => {
    ;[client, provider] = await Promise.all([startNode('flood'), startNode('flood')])
    await link(client, provider)
  })
  afterAll(async () => { await stopAll([client, provider].filter(n => n !== undefined)) })

  it('a node that does not serve channels is unreachable, not silent', async () => {
    const l = streamOf(client).link(provider.node.peerId, [])
    expect(await failure(l.request(pay(1), 5000))).toEqual({ code: 'PEER_UNREACHABLE', fromPeer: false })
    l.close()
  })

  it('answers in the order asked; a refusal comes back as the peer\'s code; anything else as BAD_MESSAGE', async () => {
    const seen: number[] = []
    streamOf(provider).serve(async (peer, req): Promise<ChannelResponse> => {
      expect(peer).toBe(client.node.peerId)
      if ('close' in req) throw new ChannelError('NOT_OPEN', 'channel is closing')
      if ('chunk' in req) throw new Error('a bug in the provider')
      if (!('pay' in req)) throw new Error('unexpected request')
      seen.push(req.pay.sequence)
      // Later requests finish their work first: order must still hold.
      await new Promise(resolve => setTimeout(resolve, (20 - req.pay.sequence % 20) % 5))
      return { ack: { channelId: req.pay.channelId, sequence: req.pay.sequence, paid: req.pay.cumulativePaid } }
    })
    const l = streamOf(client).link(provider.node.peerId, [])
    const answers = await Promise.all(Array.from({ length: 50 }, async (_, i) => await l.request(pay(i + 1))))
    expect(answers.map(a => 'ack' in a ? a.ack.sequence : -1)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(await failure(l.request({ close: { channelId: 'ab'.repeat(32) } }))).toEqual({ code: 'NOT_OPEN', fromPeer: true })
    expect(await failure(l.request({ chunk: { channelId: 'ab'.repeat(32), index: 0 } }))).toEqual({ code: 'BAD_MESSAGE', fromPeer: true })

    // Layer-2 stopped: the stream already open stops answering too.
    streamOf(provider).unserve()
    expect(await failure(l.request(pay(51), 5000))).toEqual({ code: 'PEER_UNREACHABLE', fromPeer: false })
    l.close()
  })
})
