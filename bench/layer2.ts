/**
 * Layer-2 figures: payments a provider accepts per second with its full checks and the
 * persistence before each ack (one channel, and ten interleaved), end-to-end paid round
 * trips over a real stream, a balance query's round trip through three hops, and what a
 * receiver pays to check a funding's BEEF as its unmined ancestry grows.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
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
import { signChannelTx, updateTx } from '../src/layer2/channels/transactions.ts'
import { txBytes, txFromBytes } from '../src/layer2/chain/tx.ts'
import { checkPayment } from '../src/layer2/channels/checks.ts'
import { CHANNEL_SERVICE, ChannelStream, channelStream } from '../src/layer2/channels/stream.ts'
import { partiesOf } from '../src/layer2/channels/provider.ts'
import { Transaction } from '@bsv/sdk'
import { DevLedger } from '../src/layer2/chain/dev-ledger.ts'
import { AnswerLimiter } from '../src/layer2/answer-limit.ts'
import { beefOf, verifyBeef } from '../src/layer2/chain/beef.ts'
import { FINAL_SEQUENCE, TX_VERSION, inputOf, multisigLock, outputOf, p2pkhLock, p2pkhUnlock, signInput } from '../src/layer2/chain/tx.ts'

let seq = 0
async function l2Node (ledger: string): Promise<{ node: TmsgNode, l2: Layer2 }> {
  const node = await TmsgNode.create({ identity: Identity.generate(), transport: 'memory', listen: [`/memory/bench-l2-${process.pid}-${seq++}`], mdns: false, minPeers: 0, maxPeers: 64, services: { [CHANNEL_SERVICE]: channelStream() } })
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
  // The round trip, not the owner's answer budget (20/s): lifted, or a fast run waits forever on a refused request.
  ;(provider.l2.balance as unknown as { limiter: AnswerLimiter }).limiter = new AnswerLimiter({ perSecond: 1e6, burst: 1e6 })
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

export interface Layer2StreamFigures {
  /** ChannelClient.pay one after another: sign, persist, send, check, persist, ack. */
  sequential: number
  /** Pre-signed payments kept 64 in flight on the stream: what the provider process accepts. */
  pipelined: number
  /** Provider process CPU per accepted payment, in the pipelined run (µs). */
  providerCpuMicros: number
  /** In-process costs of each part, µs per payment. */
  parts: { clientSign: number, clientPersist: number, providerCheck: number, providerPersist: number }
}

