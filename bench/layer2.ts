/**
 * Layer-2 figures: payments a provider accepts per second with its full checks and the
 * persistence before each ack (one channel, and ten interleaved), end-to-end paid round
 * trips over a real stream, and a balance query's round trip through three hops.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { TmsgNode } from '../src/node/node.ts'
import { Identity } from '../src/identity.ts'
import { Store } from '../src/store/store.ts'
import { Layer2 } from '../src/layer2/layer2.ts'
import { createLogger } from '../src/log.ts'
import { accountTarget } from '../src/targets.ts'
import { Kind, toHex } from '../src/wire/index.ts'
import { BalanceRequestType, encodeAs } from '../src/layer2/proto.ts'
import { signChannelTx, updateTx } from '../src/layer2/channel-tx.ts'
import { txBytes } from '../src/layer2/tx.ts'
import { partiesOf } from '../src/layer2/provider.ts'

let seq = 0
async function l2Node (ledger: string): Promise<{ node: TmsgNode, l2: Layer2 }> {
  const node = await TmsgNode.create({ identity: Identity.generate(), transport: 'memory', listen: [`/memory/bench-l2-${process.pid}-${seq++}`], mdns: false, minPeers: 0, maxPeers: 64 })
  await node.start()
  const dir = mkdtempSync(join(tmpdir(), 'tmsg-bench-l2-'))
  const store = new Store(join(dir, 'tmsg.db'))
  const l2 = new Layer2({ node, db: store.db, log: createLogger({ level: 'silent', stderr: false }), ledgerPath: ledger, downloads: join(dir, 'dl') })
  node.subscribe(accountTarget(node.identity.account))
  await l2.start()
  return { node, l2 }
}

async function connect (a: TmsgNode, b: TmsgNode): Promise<void> {
  const peer = await a.connect(b.dialableAddress())
  await a.waitForNeighbour(peer)
  await b.waitForNeighbour(a.peerId)
}

export interface Layer2Figures {
  acceptOne: number
  acceptTen: number
  endToEnd: number
  balanceRttP50: number
  balanceRttP99: number
}

export async function layer2Bench (payments: number): Promise<Layer2Figures> {
  const ledger = join(mkdtempSync(join(tmpdir(), 'tmsg-bench-ledger-')), 'ledger.db')
  const [client, provider, r1, r2] = [await l2Node(ledger), await l2Node(ledger), await l2Node(ledger), await l2Node(ledger)]
  await connect(client.node, provider.node)
  provider.l2.provider.offer({ service: 'bench', pricePerUnit: 1, unit: 'op', minDeposit: 1000, windowSeconds: 3600 })
  await client.l2.wallet.faucet(100_000_000)
  await client.l2.client.terms('bench', 500)
  const channels: string[] = []
  for (let i = 0; i < 10; i++) channels.push((await client.l2.client.open(provider.node.peerId, 'bench', 5_000_000)).channelId)

  // Payments signed in advance, exactly as the client would send them; fed to the provider's handler.
  const presign = (id: string, from: number, n: number): Array<{ pay: { channelId: string, sequence: number, cumulativePaid: number, updateTx: Uint8Array, signatures: Uint8Array[] } }> => {
    const ch = client.l2.channels.get(id)!
    const parties = partiesOf(ch, client.node.identity, 'client')
    return Array.from({ length: n }, (_, k) => {
      const sequence = from + k + 1
      const u = updateTx(ch.fundings, parties, sequence * 10, sequence)
      return { pay: { channelId: id, sequence, cumulativePaid: sequence * 10, updateTx: txBytes(u), signatures: signChannelTx(u, ch.fundings, parties, client.node.identity) } }
    })
  }
  const accept = async (msgs: Array<ReturnType<typeof presign>[number]>): Promise<number> => {
    const t0 = performance.now()
    for (const m of msgs) {
      const r = await provider.l2.provider.handle(client.node.peerId, m)
      if (!('ack' in r)) throw new Error('payment refused in the benchmark')
    }
    return msgs.length / ((performance.now() - t0) / 1000)
  }
  const acceptOne = await accept(presign(channels[0]!, 0, payments))
  const perChannel = Math.ceil(payments / 10)
  const batches = channels.map(id => presign(id, id === channels[0] ? payments : 0, perChannel))
  const interleaved = Array.from({ length: perChannel }, (_, k) => batches.map(b => b[k]!)).flat()
  const acceptTen = await accept(interleaved)

  // End to end: ChannelClient.pay over the stream (sign, persist, send, check, persist, ack).
  const e2eChannel = (await client.l2.client.open(provider.node.peerId, 'bench', 5_000_000)).channelId
  const n = Math.min(500, payments)
  const t0 = performance.now()
  for (let i = 0; i < n; i++) await client.l2.client.pay(e2eChannel, 1)
  const endToEnd = n / ((performance.now() - t0) / 1000)

  // Balance query through three hops: client — r1 — r2 — provider (the account owner).
  await client.node.disconnect(provider.node.peerId)
  client.node.forget(provider.node.peerId)
  await connect(client.node, r1.node)
  await connect(r1.node, r2.node)
  await connect(r2.node, provider.node)
  const rtts: number[] = []
  const target = accountTarget(provider.node.identity.account)
  for (let i = 0; i < 100; i++) {
    const t = performance.now()
    const reply = new Promise<void>(resolve => {
      const on = (d: { msg: { kind: number, replyTo: Uint8Array } }): void => {
        if (d.msg.kind === Kind.BALANCE_RESPONSE && toHex(d.msg.replyTo) === id) { client.node.off('delivery', on); resolve() }
      }
      client.node.on('delivery', on)
    })
    const id = client.node.send({ target: target.id, kind: Kind.BALANCE_REQUEST, payload: encodeAs(BalanceRequestType, { account: provider.node.identity.account }) }).msgId
    await reply
    rtts.push(performance.now() - t)
  }
  rtts.sort((a, b) => a - b)
  for (const x of [client, provider, r1, r2]) { await x.l2.stop(); await x.node.stop() }
  return { acceptOne, acceptTen, endToEnd, balanceRttP50: rtts[50]!, balanceRttP99: rtts[98]! }
}
