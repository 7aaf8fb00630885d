import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { GossipRouter, GOSSIP_TOPIC } from '../../src/node/gossip-router.ts'
import { buildTMsg, encodeTMsg, Kind } from '../../src/wire/index.ts'
import type { TMsg } from '../../src/wire/index.ts'

type Validator = (peer: PeerId, m: { data: Uint8Array }) => TopicValidatorResult

/**
 * Stands in for gossipsub's transport only: like gossipsub, it runs the topic validator on
 * every message whose id its own (2-minute) seen cache has forgotten, and emits the accepted.
 */
function fakePubsub (): { pubsub: GossipSub, inject: (peer: PeerId, data: Uint8Array) => TopicValidatorResult } {
  const validators = new Map<string, Validator>()
  const listeners: Array<(e: CustomEvent<{ topic: string, data: Uint8Array }>) => void> = []
  const pubsub = {
    topicValidators: validators,
    addEventListener: (_t: string, l: (e: CustomEvent<{ topic: string, data: Uint8Array }>) => void) => { listeners.push(l) },
    removeEventListener: () => {},
    subscribe: () => {},
    getSubscribers: () => [],
    getPeers: () => [],
    publish: async () => await Promise.resolve({ recipients: [] })
  } as unknown as GossipSub
  return {
    pubsub,
    inject: (peer, data) => {
      const r = validators.get(GOSSIP_TOPIC)!(peer, { data })
      if (r === TopicValidatorResult.Accept) for (const l of listeners) l(new CustomEvent('message', { detail: { topic: GOSSIP_TOPIC, data } }))
      return r
    }
  }
}

describe('gossipsub mode dedupes across the whole timestamp window', () => {
  it('a replay 5 minutes later (gossipsub has forgotten the id) is not delivered again', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const T0 = 1_750_000_000_000
    let now = T0
    const delivered: TMsg[] = []
    const target = randomBytes(16)
    const { pubsub, inject } = fakePubsub()
    const router = new GossipRouter({ now: () => now, isSubscribed: () => true, deliver: m => { delivered.push(m) } }, pubsub)
    router.start()
    const m = buildTMsg({ target, payload: Buffer.from('once'), kind: Kind.DATA, timestamp: T0 })
    expect(inject(peer, encodeTMsg(m))).toBe(TopicValidatorResult.Accept)
    now = T0 + 5 * 60_000 // still inside the ±10 min window: the copy itself is valid
    expect(inject(peer, encodeTMsg(m))).toBe(TopicValidatorResult.Ignore)
    now = T0 + 9 * 60_000
    expect(inject(peer, encodeTMsg(m))).toBe(TopicValidatorResult.Ignore)
    expect(delivered).toHaveLength(1)
    expect(router.stats().duplicates).toBe(2)
    // A fresh message at the same time still goes through.
    expect(inject(peer, encodeTMsg(buildTMsg({ target, payload: Buffer.from('new'), kind: Kind.DATA, timestamp: now })))).toBe(TopicValidatorResult.Accept)
    expect(delivered).toHaveLength(2)
    router.stop()
  })
})
