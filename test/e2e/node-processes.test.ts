/**
 * Three `tmsg node` processes on loopback TCP, chained A ← B ← C by --bootstrap, driven from
 * outside by an independent flood-protocol peer at each end.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { FloodPeer, makeMessage } from '../helpers/flood-peer.ts'
import { freePort, spawnTmsg, stopProcess, tempDatadir } from '../helpers/proc.ts'
import type { NodeProcess } from '../helpers/proc.ts'
import { waitFor } from '../helpers/wait.ts'

describe('three node processes chained by --bootstrap', () => {
  const procs: NodeProcess[] = []
  const peers: FloodPeer[] = []
  afterAll(async () => {
    await Promise.all(procs.map(async p => await stopProcess(p, 'SIGKILL')))
    await Promise.all(peers.map(async p => { await p.stop() }))
  })

  /** Sends fresh messages from `from` into `entry` until one reaches `to`; returns it. */
  async function passThrough (from: FloodPeer, entry: string, to: FloodPeer, text: string): Promise<{ hops: number, ttl: number }> {
    const target = randomBytes(16)
    let n = 0
    const payloads = new Set<string>()
    let got: { hops: number, ttl: number } | undefined
    await waitFor(() => {
      got = to.received.find(m => payloads.has(Buffer.from(m.payload).toString()))
      if (got !== undefined) return true
      const payload = `${text} #${n++}`
      payloads.add(payload)
      from.send(entry, [makeMessage({ target, payload: Buffer.from(payload) })])
      return false
    }, `"${text}" to cross the chain`, 30_000, 250)
    return got!
  }

  it('passes a message end to end, and again after the middle node is killed and restarted', async () => {
    const portB = await freePort()
    const a = spawnTmsg(['node', '--datadir', tempDatadir(), '--port', '0', '--host', '127.0.0.1'])
    procs.push(a)
    const readyA = await a.ready
    expect(readyA.p2p).toBe(`${readyA.p2p.split('/p2p/')[0]}/p2p/${readyA.peerId}`)
    expect(readyA.p2p.startsWith('/ip4/127.0.0.1/tcp/')).toBe(true)
    const dirB = tempDatadir()
    const bArgs = ['node', '--datadir', dirB, '--port', String(portB), '--bootstrap', readyA.p2p]
    let b = spawnTmsg(bArgs)
    procs.push(b)
    const readyB = await b.ready
    const c = spawnTmsg(['node', '--datadir', tempDatadir(), '--port', '0', '--bootstrap', readyB.p2p])
    procs.push(c)
    const readyC = await c.ready

    const [p, q] = [await FloodPeer.start(), await FloodPeer.start()]
    peers.push(p, q)
    await p.connect(readyA.p2p)
    await q.connect(readyC.p2p)

    const first = await passThrough(p, readyA.p2p, q, 'before restart')
    expect(first).toMatchObject({ hops: 3, ttl: 4 }) // P→A→B→C→Q: A, B and C each add a hop

    expect(await stopProcess(b, 'SIGKILL')).toBe(null)
    b = spawnTmsg(bArgs)
    procs.push(b)
    const readyB2 = await b.ready
    expect(readyB2.peerId).toBe(readyB.peerId) // same datadir, same identity
    const second = await passThrough(p, readyA.p2p, q, 'after restart')
    expect(second).toMatchObject({ hops: 3, ttl: 4 })

    for (const proc of [a, b, c]) expect(await stopProcess(proc, 'SIGTERM')).toBe(0)
  })
})