/** utime + stime of a process, in µs (Linux /proc; clock ticks at 100 Hz). */
function cpuMicrosOf (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

/**
 * Payments between two processes over a real TCP stream: the provider is a `tmsg node`
 * process, the client this process, each with its own development ledger.
 */
export async function layer2StreamBench (spawnProvider: (args: string[]) => Promise<{ call: (method: string, params?: object) => Promise<unknown>, p2p: string, pid: number, stop: () => Promise<void> }>, payments: number): Promise<Layer2StreamFigures> {
  // Each side its own ledger (DESIGN §8a): the funding reaches the provider as BEEF.
  const provider = await spawnProvider(['--no-mdns'])
  // A failed run must not leave the provider process behind.
  try {
    const node = await TmsgNode.create({ identity: Identity.generate(), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, minPeers: 0, maxPeers: 64, services: { [CHANNEL_SERVICE]: channelStream() } })
    await node.start()
    const dir = mkdtempSync(join(tmpdir(), 'tmsg-bench-l2s-'))
    const store = new Store(join(dir, 'tmsg.db'))
    const client = new Layer2({ node, db: store.db, log: createLogger({ level: 'silent', stderr: false }), ledgerPath: join(dir, 'ledger.db'), downloads: join(dir, 'dl') })
    await client.start()
    const providerPeer = await node.connect(provider.p2p)
    await node.waitForNeighbour(providerPeer)
    await provider.call('channel_offer', { service: 'bench', pricePerUnit: 1, unit: 'op', minDeposit: 1000, windowSeconds: 3600 })
    await client.wallet.faucet(100_000_000)
    while ((await client.client.terms('bench', 500)).length === 0) { /* the offer floods on the next request */ }
    const open = async (): Promise<string> => (await client.client.open(providerPeer, 'bench', 10_000_000)).channelId

    const seqChannel = await open()
    for (let i = 0; i < 50; i++) await client.client.pay(seqChannel, 1) // warm up
    const n = Math.min(1000, payments)
    let t0 = performance.now()
    for (let i = 0; i < n; i++) await client.client.pay(seqChannel, 1)
    const sequential = n / ((performance.now() - t0) / 1000)

    // Pipelined: the client's signing done beforehand; the stream and the provider measured.
    const pipeChannel = await open()
    const ch = client.channels.get(pipeChannel)!
    const parties = partiesOf(ch, node.identity, 'client')
    const signed = Array.from({ length: payments }, (_, k) => {
      const u = updateTx(ch.fundings, parties, k + 1, k + 1)
      return { pay: { channelId: pipeChannel, sequence: k + 1, cumulativePaid: k + 1, updateTx: txBytes(u), signatures: signChannelTx(u, ch.fundings, parties, node.identity) } }
    })
    const link = (node.service(CHANNEL_SERVICE) as ChannelStream).link(providerPeer, [provider.p2p]) // its address, should the connection have dropped under load
    const cpu0 = cpuMicrosOf(provider.pid)
    t0 = performance.now()
    let next = 0
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < signed.length) {
        const r = await link.request(signed[next++]!)
        if (!('ack' in r)) throw new Error('payment refused in the benchmark')
      }
    }))
    const pipelined = payments / ((performance.now() - t0) / 1000)
    const providerCpuMicros = (cpuMicrosOf(provider.pid) - cpu0) / payments
    link.close()

    // Each part alone, in this process, per payment.
    const per = (fn: (i: number) => void, count = 500): number => {
      const t = performance.now()
      for (let i = 0; i < count; i++) fn(i)
      return (performance.now() - t) * 1000 / count
    }
    const clientSign = per(i => { const u = updateTx(ch.fundings, parties, 10 + i, 10 + i); signChannelTx(u, ch.fundings, parties, node.identity) })
    const clientPersist = per(i => { client.channels.savePayment({ channelId: seqChannel, sequence: 1_000_000 + i, paid: 1, updateTx: signed[0]!.pay.updateTx, signatures: ['00'], acked: true }) })
    const provView = { fundings: ch.fundings, parties: partiesOf({ peerKey: node.identity.publicKey, peerAccount: node.identity.account }, { publicKey: ch.peerKey, account: ch.peerAccount }, 'provider'), sequence: 0, paid: 0, expiry: ch.expiry }
    const providerCheck = per(i => {
      const m = signed[i]!.pay
      checkPayment({ ...provView, sequence: i, paid: i }, { sequence: m.sequence, paid: m.cumulativePaid, tx: txFromBytes(m.updateTx), signatures: m.signatures }, Math.floor(Date.now() / 1000), 900)
    })
    const providerPersist = per(i => { client.channels.update(seqChannel, { sequence: i, paid: i, lastUpdate: signed[0]!.pay.updateTx, lastSignatures: ['00'] }) })

    await client.stop()
    await node.stop()
    store.close()
    return { sequential, pipelined, providerCpuMicros, parts: { clientSign, clientPersist, providerCheck, providerPersist } }
  } finally {
    await provider.stop()
  }
}

export interface BeefFigure {
  /** Transactions behind the funding: the mined coinbase plus the unmined hops. */
  ancestors: number
  bytes: number
  /** verifyBeef (every unmined input through Spend, the roots through the tracker), ms, median of runs. */
  verifyMs: number
}

/**
 * A channel funding whose coin went through `ancestors - 1` unmined hops after the faucet's
 * (mined) coinbase, handed to a receiver with its own ledger: what its full check costs.
 */
export async function beefBench (sizes = [1, 10, 100], runs = 5): Promise<BeefFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tmsg-bench-beef-'))
  const payer = new DevLedger(join(dir, 'payer.db'))
  const receiver = new DevLedger(join(dir, 'receiver.db'))
  const id = Identity.generate()
  const provider = Identity.generate()
  const lock = p2pkhLock(id.account)
  const out: BeefFigure[] = []
  for (const ancestors of sizes) {
    let coin = { txid: await payer.mint(lock.toHex(), 1_000_000), vout: 0, satoshis: 1_000_000 }
    const spend = (to: ReturnType<typeof p2pkhLock>, fee: number): Transaction => {
      const tx = new Transaction(TX_VERSION, [inputOf(coin, FINAL_SEQUENCE)], [outputOf(coin.satoshis - fee, to)], 0)
      tx.inputs[0]!.unlockingScript = p2pkhUnlock(signInput(tx, 0, { satoshis: coin.satoshis, lockingScript: lock }, id), id.publicKey)
      return tx
    }
    for (let hop = 1; hop < ancestors; hop++) {
      const tx = spend(lock, 30)
      await payer.broadcast(tx)
      coin = { txid: tx.id('hex'), vout: 0, satoshis: tx.outputs[0]!.satoshis! }
    }
    const funding = spend(multisigLock(id.publicKey, provider.publicKey), 30)
    const bytes = await beefOf(funding, payer)
    const times: number[] = []
    for (let r = 0; r < runs; r++) {
      const t = performance.now()
      await verifyBeef(bytes, { tracker: receiver.tracker, now: receiver.now }, funding.id('hex'))
      times.push(performance.now() - t)
    }
    times.sort((a, b) => a - b)
    out.push({ ancestors, bytes: bytes.length, verifyMs: times[Math.floor(times.length / 2)]! })
  }
  payer.close()
  receiver.close()
  return out
}
