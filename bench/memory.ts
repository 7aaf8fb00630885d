/**
 * `npm run bench -- --only=memory`: the RSS of a relay — a real `tmsg node` process with its
 * default limits (only --max-peers raised to take 50 neighbours) — while 50 TCP neighbours
 * offer it 10,000 unique messages per second in all, each forwarded to the other 49.
 *
 * The neighbours live in a few processes of their own (bench/neighbours.ts) and count what
 * they receive instead of decoding it, so the driver keeps up. 20 of them send, 500 msg/s
 * each: half the default per-neighbour budget, so nothing is rate limited.
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import type { NeighboursArgs, NeighboursReply } from './neighbours.ts'
import { statusMB } from './common.ts'

export interface MemoryOptions {
  neighbours: number
  /** Unique messages per second offered to the relay, in all. */
  rate: number
  seconds: number
  senders: number
  /** Processes the neighbours are spread over. */
  processes: number
  payloadBytes: number
}

export interface MemoryResult {
  /** RSS of the relay with every neighbour connected, before traffic (MiB). */
  startMB: number
  /** Highest of the 250 ms samples during the run (MiB). */
  peakMB: number
  /** VmHWM at the end: the true peak, between samples too (start-up included, which is lower). */
  hwmMB: number
  endMB: number
  /** RSS every second during the run (MiB). */
  samples: number[]
  offered: number
  written: number
  /** Unique messages the relay received / forwarded copies, from its node_stats. */
  received: number
  forwarded: number
  dropped: Record<string, number>
  seen: number
  /** Fewest and most messages any one neighbour received. */
  minAtNeighbour: number
  maxAtNeighbour: number
  /** Messages the relay took in per second while offered traffic ran. */
  inPerSec: number
  /** Cores the relay used on average, from the start of traffic until the queues were empty. */
  relayCpu: number
  /** When traffic started and when the last neighbour was done (ms since the epoch). */
  t0: number
  t1: number
}

interface NodeStats { received: number, forwarded: number, seenCacheSize: number, drops: Record<string, number> }

type RpcNode = { call: (method: string, params?: object) => Promise<unknown>, p2p: string, pid: number, stop: () => Promise<void> }

/** CPU seconds the process used so far (utime + stime, in clock ticks of 10 ms). */
const cpuSeconds = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}


function onReply (p: ChildProcess, type: NeighboursReply['type']): Promise<NeighboursReply> {
  return new Promise((resolve, reject) => {
    const onMsg = (r: NeighboursReply): void => { if (r.type === type) { p.off('message', onMsg); resolve(r) } }
    p.on('message', onMsg)
    p.once('exit', code => { reject(new Error(`neighbour process exited with ${code} before '${type}'`)) })
  })
}

export async function memoryBench (relay: RpcNode, o: MemoryOptions): Promise<MemoryResult> {
  // The relay closes idle keep-alive connections; a call racing that close is simply retried.
  const stats = async (): Promise<NodeStats> => {
    try {
      return await relay.call('node_stats') as NodeStats
    } catch {
      return await relay.call('node_stats') as NodeStats
    }
  }
  const target = randomBytes(16).toString('hex')
  const procs: ChildProcess[] = []
  for (let i = 0; i < o.processes; i++) {
    const count = Math.floor(o.neighbours / o.processes) + (i < o.neighbours % o.processes ? 1 : 0)
    const senders = Math.floor(o.senders / o.processes) + (i < o.senders % o.processes ? 1 : 0)
    const args: NeighboursArgs = { relay: relay.p2p, count, senders, perSender: o.rate / o.senders, target, payloadBytes: o.payloadBytes }
    procs.push(fork(fileURLToPath(new URL('./neighbours.ts', import.meta.url)), [JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  }
  // One at a time: 50 Noise handshakes at once on two cores time out.
  for (const p of procs) await onReply(p, 'ready')
  const before = await stats()
  const startMB = statusMB(relay.pid)
  const cpu0 = cpuSeconds(relay.pid)
  const samples: number[] = []
  let peakMB = startMB
  const sampler = setInterval(() => {
    const r = statusMB(relay.pid)
    peakMB = Math.max(peakMB, r)
    samples.push(r)
  }, 250)
  const done = procs.map(async p => await onReply(p, 'done') as Extract<NeighboursReply, { type: 'done' }>)
  const t0 = Date.now()
  for (const p of procs) p.send({ type: 'go', seconds: o.seconds })
  let inPerSec = NaN
  const mid = setTimeout(() => {
    (async () => {
      const s = await stats()
      inPerSec = (s.received - before.received) / ((Date.now() - t0) / 1000)
    })().catch(() => {})
  }, o.seconds * 1000 - 500)
  const results = await Promise.all(done)
  const t1 = Date.now()
  clearTimeout(mid)
  clearInterval(sampler)
  const endMB = statusMB(relay.pid)
  const hwmMB = statusMB(relay.pid, 'VmHWM')
  const relayCpu = (cpuSeconds(relay.pid) - cpu0) / ((Date.now() - t0) / 1000)
  const after = await stats()
  const received = results.flatMap(r => r.received)
  const dropped = Object.fromEntries(Object.entries(after.drops).map(([k, v]) => [k, v - (before.drops[k] ?? 0)]).filter(([, v]) => v !== 0))
  return {
    startMB,
    peakMB,
    hwmMB,
    endMB,
    samples: samples.filter((_, i) => i % 4 === 3),
    offered: results.reduce((s, r) => s + r.offered, 0),
    written: results.reduce((s, r) => s + r.written, 0),
    received: after.received - before.received,
    forwarded: after.forwarded - before.forwarded,
    dropped,
    seen: after.seenCacheSize,
    minAtNeighbour: Math.min(...received),
    maxAtNeighbour: Math.max(...received),
    inPerSec,
    relayCpu,
    t0,
    t1
  }
}
