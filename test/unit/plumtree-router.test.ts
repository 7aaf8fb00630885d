import { describe, expect, it } from 'vitest'
import { Harness, hex, msg } from '../helpers/router-harness.ts'
import { PlumtreeRouter } from '../../src/flood/plumtree.ts'
import type { PlumtreeRouterInit, PlumtreeStats } from '../../src/flood/plumtree.ts'
import { PLUMTREE_IHAVE_DELAY_MS, PLUMTREE_MAX_DIST, PLUMTREE_PRUNE_AFTER, PLUMTREE_REPAIR_AFTER, PLUMTREE_SPENT_WAIT_MS } from '../../src/flood/constants.ts'
import type { FrameControl } from '../../src/wire/frame.ts'
import { encodeTMsg } from '../../src/wire/tmsg.ts'
import type { TMsg } from '../../src/wire/tmsg.ts'

const TIMEOUT = 400
const RETRY = 200

function plumtree (init: PlumtreeRouterInit = {}): Harness {
  return new Harness(init, (c, i) => new PlumtreeRouter(c, { graftTimeoutMs: TIMEOUT, graftRetryMs: RETRY, ...i }))
}

/** A plumtree node whose neighbours all said hello (they speak plumtree). */
function withPeers (...ids: string[]): Harness {
  const h = plumtree()
  h.connect(...ids)
  for (const id of ids) h.receiveControl(id, { lazy: true })
  for (const id of ids) h.link(id).clear()
  return h
}

const ids = (l: { messages: () => Array<{ msgId: Uint8Array }> }): string[] => l.messages().map(m => hex(m.msgId))

