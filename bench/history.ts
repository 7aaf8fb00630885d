/**
 * Store and forward (DESIGN §10): a `tmsg node` process holds `count` messages of a room that
 * its neighbour missed while disconnected; the neighbour reconnects and pulls them through
 * `/tmsg/history/1.0.0`. Prints how long until all are delivered, the bytes answered, and the
 * serving process's RSS while it serves. The neighbour is in process, with its own tmsg.db.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { TmsgNode } from '../src/node/node.ts'
import { Identity } from '../src/identity.ts'
import { Store } from '../src/store/store.ts'
import { keptOriginals } from '../src/app.ts'
import { channelTarget } from '../src/targets.ts'
import { statusMB } from './common.ts'

interface RpcProcess { call: (method: string, params?: object) => Promise<unknown>, p2p: string, pid: number, stop: () => Promise<void> }

export interface HistoryFigures {
  messages: number
  delivered: number
  /** From the reconnect until the last message was delivered. */
  seconds: number
  requests: number
  /** Length-prefixed Frames the server wrote. */
  bytesServed: number
  /** Originals the server held, as counted for its 64 MiB cap. */
  keptBytes: number
  fillSeconds: number
  rssBeforeMB: number
  rssPeakMB: number
  rssAfterMB: number
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function until (cond: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`history bench: timed out waiting for ${what}`)
    await sleep(5)
  }
}

export async function historyBench (start: () => Promise<RpcProcess>, count = 10_000): Promise<HistoryFigures> {
  const server = await start()
  const dir = mkdtempSync(join(tmpdir(), 'tmsg-history-bench-'))
  const store = new Store(join(dir, 'tmsg.db'))
  const node = await TmsgNode.create({ identity: Identity.generate(), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, minPeers: 0, history: keptOriginals(store) })
  let delivered = 0
  node.on('delivery', d => { if (d.history === true) delivered++ })
  node.subscribe(channelTarget('bench'))
  await node.start()
  try {
    // Neighbours first, then apart while the room talks.
    const peer = await node.connect(server.p2p)
    await node.waitForNeighbour(peer)
    await node.historyIdle()
    await node.disconnect(peer)
    const t0 = performance.now()
    let sent = 0
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (sent < count) {
        sent++
        await server.call('msg_send', { target: '#bench', payload: 'x'.repeat(100) })
      }
    }))
    const fillSeconds = (performance.now() - t0) / 1000
    type Stats = { history: { kept: number, keptBytes: number, requestsServed: number, bytesServed: number } }
    const stats = async (): Promise<Stats['history']> => (await server.call('node_stats') as Stats).history
    await until(async () => (await stats()).kept >= count, 'the server to keep every message', 60_000)
    const before = await stats()
    const rssBeforeMB = statusMB(server.pid)
    let rssPeakMB = rssBeforeMB
    const sampler = setInterval(() => { rssPeakMB = Math.max(rssPeakMB, statusMB(server.pid)) }, 20)
    const t1 = performance.now()
    await node.connect(server.p2p)
    await until(() => delivered >= count, `${count} history deliveries`, 300_000)
    const seconds = (performance.now() - t1) / 1000
    await node.historyIdle()
    clearInterval(sampler)
    const after = await stats()
    return {
      messages: count,
      delivered,
      seconds,
      requests: after.requestsServed - before.requestsServed,
      bytesServed: after.bytesServed - before.bytesServed,
      keptBytes: after.keptBytes,
      fillSeconds,
      rssBeforeMB,
      rssPeakMB,
      rssAfterMB: statusMB(server.pid)
    }
  } finally {
    await node.stop()
    store.close()
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
