/**
 * Store and forward (DESIGN §10): the request codec and its limits, request planning, the
 * check of an answer against its request, the bounded store of originals, and two or three
 * real nodes over the in-memory transport asking each other.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { decodeHistoryRequest, encodeHistoryRequest, HistoryRequestType, HISTORY_MAX_LIMIT } from '../../src/wire/history.ts'
import { answerCheck, HISTORY_PROTOCOL, HISTORY_SINCE_SLACK_MS, HistoryRequestLimiter, HistoryService, planRequests } from '../../src/node/history-service.ts'
import type { HistoryServiceComponents } from '../../src/node/history-service.ts'
import type { Router } from '../../src/routing.ts'
import * as lp from 'it-length-prefixed'
import type { HistoryBackend } from '../../src/node/history-service.ts'
import type { RouterName } from '../../src/routing.ts'
import { Store } from '../../src/store/store.ts'
import { keptOriginals } from '../../src/app.ts'
import { buildTMsg, encodeTMsg, idKey, Kind } from '../../src/wire/index.ts'
import type { TMsg } from '../../src/wire/index.ts'
import { Identity } from '../../src/identity.ts'
import { channelTarget, nickTarget } from '../../src/targets.ts'
import { link, startNode, stopAll } from '../helpers/network.ts'
import type { TestNode } from '../helpers/network.ts'
import { waitFor } from '../helpers/wait.ts'

const HOUR = 3_600_000
const alice = Identity.generate()
const room = channelTarget('room').id
const other = channelTarget('other').id

function line (text: string, timestamp: number, target = room): TMsg {
  return buildTMsg({ target, payload: Buffer.from(text), kind: Kind.DATA, ttl: 7, timestamp, signer: alice })
}

/** The node's own backend (app.ts), over a store of the test's. */
const storeBackend = keptOriginals

describe('history request codec', () => {
  it('round-trips and refuses requests past the limits', () => {
    const req = { targets: [room, other], since: 1_750_000_000_123, limit: 1000 }
    const back = decodeHistoryRequest(encodeHistoryRequest(req))
    expect(back.since).toBe(req.since)
    expect(back.limit).toBe(1000)
    expect(back.targets.map(t => Buffer.from(t).toString('hex'))).toEqual([room, other].map(t => Buffer.from(t).toString('hex')))
    const raw = (o: object): Uint8Array => HistoryRequestType.encode(HistoryRequestType.fromObject(o)).finish()
    expect(() => decodeHistoryRequest(raw({ targets: [room], since: 0, limit: HISTORY_MAX_LIMIT + 1 }))).toThrow(/limit/)
    expect(() => decodeHistoryRequest(raw({ targets: [room], since: 0, limit: 0 }))).toThrow(/limit/)
    expect(() => decodeHistoryRequest(raw({ targets: [], since: 0, limit: 10 }))).toThrow(/targets/)
    expect(() => decodeHistoryRequest(raw({ targets: Array.from({ length: 65 }, () => room), since: 0, limit: 10 }))).toThrow(/targets/)
    expect(() => decodeHistoryRequest(raw({ targets: [new Uint8Array(15)], since: 0, limit: 10 }))).toThrow(/16 bytes/)
    expect(() => decodeHistoryRequest(new Uint8Array([0x0a, 0xff, 0xff]))).toThrow(/malformed/)
    expect(() => decodeHistoryRequest(new Uint8Array(4096))).toThrow(/exceeds/)
  })
})

describe('history requests and answers', () => {
  const now = 1_750_000_000_000
  it('asks each target since the newest held (less a slack), unseen ones for the whole window', () => {
    const held = new Map([[idKey(room), now - HOUR]])
    const third = channelTarget('third').id
    const plan = planRequests([room, other, third, room], t => held.get(idKey(t)), now, 24 * HOUR)
    expect(plan).toHaveLength(2)
    expect(plan[0]).toMatchObject({ since: now - 24 * HOUR, limit: 1000 })
    expect(plan[0]!.targets).toHaveLength(2)
    expect(plan[1]).toMatchObject({ since: now - HOUR - HISTORY_SINCE_SLACK_MS, targets: [room] })
  })

  it('refuses targets not asked, times outside the window asked, and a repeated id', () => {
    const check = answerCheck({ targets: [room], since: now - HOUR, limit: 10 }, now)
    const ok = line('ok', now - 10)
    expect(check(ok)).toBe(true)
    expect(check(ok)).toBe(false) // the same id twice in one answer
    expect(check(line('other room', now - 10, other))).toBe(false)
    expect(check(line('too old', now - 2 * HOUR))).toBe(false)
    expect(check(line('from the future', now + HOUR))).toBe(false)
  })
})