describe('plumtree router (flood rules + epidemic broadcast trees)', () => {
  it('says hello on every new link, and a plain flood router ignores the control fields', () => {
    const h = plumtree()
    const [a] = h.connect('A')
    h.flush()
    expect(a!.control()).toMatchObject({ lazy: 1, prune: 0, ihave: [] })
    const flood = new Harness()
    flood.connect('P', 'F')
    const m = msg({ ttl: 5 })
    flood.subscribed.add(hex(m.target))
    flood.receiveControl('P', { lazy: true, prune: true, ihave: [{ id: m.msgId, ttl: 4 }], graft: [m.msgId] }, m)
    expect(flood.delivered).toHaveLength(1)
    expect(ids(flood.link('F'))).toEqual([hex(m.msgId)])
    expect(flood.router.stats().invalid).toBe(0)
  })

  it('PRUNE: duplicates in a row make their sender lazy — it then gets IHAVE, the others full copies', () => {
    const h = withPeers('A', 'B', 'C')
    let m1 = msg({ ttl: 5 })
    for (let k = 0; k < PLUMTREE_PRUNE_AFTER; k++) {
      expect(h.link('B').control().prune).toBe(0)
      m1 = msg({ ttl: 5 })
      h.receive('A', m1)
      expect(ids(h.link('B'))).toContain(hex(m1.msgId))
      h.receive('B', { ...m1, ttl: 4, hops: 1 })
    }
    expect(h.link('B').control().prune).toBe(1)
    for (const id of ['A', 'B', 'C']) h.link(id).clear()
    const m2 = msg({ ttl: 5 })
    h.receive('A', m2)
    expect(ids(h.link('C'))).toEqual([hex(m2.msgId)])
    h.advance(PLUMTREE_IHAVE_DELAY_MS)
    expect(h.link('B').messages()).toHaveLength(0)
    expect(h.link('B').control().ihave).toEqual([hex(m2.msgId)])
    expect((h.router as PlumtreeRouter).plumtreeStats()).toMatchObject({ pruneSent: 1, ihaveSent: 1, eagerLinks: 2, lazyLinks: 1 })
  })

  it('a first copy over a link resets its duplicate count', () => {
    const h = withPeers('A', 'B')
    for (let k = 0; k < 3 * PLUMTREE_PRUNE_AFTER; k++) {
      const m = msg({ ttl: 5 })
      if (k % PLUMTREE_PRUNE_AFTER === 0) h.receive('B', m) // B is first now and then
      else { h.receive('A', m); h.receive('B', { ...m, ttl: 4, hops: 1 }) }
    }
    expect(h.link('B').control().prune).toBe(0)
  })

  it('TTL cut: a tree neighbour whose copy expired says so (IHAVE TTL 0), and the message is pulled at once from a lazy announcer', () => {
    const h = withPeers('P', 'C', 'L')
    const m = msg({ ttl: 1 })
    h.receive('P', m) // expires here: C (eager) is told, nothing is forwarded
    expect(h.link('C').messages()).toHaveLength(0)
    const c = h.link('C').control()
    expect(c.ihave).toEqual([hex(m.msgId)])
    // the other side: our tree parent P says its copy ran out; L announced one with TTL 3
    const h2 = withPeers('P', 'L')
    h2.receiveControl('L', { prune: true }) // L is lazy
    const m2 = msg({ ttl: 5 })
    h2.receiveControl('L', { ihave: [{ id: m2.msgId, ttl: 3 }] })
    expect(h2.link('L').control().graft).toEqual([])
    h2.receiveControl('P', { ihave: [{ id: m2.msgId, ttl: 0 }] })
    const pulled = h2.link('L').control()
    expect(pulled.graft).toEqual([hex(m2.msgId)]) // no timeout waited
    expect(pulled.prune).toBe(1) // a pull: the link stays lazy
    expect(h2.link('P').control().graft).toEqual([])
  })

  it('a pulled copy leaves the link lazy: the next message goes to that neighbour as IHAVE', () => {
    const h = withPeers('P', 'L', 'C')
    h.receiveControl('L', { prune: true }) // L is lazy
    const m = msg({ ttl: 5 })
    h.receiveControl('L', { ihave: [{ id: m.msgId, ttl: 4 }] })
    h.receiveControl('P', { ihave: [{ id: m.msgId, ttl: 0 }] }) // P's copy ran out: pull from L
    expect(h.link('L').control().graft).toEqual([hex(m.msgId)])
    h.link('L').clear()
    h.receive('L', { ...m, ttl: 4 }) // the pulled copy: delivered, forwarded along the tree
    expect(ids(h.link('C'))).toEqual([hex(m.msgId)])
    const next = msg({ ttl: 5 })
    h.receive('P', next)
    expect(ids(h.link('L'))).toEqual([]) // still lazy: no full copy
    h.advance(PLUMTREE_IHAVE_DELAY_MS)
    expect(h.link('L').control().ihave).toContain(hex(next.msgId))
  })

  it('a pull waits a retry interval for its copy before any GRAFT', () => {
    const h = withPeers('P', 'L')
    h.receiveControl('L', { prune: true }) // L is lazy
    const m = msg({ ttl: 5 })
    h.receiveControl('L', { ihave: [{ id: m.msgId, ttl: 4 }] }) // the GRAFT timer starts here
    h.advance(TIMEOUT - 100)
    h.receiveControl('P', { ihave: [{ id: m.msgId, ttl: 0 }] }) // cut short: pull from L
    expect(h.link('L').control().graft).toEqual([hex(m.msgId)])
    h.link('L').clear()
    h.advance(RETRY - 50) // past the first IHAVE's timeout, within the pull's retry interval
    expect(h.link('L').units).toHaveLength(0) // no GRAFT yet: the pulled copy may still come
    h.receive('L', { ...m, ttl: 4 })
    h.advance(10 * RETRY)
    expect(h.link('L').units).toHaveLength(0)
    const next = msg({ ttl: 5 })
    h.receive('P', next)
    expect(ids(h.link('L'))).toEqual([]) // L is still lazy
  })

  it('a received PRUNE makes the link lazy; IHAVEs wait for the batch timer and leave in one unit', () => {
    const h = withPeers('A', 'B')
    h.receiveControl('B', { prune: true })
    const m1 = msg({ ttl: 5 })
    const m2 = msg({ ttl: 5 })
    const m3 = msg({ ttl: 5 })
    h.receive('A', m1, m2)
    h.advance(PLUMTREE_IHAVE_DELAY_MS / 2)
    h.receive('A', m3)
    expect(h.link('B').units).toHaveLength(0) // nothing yet: the announcements wait for company
    h.advance(PLUMTREE_IHAVE_DELAY_MS / 2)
    expect(h.link('B').messages()).toHaveLength(0)
    expect(h.link('B').units).toHaveLength(1)
    expect(h.link('B').control().ihave).toEqual([hex(m1.msgId), hex(m2.msgId), hex(m3.msgId)])
    h.advance(10 * PLUMTREE_IHAVE_DELAY_MS)
    expect(h.link('B').units).toHaveLength(1) // sent once, and no timer left behind
    expect(h.timerCount).toBe(0)
  })

  it('waiting IHAVEs ride along a unit that goes to that neighbour anyway', () => {
    const h = withPeers('A', 'B')
    h.receiveControl('B', { prune: true })
    const req = msg({ ttl: 5 })
    h.receive('B', req) // a request from B (B stays lazy for broadcasts)
    h.receiveControl('B', { prune: true })
    for (const id of ['A', 'B']) h.link(id).clear()
    const m1 = msg({ ttl: 5 })
    h.receive('A', m1)
    expect(h.link('B').units).toHaveLength(0)
    h.receive('A', msg({ ttl: 5, replyTo: req.msgId, target: req.msgId })) // the reply goes back to B at once
    expect(h.link('B').units).toHaveLength(1)
    expect(h.link('B').control().ihave).toEqual([hex(m1.msgId)])
  })

  it('pulls a copy announced with more TTL only when its own copy ran out here', () => {
    const h = withPeers('P', 'L', 'C')
    h.receiveControl('L', { prune: true }) // L is lazy
    const m = msg({ ttl: 4 })
    h.receive('P', m) // enough TTL to go on: forwarded, and a better announcement is ignored
    h.receiveControl('L', { ihave: [{ id: m.msgId, ttl: 6 }] })
    expect(h.link('L').control().graft).toEqual([])
    const cut = msg({ ttl: 1 })
    h.receive('P', cut) // runs out here: nothing went on from this node
    h.receiveControl('L', { ihave: [{ id: cut.msgId, ttl: 3 }] })
    const pulled = h.link('L').control()
    expect(pulled.graft).toEqual([hex(cut.msgId)])
    expect(pulled.prune).toBe(1) // a pull: the link stays lazy
  })

  it('never makes a plain flood neighbour lazy: no hello, no PRUNE, always full copies', () => {
    const h = plumtree()
    h.connect('A', 'F')
    h.receiveControl('A', { lazy: true })
    const m1 = msg({ ttl: 5 })
    h.receive('A', m1)
    h.receive('F', { ...m1, ttl: 4, hops: 1 }) // a flood node's duplicate
    expect(h.link('F').control().prune).toBe(0)
    const m2 = msg({ ttl: 5 })
    h.receive('A', m2)
    expect(ids(h.link('F'))).toEqual([hex(m1.msgId), hex(m2.msgId)])
    expect(h.link('F').control().ihave).toEqual([])
  })

  it('IHAVE then timeout: GRAFT goes to the announcer, which becomes eager', () => {
    const h = withPeers('A', 'B')
    h.receiveControl('B', { prune: true }) // B is lazy for us
    const m = msg({ ttl: 5 })
    h.receiveControl('B', { ihave: [{ id: m.msgId, ttl: 4 }] })
    h.advance(TIMEOUT - 1)
    expect(h.link('B').control().graft).toEqual([])
    h.advance(1)
    expect(h.link('B').control().graft).toEqual([hex(m.msgId)])
    // the grafted copy arrives: delivered, forwarded, timer gone; B is eager again
    h.subscribed.add(hex(m.target))
    h.receive('B', { ...m, ttl: 4, hops: 1 })
    expect(h.delivered).toHaveLength(1)
    expect(h.timerCount).toBe(0)
    const m2 = msg({ ttl: 5 })
    h.receive('A', m2)
    expect(ids(h.link('B'))).toContain(hex(m2.msgId))
  })

  it('no GRAFT when the eager copy arrives before the timeout', () => {
    const h = withPeers('A', 'B')
    const m = msg({ ttl: 5 })
    h.receiveControl('B', { ihave: [{ id: m.msgId, ttl: 4 }] })
    h.receive('A', m)
    h.advance(10 * TIMEOUT)
    expect(h.link('B').control().graft).toEqual([])
    expect(h.timerCount).toBe(0)
  })

  it('a GRAFT that brings nothing is retried with the next announcer, then given up', () => {
    const h = withPeers('A', 'B', 'C')
    const m = msg({ ttl: 5 })
    h.receiveControl('B', { ihave: [{ id: m.msgId, ttl: 4 }] })
    h.receiveControl('C', { ihave: [{ id: m.msgId, ttl: 4 }] })
    h.advance(TIMEOUT)
    expect([h.link('B').control().graft, h.link('C').control().graft]).toEqual([[hex(m.msgId)], []])
    h.advance(RETRY)
    expect(h.link('C').control().graft).toEqual([hex(m.msgId)])
    h.router.removeNeighbour('B')
    h.advance(100 * RETRY)
    expect(h.timerCount).toBe(0)
    expect((h.router as PlumtreeRouter).plumtreeStats().missing).toBe(0)
  })

  it('GRAFT received: the kept copy goes out with the TTL it was forwarded with, and the link is eager', () => {
    const h = withPeers('A', 'B', 'C')
    h.receiveControl('B', { prune: true })
    const m = msg({ ttl: 5, hops: 2 })
    h.receive('A', m)
    expect(h.link('B').messages()).toHaveLength(0)
    h.receiveControl('B', { graft: [m.msgId] })
    expect(h.link('B').messages().map(x => [hex(x.msgId), x.ttl, x.hops])).toEqual([[hex(m.msgId), 4, 3]])
    const m2 = msg({ ttl: 5 })
    h.receive('A', m2)
    expect(ids(h.link('B'))).toContain(hex(m2.msgId))
  })

  it('GRAFT received for many kept copies: each goes out byte for byte as it was forwarded', () => {
    // Kept copies are packed into the router's own chunks (4 KiB growing to 64 KiB): copies of
    // every size, across chunk boundaries, must come back whole.
    const h = withPeers('A', 'B', 'C')
    h.receiveControl('B', { prune: true })
    const sent = Array.from({ length: 300 }, (_, i) => msg({ ttl: 5, payload: Buffer.alloc(1 + (i * 37) % 3000, i) }))
    for (const m of sent) h.receive('A', m)
    h.flush()
    expect(h.link('B').messages()).toHaveLength(0)
    h.receiveControl('B', { graft: sent.map(m => m.msgId) })
    h.flush()
    const encode = (ms: TMsg[]): string[] => ms.map(m => hex(encodeTMsg(m)))
    expect(encode(h.link('B').messages())).toEqual(encode(h.link('C').messages()))
    expect(h.link('B').messages()).toHaveLength(300)
  })

  it('TTL holds: a message that expires here is neither announced nor handed out on GRAFT', () => {
    const h = withPeers('A', 'B')
    h.receiveControl('B', { prune: true })
    const m = msg({ ttl: 1 })
    h.receive('A', m)
    h.receiveControl('B', { graft: [m.msgId] })
    expect(h.link('B').messages()).toHaveLength(0)
    expect(h.link('B').control().ihave).toEqual([])
  })

  it('own messages: eager neighbours get them, lazy ones IHAVE; replies still follow reverse paths', () => {
    const h = withPeers('A', 'B')
    h.receiveControl('B', { prune: true })
    const own = msg({ ttl: 7 })
    expect(h.router.publish(own).neighbours).toBe(2)
    h.advance(PLUMTREE_IHAVE_DELAY_MS)
    expect(ids(h.link('A'))).toEqual([hex(own.msgId)])
    expect(h.link('B').control().ihave).toEqual([hex(own.msgId)])
    const req = msg({ ttl: 5 })
    h.receive('B', req) // B is eager again (a first copy came over it)
    h.link('A').clear()
    const reply = msg({ ttl: 5, replyTo: req.msgId, target: req.msgId })
    h.receive('A', reply)
    expect(ids(h.link('B'))).toContain(hex(reply.msgId))
  })

  it('control ids of the wrong length are invalid data, charged to the sender', () => {
    const h = withPeers('A')
    h.receiveControl('A', { ihave: [{ id: new Uint8Array(5), ttl: 3 }], graft: [new Uint8Array(17)] })
    expect(h.router.stats().invalidReasons.malformed).toBe(2)
  })
})

