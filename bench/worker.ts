/**
 * A benchmark node in its own process, driven over IPC by bench/run.ts, so its CPU time and
 * memory are its own.
 */
import { TmsgNode } from '../src/node/node.ts'
import { Identity } from '../src/identity.ts'
import { rawTarget } from '../src/targets.ts'
import type { RouterName } from '../src/routing.ts'
import { BENCH_FLOOD } from './common.ts'

export type WorkerRequest =
  | { type: 'connect', addr: string }
  | { type: 'subscribe', hex: string }
  | { type: 'stats' }
  | { type: 'stop' }

export type WorkerReply =
  | { type: 'ready', addr: string, peerId: string }
  | { type: 'connected' }
  | { type: 'subscribed' }
  | { type: 'stats', cpuMicros: number, rss: number, received: number, forwarded: number, delivered: number }
  | { type: 'error', message: string }

process.on('uncaughtException', err => { process.stderr.write(`relay worker crashed: ${err.stack ?? err.message}\n`); process.exit(1) })
const router = process.argv[2] as RouterName
const node = await TmsgNode.create({ identity: Identity.generate(), router, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, maxPeers: 64, minPeers: 0, flood: BENCH_FLOOD })
await node.start()
const send = (r: WorkerReply): void => { process.send!(r) }
process.on('message', (req: WorkerRequest) => {
  void (async () => {
    try {
      switch (req.type) {
        case 'connect': await node.connect(req.addr); send({ type: 'connected' }); break
        case 'subscribe': node.subscribe(rawTarget(req.hex)); send({ type: 'subscribed' }); break
        case 'stats': {
          const cpu = process.cpuUsage()
          const s = node.stats()
          send({ type: 'stats', cpuMicros: cpu.user + cpu.system, rss: process.memoryUsage().rss, received: s.received, forwarded: s.forwarded, delivered: s.delivered })
          break
        }
        case 'stop': await node.stop(); process.exit(0)
      }
    } catch (err: unknown) {
      send({ type: 'error', message: (err as Error).message })
    }
  })()
})
send({ type: 'ready', addr: node.dialableAddress(), peerId: node.peerId })