describe('answering a history request', () => {
  it('gives up an answer the asker reads too slowly after the timeout in all, not per write', async () => {
    let onRequest: ((stream: unknown, connection: unknown) => void) | undefined
    const components = {
      registrar: { handle: (_p: string, h: typeof onRequest) => { onRequest = h; return Promise.resolve() }, register: () => Promise.resolve('topology'), unregister: () => {}, unhandle: () => Promise.resolve() },
      logger: { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) }
    } as unknown as HistoryServiceComponents
    // 1000 lines of ~1 KB: about eight 128 KiB units to write.
    const rows = Array.from({ length: 1000 }, (_, i) => encodeTMsg(line(`${i} `.padEnd(1000, 'x'), Date.now() - HOUR)))
    const backend: HistoryBackend = { keep: () => {}, has: () => false, newest: () => undefined, since: () => rows }
    const svc = new HistoryService(components, { backend, router: () => ({ isBanned: () => false }) as unknown as Router, targets: () => [], timeoutMs: 300 })
    await svc.start()

    // An asker that takes each unit 100 ms after the last: every write is within the timeout,
    // the whole answer (~800 ms) is not.
    const stream = Object.assign(new EventTarget(), {
      units: 0,
      aborted: undefined as Error | undefined,
      closed: false,
      send () { this.units++; return false },
      async onDrain (o: { signal: AbortSignal }) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, 100)
          o.signal.addEventListener('abort', () => { clearTimeout(t); reject(o.signal.reason as Error) }, { once: true })
        })
      },
      close () { this.closed = true; return Promise.resolve() },
      abort (err: Error) { this.aborted = err }
    })
    onRequest!(stream, { remotePeer: { toString: () => 'slow reader' } })
    const request = lp.encode.single(encodeHistoryRequest({ targets: [room], since: 0, limit: 1000 })).subarray()
    stream.dispatchEvent(Object.assign(new Event('message'), { data: request }))
    await waitFor(() => stream.aborted !== undefined || stream.closed, 'the answer to end')
    expect(stream.closed).toBe(false)
    expect(stream.aborted).toBeDefined()
    expect(stream.units).toBeLessThan(6)
    await svc.stop()
  })
})

describe('history request budgets', () => {
  it('answers a burst per peer, then a few per second; all peers together have their own budget', () => {
    let now = 0
    const limiter = new HistoryRequestLimiter({ perSecond: 2, burst: 5 }, { perSecond: 1, burst: 6 }, () => now)
    const a = Array.from({ length: 7 }, () => limiter.allow('A'))
    expect(a).toEqual([true, true, true, true, true, false, false])
    now += 1000 // two more for A
    expect([limiter.allow('A'), limiter.allow('A'), limiter.allow('A')]).toEqual([true, true, false])
    // B has a bucket of its own, but A has spent the total (6 at once, 1/s): B waits for it.
    expect(limiter.allow('B')).toBe(false)
    now += 1000
    expect([limiter.allow('B'), limiter.allow('B')]).toEqual([true, false])
    expect(limiter.refused).toBe(5)
  })
})