describe('plumtree in the simulator (the same router code on a virtual clock)', () => {
  it('delivers everything at a fraction of flood\'s copies, also with 10% of nodes failing', async () => {
    const { simulate, DEFAULTS } = await import('../../src/sim/sim.ts')
    const base = { ...DEFAULTS, nodes: 120, msgs: 30, latency: { lo: 20, hi: 40 } }
    const flood = simulate({ ...base, router: 'flood' })
    const tree = simulate({ ...base, router: 'plumtree' })
    expect(flood.deliveryRatio).toBe(1)
    expect(tree.deliveryRatio).toBe(1)
    expect(tree.copiesPerDelivery).toBeLessThan(flood.copiesPerDelivery / 2)
    // The ranked tree has no cycles: what is left over are pulls and the first messages, sent
    // before the ranks settled (1.02 on this seed).
    expect(tree.copiesPerDelivery).toBeLessThan(1.2)
    const failing = simulate({ ...base, router: 'plumtree', fail: 0.1 })
    expect(failing.deliveryRatio).toBe(1)
    expect(failing.copiesPerDelivery).toBeLessThan(1.5)
    expect(failing.controlPerDelivery).toBeGreaterThan(0)
  }, 60_000)
})

describe('plumtree: the shared tree ranked by hops to the lowest id', () => {
  const rank = (root: string, dist: number, parent = false): Partial<FrameControl> => ({ lazy: true, rank: { root: Buffer.from(root, 'latin1'), dist, parent } })
  /** Node M with neighbours that said hello and where they are in the tree. */
  function ranked (ranks: Record<string, Partial<FrameControl>>): Harness {
    const h = plumtree({ selfId: 'M' })
    h.connect(...Object.keys(ranks))
    for (const [id, c] of Object.entries(ranks)) h.receiveControl(id, c)
    for (const id of Object.keys(ranks)) h.link(id).clear()
    return h
  }
  const stats = (h: Harness): PlumtreeStats => (h.router as PlumtreeRouter).plumtreeStats()

  it('follows the lowest root by the fewest hops, tells its parent so, and sends full copies only along the tree', () => {
    const h = plumtree({ selfId: 'M' })
    h.connect('A', 'B', 'C')
    h.flush()
    expect(h.link('A').control().rank).toEqual({ root: 'M', dist: 0, parent: false }) // the hello says where we are
    h.receiveControl('C', rank('C', 0))
    h.receiveControl('B', rank('A', 2))
    h.receiveControl('A', rank('A', 0))
    expect(stats(h)).toMatchObject({ root: 'A', dist: 1, parent: 'A' })
    expect(h.link('A').control().rank).toEqual({ root: 'A', dist: 1, parent: true })
    expect(h.link('B').control().rank).toEqual({ root: 'A', dist: 1, parent: false })
    h.receiveControl('B', rank('A', 2, true)) // B reaches the root through us: a child
    for (const id of ['A', 'B', 'C']) h.link(id).clear()
    const m = msg({ ttl: 5 })
    h.receive('A', m)
    expect(ids(h.link('B'))).toEqual([hex(m.msgId)])
    expect(ids(h.link('C'))).toEqual([])
    h.advance(PLUMTREE_IHAVE_DELAY_MS)
    expect(h.link('C').control().ihave).toEqual([hex(m.msgId)])
    expect(stats(h)).toMatchObject({ eagerLinks: 2, lazyLinks: 1 })
  })

  it('keeps its parent on a tie, and takes the lower id only for a shorter path', () => {
    const h = ranked({ B: rank('A', 1), C: rank('A', 1) })
    expect(stats(h).parent).toBe('B')
    h.receiveControl('C', rank('A', 1)) // C says it again: no reason to move
    expect(stats(h).parent).toBe('B')
    h.receiveControl('C', rank('A', 0))
    expect(stats(h)).toMatchObject({ parent: 'C', dist: 1 })
  })

  it('a parent gone is replaced by the next best; a root gone is counted out, then the node follows itself', () => {
    const h = ranked({ A: rank('A', 0), B: rank('A', 3), C: rank('A', 1, true) })
    expect(stats(h)).toMatchObject({ parent: 'A', dist: 1 })
    h.router.removeNeighbour('A')
    h.flush()
    // C reaches the root through us (split horizon): B, although further, is the way now
    expect(stats(h)).toMatchObject({ parent: 'B', root: 'A', dist: 4 })
    expect(h.link('B').control().rank).toEqual({ root: 'A', dist: 4, parent: true })
    expect(h.link('C').control().rank).toEqual({ root: 'A', dist: 4, parent: false })
    h.receiveControl('B', rank('A', PLUMTREE_MAX_DIST)) // B's path counted up past the limit
    expect(stats(h)).toMatchObject({ parent: undefined, root: 'M', dist: 0 })
    expect(h.link('B').control().rank).toEqual({ root: 'M', dist: 0, parent: false })
  })

  it('ignores a root that is not an id, and its own id coming back', () => {
    const h = ranked({ A: rank('x'.repeat(129), 0), B: rank('M', 0) })
    expect(stats(h)).toMatchObject({ parent: undefined, root: 'M' })
  })

  it('a duplicate over a repair link prunes it at once, one from the parent prunes every repair, and tree links are never pruned', () => {
    const h = ranked({ P: rank('A', 0), C: rank('A', 2, true), R: rank('A', 1), S: rank('A', 1) })
    expect(stats(h).parent).toBe('P')
    const m0 = msg({ ttl: 5 })
    h.receive('P', m0)
    h.receiveControl('R', { graft: [m0.msgId] }) // R grafts: the link is a repair, eager both ways
    h.receiveControl('S', { graft: [m0.msgId] })
    expect(stats(h)).toMatchObject({ eagerLinks: 4, lazyLinks: 0 })
    const m1 = msg({ ttl: 5 })
    h.receive('P', m1)
    h.receive('R', { ...m1, ttl: 4, hops: 1 }) // over a repair: pruned at the first duplicate
    expect(h.link('R').control().prune).toBe(1)
    const m2 = msg({ ttl: 5 })
    h.receive('S', m2)
    h.receive('P', { ...m2, ttl: 4, hops: 1 }) // from the parent: the tree above works, S goes
    expect(h.link('S').control().prune).toBe(1)
    for (let k = 0; k < 2 * PLUMTREE_PRUNE_AFTER; k++) {
      const m = msg({ ttl: 5 })
      h.receive('P', m)
      h.receive('C', { ...m, ttl: 4, hops: 1 }) // a child's duplicates: still a tree link
    }
    expect(h.link('C').control().prune).toBe(0)
    expect(h.link('P').control().prune).toBe(0)
    expect(stats(h)).toMatchObject({ eagerLinks: 2, lazyLinks: 2 })
  })

  it('a copy late once is pulled and the link stays lazy; after two messages in a row the tree did not bring, GRAFT repairs', () => {
    const h = ranked({ P: rank('A', 0), L: rank('A', 1) })
    for (let k = 0; k < PLUMTREE_REPAIR_AFTER; k++) {
      const m = msg({ ttl: 5 })
      h.receiveControl('L', { ihave: [{ id: m.msgId, ttl: 4 }] })
      h.advance(TIMEOUT)
      expect(h.link('L').control()).toMatchObject({ graft: [hex(m.msgId)], prune: 1 }) // a pull
      h.link('L').clear()
      h.receive('L', { ...m, ttl: 4 })
      expect(stats(h).lazyLinks).toBe(1)
    }
    const m = msg({ ttl: 5 })
    h.receiveControl('L', { ihave: [{ id: m.msgId, ttl: 4 }] })
    h.advance(TIMEOUT)
    expect(h.link('L').control()).toMatchObject({ graft: [hex(m.msgId)], prune: 0 }) // a GRAFT
    expect(stats(h)).toMatchObject({ eagerLinks: 2, lazyLinks: 0 })
    h.receive('L', { ...m, ttl: 4 })
    h.link('L').clear()
    const fromTree = msg({ ttl: 5 })
    h.receive('P', fromTree) // the tree brings one: the repair stays until a duplicate shows it is not needed
    expect(ids(h.link('L'))).toEqual([hex(fromTree.msgId)])
  })

  it('does not send a pulled copy back to the tree neighbour whose copy ran out', () => {
    const h = ranked({ P: rank('A', 0), C: rank('A', 2, true), L: rank('A', 2) })
    const m = msg({ ttl: 5 })
    h.receiveControl('L', { ihave: [{ id: m.msgId, ttl: 4 }] })
    h.receiveControl('P', { ihave: [{ id: m.msgId, ttl: 0 }] }) // cut short above: pull at once
    expect(h.link('L').control()).toMatchObject({ graft: [hex(m.msgId)], prune: 1 })
    h.receive('L', { ...m, ttl: 4 })
    expect(ids(h.link('C'))).toEqual([hex(m.msgId)])
    expect(ids(h.link('P'))).toEqual([])
  })

  it('a copy that ran out here: the better one announced is fetched only when a neighbour asks for it', () => {
    const h = ranked({ P: rank('A', 0), L: rank('A', 1), N: rank('A', 3) })
    const m = msg({ ttl: 1 })
    h.receive('P', m)
    h.receiveControl('L', { ihave: [{ id: m.msgId, ttl: 4 }] })
    h.advance(10 * TIMEOUT)
    expect(h.link('L').control().graft).toEqual([])
    h.receiveControl('N', { graft: [m.msgId] }) // N has nowhere else to get it
    expect(h.link('L').control()).toMatchObject({ graft: [hex(m.msgId)], prune: 1 })
    h.link('N').clear() // it heard of the spent copy (IHAVE TTL 0) meanwhile
    h.receive('L', { ...m, ttl: 4, hops: 1 }) // more TTL: forwarded again, announced to N
    h.advance(PLUMTREE_IHAVE_DELAY_MS)
    expect(h.link('N').control().ihave).toEqual([hex(m.msgId)])
  })

  it('a spent copy is announced off the tree too; a node that hears only of spent copies asks for one after the long wait', () => {
    const h = ranked({ P: rank('A', 0), C: rank('A', 2, true), L: rank('A', 1) })
    const m = msg({ ttl: 1 })
    h.receive('P', m) // spent here: the child is told at once, L with the next IHAVEs
    expect(h.link('C').control().ihave).toEqual([hex(m.msgId)])
    expect(h.link('L').control().ihave).toEqual([])
    h.advance(PLUMTREE_IHAVE_DELAY_MS)
    expect(h.link('L').control().ihave).toEqual([hex(m.msgId)])
    // the other side: L's notice, our own copy lost on the way
    const h2 = ranked({ P: rank('A', 0), L: rank('A', 1) })
    const m2 = msg({ ttl: 5 })
    h2.receiveControl('L', { ihave: [{ id: m2.msgId, ttl: 0 }] })
    h2.advance(PLUMTREE_SPENT_WAIT_MS - 1)
    expect(h2.link('L').control().graft).toEqual([]) // our copy is likely on its way: no pull yet
    h2.advance(1)
    expect(h2.link('L').control().graft).toEqual([hex(m2.msgId)])
  })

  it('cut short with no copy that can go on announced: asks the neighbours holding spent copies, the one that said so first', () => {
    const h = ranked({ P: rank('A', 0), Q: rank('A', 1), R: rank('A', 2) })
    const m = msg({ ttl: 5 })
    h.receiveControl('P', { ihave: [{ id: m.msgId, ttl: 0 }] })
    h.advance(TIMEOUT)
    expect(h.link('P').control().graft).toEqual([hex(m.msgId)])
    expect(h.link('Q').control().graft).toEqual([])
    h.advance(RETRY)
    expect(h.link('Q').control().graft).toEqual([hex(m.msgId)])
    h.receive('Q', { ...m, ttl: 3 })
    expect(stats(h).missing).toBe(0)
  })
})