describe('store of originals', () => {
  it('answers several targets merged oldest first (same-ms lines in arrival order), each target once however often named', () => {
    const now = 1_750_000_000_000
    const store = new Store(':memory:', { now: () => now })
    const b = storeBackend(store)
    const third = channelTarget('third').id
    const kept: TMsg[] = []
    for (let i = 0; i < 30; i++) {
      const m = line(`l${i}`, now - 1000 + Math.floor(i / 3), [room, other, third][i % 3]) // three lines per ms
      kept.push(m)
      b.keep(m, now)
    }
    const hex = (e: Uint8Array): string => Buffer.from(e).toString('hex')
    const want = (ms: TMsg[]): string[] => ms.map(m => hex(encodeTMsg(m)))
    const two = kept.filter(m => idKey(m.target) !== idKey(third))
    expect(b.since([room, other, room, other], 0, 1000, 1 << 20).map(hex)).toEqual(want(two))
    expect(b.since([other, room], kept[6]!.timestamp, 5, 1 << 20).map(hex)).toEqual(want(two.filter(m => m.timestamp >= kept[6]!.timestamp).slice(0, 5)))
    const four = kept.slice(0, 4).reduce((n, m) => n + encodeTMsg(m).length, 0) // signatures vary in length
    expect(b.since([room, other, third], 0, 1000, four)).toHaveLength(4)
    expect(b.since([room, other, third], 0, 1000, four - 1)).toHaveLength(3)
    store.close()
  })

  it('holds a target up to what it received, not up to a timestamp in the future', () => {
    const now = 1_750_000_000_000
    const store = new Store(':memory:', { now: () => now })
    const b = storeBackend(store)
    b.keep(line('an hour ago, synced now', now - HOUR), now)
    expect(b.newest(room)).toBe(now - HOUR)
    // A sender whose clock runs 9 minutes ahead (inside the flood's window): had the node
    // asked from that timestamp after being away, the minutes before it would never come.
    b.keep(line('from a fast clock', now + 9 * 60_000), now - 60_000)
    expect(b.newest(room)).toBe(now - 60_000)
    const plan = planRequests([room], t => b.newest(t), now + 30 * 60_000, 24 * HOUR)
    expect(plan[0]!.since).toBeLessThanOrEqual(now - 60_000)
    store.close()
  })

  it('answers oldest first within count and byte bounds, and forgets past the age and size caps', () => {
    let clock = 1_750_000_000_000
    const store = new Store(':memory:', { originalsMaxAgeMs: 24 * HOUR, originalsMaxBytes: 64 * 1024, now: () => clock })
    const b = storeBackend(store)
    const msgs = Array.from({ length: 100 }, (_, i) => line(`line ${i}`, clock - 1000 + i))
    for (const m of [...msgs].reverse()) b.keep(m, clock)
    b.keep(msgs[0]!, clock) // kept once
    expect(store.originalsStats().count).toBe(100)
    expect(b.has(msgs[5]!.msgId)).toBe(true)
    expect(b.newest(room)).toBe(msgs[99]!.timestamp)
    expect(b.newest(other)).toBeUndefined()
    const page = b.since([room], msgs[10]!.timestamp, 20, 1 << 20)
    expect(page.map(e => Buffer.from(e).toString('hex'))).toEqual(msgs.slice(10, 30).map(m => Buffer.from(encodeTMsg(m)).toString('hex')))
    const three = msgs.slice(0, 3).reduce((n, m) => n + encodeTMsg(m).length, 0)
    expect(b.since([room], 0, 1000, three)).toHaveLength(3)
    expect(b.since([room], 0, 1000, three - 1)).toHaveLength(2)
    expect(b.since([other], 0, 1000, 1 << 20)).toHaveLength(0)

    // Size: 64 KiB holds a few hundred of these; the oldest go first.
    for (let i = 0; i < 1000; i++) b.keep(line(`more ${i}`, clock + i), clock)
    const stats = store.originalsStats()
    expect(stats.bytes).toBeLessThanOrEqual(64 * 1024)
    expect(b.has(msgs[0]!.msgId)).toBe(false)
    // Received at `clock`, stamped up to a second later: held up to `clock` (see below).
    expect(b.newest(room)).toBe(clock)

    // Age: a day later everything from before is gone.
    clock += 25 * HOUR
    b.keep(line('tomorrow', clock), clock)
    expect(store.originalsStats().count).toBe(1)
    store.close()
  })
})

describe('store and forward between nodes (memory transport)', () => {
  const nodes: TestNode[] = []
  const stores: Store[] = []
  afterEach(async () => {
    await stopAll(nodes.splice(0))
    for (const s of stores.splice(0)) s.close()
  })

  async function historyNode (backend?: HistoryBackend, router: RouterName = 'flood'): Promise<TestNode & { store: Store }> {
    const store = new Store(':memory:')
    stores.push(store)
    const n = await startNode(router, { history: backend ?? storeBackend(store) })
    nodes.push(n)
    return Object.assign(n, { store })
  }

  it.each(['flood', 'plumtree', 'gossipsub'] as const)('%s: a node that connects gets what its neighbour kept, once, marked as history, oldest first; held messages are not delivered again', async (router) => {
    const a = await historyNode(undefined, router)
    const now = Date.now()
    // Hours old: the flood would refuse these, history takes them.
    const old = Array.from({ length: 30 }, (_, i) => line(`old ${i}`, now - 3 * HOUR + i * 1000))
    for (const m of old) a.node.router.ingestHistory('someone', [m])
    a.node.subscribe(channelTarget('room'))
    const b = await historyNode(undefined, router)
    b.node.subscribe(channelTarget('room'))
    await b.node.connect(a.addr)
    await waitFor(() => b.deliveries.length >= 30, 'B to get the 30 stored lines')
    await b.node.historyIdle()
    expect(b.deliveries.map(d => Buffer.from(d.msg.payload).toString())).toEqual(old.map(m => Buffer.from(m.payload).toString()))
    expect(b.deliveries.every(d => d.history === true && d.verified)).toBe(true)
    expect(b.store.originalsStats().count).toBe(30)

    // B reconnects: it asks again from its newest, and nothing is delivered twice.
    await b.node.disconnect(a.node.peerId)
    await b.node.connect(a.addr)
    await waitFor(() => (b.node.historyStats()?.syncs ?? 0) >= 2, 'B to sync again')
    await b.node.historyIdle()
    expect(b.deliveries).toHaveLength(30)
    expect(a.node.historyStats()!.requestsServed).toBeGreaterThanOrEqual(2)
  })

  it('a neighbour that never answers does not keep the node from asking the others', async () => {
    const silent = await historyNode()
    // Takes the request and never answers: the asker's request times out only after 30 s.
    await silent.node.libp2p.unhandle(HISTORY_PROTOCOL)
    await silent.node.libp2p.handle(HISTORY_PROTOCOL, () => {})
    const a = await historyNode()
    const now = Date.now()
    const old = Array.from({ length: 5 }, (_, i) => line(`old ${i}`, now - HOUR + i))
    for (const m of old) a.node.router.ingestHistory('someone', [m])
    const b = await historyNode()
    b.node.subscribe(channelTarget('room'))
    await b.node.connect(silent.addr)
    await waitFor(() => (b.node.historyStats()?.syncs ?? 0) >= 1, 'B to ask the silent neighbour')
    await b.node.connect(a.addr)
    await waitFor(() => b.deliveries.length === 5, 'B to get the lines from the neighbour that answers', 20_000)
  })

  it.each(['flood', 'plumtree'] as const)('%s: a message delivered before a restart and flooded again within the window is not delivered again', async (router) => {
    const store = new Store(':memory:')
    stores.push(store)
    const text = (d: { msg: TMsg }): string => Buffer.from(d.msg.payload).toString()
    const before = await startNode(router, { history: storeBackend(store) })
    nodes.push(before)
    before.node.subscribe(channelTarget('room'))
    const b = await startNode(router)
    nodes.push(b)
    await link(before, b)
    const m = b.node.send({ target: room, payload: Buffer.from('once'), kind: Kind.DATA }).msg
    await waitFor(() => before.deliveries.length === 1, 'the line before the restart')
    await before.node.stop()
    nodes.splice(nodes.indexOf(before), 1)

    const after = await startNode(router, { history: storeBackend(store) })
    nodes.push(after)
    after.node.subscribe(channelTarget('room'))
    await link(after, b)
    b.node.router.publish(m) // the same signed message again, still inside the ±10 min window
    b.node.send({ target: room, payload: Buffer.from('new'), kind: Kind.DATA })
    await waitFor(() => after.deliveries.some(d => text(d) === 'new'), 'the new line after the restart')
    expect(after.deliveries.map(text)).toEqual(['new'])
  })

  it('a nick subscribed from the time it was taken gets nothing older, from neighbours or kept; a room still gets its day', async () => {
    const bob = nickTarget('bob').id
    const now = Date.now()
    const a = await historyNode()
    // What the nick's last holder was sent, kept by the neighbour and by the node itself.
    a.node.router.ingestHistory('someone', [line('to the old bob', now - 3 * HOUR, bob), line('room line', now - 3 * HOUR), line('to the new bob', now - 10 * 60_000, bob)])
    const b = await historyNode()
    b.node.router.ingestHistory('someone', [line('kept for the old bob', now - 2 * HOUR, bob)])
    expect(b.store.originalsStats().count).toBe(1)
    b.node.subscribe(nickTarget('bob'), now - HOUR)
    b.node.subscribe(channelTarget('room'))
    expect(b.node.replayKept(bob)).toBe(0)
    await link(a, b)
    const texts = (): string[] => b.deliveries.map(d => Buffer.from(d.msg.payload).toString())
    await waitFor(() => texts().includes('room line') && texts().includes('to the new bob'), 'B to get the room\'s day and the nick\'s last hour')
    await b.node.historyIdle()
    expect(texts().sort()).toEqual(['room line', 'to the new bob'])
  })

  it('joining a room late asks every neighbour for its recent past', async () => {
    const a = await historyNode()
    const b = await historyNode()
    await link(a, b)
    a.node.subscribe(channelTarget('room'))
    for (let i = 0; i < 5; i++) a.node.send({ target: room, payload: Buffer.from(`said ${i}`), kind: Kind.DATA })
    await waitFor(() => b.store.originalsStats().count >= 5, 'B to relay-store the lines')
    const c = await historyNode()
    await link(c, b)
    expect(c.deliveries).toHaveLength(0) // not subscribed yet
    c.node.subscribe(channelTarget('room'))
    await waitFor(() => c.deliveries.length === 5, 'C to see the recent lines after joining')
    expect(c.deliveries.map(d => Buffer.from(d.msg.payload).toString())).toEqual([0, 1, 2, 3, 4].map(i => `said ${i}`))
  })

  it('an answer with targets not asked, forged or oversized changes nothing and is charged to the answering peer', async () => {
    const now = Date.now()
    const forged = { ...line('forged', now - HOUR), payload: Buffer.from('tampered') }
    const wrongRoom = line('other room', now - HOUR, other)
    const good = line('fine', now - HOUR)
    const answers: Uint8Array[][] = [[encodeTMsg(forged), encodeTMsg(wrongRoom), encodeTMsg(good), encodeTMsg(good)]]
    const liar: HistoryBackend = { keep: () => {}, has: () => false, newest: () => undefined, since: () => answers.shift() ?? [] }
    const m = await historyNode(liar)
    const b = await historyNode()
    b.node.subscribe(channelTarget('room'))
    await b.node.connect(m.addr)
    await waitFor(() => (b.node.stats().invalidReasons['history-unrequested'] ?? 0) >= 2, 'B to refuse the unasked and the repeated')
    await b.node.historyIdle()
    expect(b.node.stats().invalidReasons['msg-id-mismatch']).toBe(1)
    // The one good message is taken once; the repeat and the junk are not.
    expect(b.deliveries.map(d => Buffer.from(d.msg.payload).toString())).toEqual(['fine'])
    expect(b.store.hasOriginal(wrongRoom.msgId)).toBe(false)

    // An answer with more than the 1000 asked for is not taken at all, and gets the peer banned.
    const many = Array.from({ length: 1001 }, (_, i) => encodeTMsg(line(`flood ${i}`, now - HOUR + i)))
    answers.push(many)
    b.node.subscribe(channelTarget('again')) // asks again
    await waitFor(() => b.node.router.isBanned(m.node.peerId), 'B to ban the peer that answered 1001 messages')
    expect(b.deliveries).toHaveLength(1)
  })
})
