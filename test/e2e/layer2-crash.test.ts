/**
 * kill -9 at every point between persisting a channel state change and sending the message
 * that depends on it (TMSG_CRASH_AT), then a restart on the same datadir: no signed state is
 * lost, the client can still refund, the provider can still settle what it acknowledged, and
 * no sequence number is ever signed for two amounts. Client and provider each keep their own
 * datadir and their own dev ledger (DESIGN §8a): what one must trust of the other's
 * transactions it gets as BEEF, also across the restarts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode } from '../helpers/rpc-node.ts'
import { freePort, tempDatadir } from '../helpers/proc.ts'
import { waitFor } from '../helpers/wait.ts'

interface Pair {
  provider: RpcNode
  client: RpcNode
  providerArgs: string[]
  clientArgs: string[]
}

const running: RpcNode[] = []
afterEach(async () => { await Promise.all(running.splice(0).map(async n => await n.stop('SIGKILL'))) })

async function start (args: string[], datadir: string, port: number, env: NodeJS.ProcessEnv = {}): Promise<RpcNode> {
  const n = await startRpcNode(args, datadir, port, env)
  running.push(n)
  return n
}

/** A provider offering "svc" and a funded client that has its terms. Either may carry a crash point. */
async function pair (crash: { provider?: string, client?: string } = {}, windowSeconds = 3600): Promise<Pair> {
  // No --ledger: each node's chain is <its datadir>/ledger.db.
  const providerArgs = ['--port', String(await freePort())]
  const clientArgs: string[] = []
  const provider = await start(providerArgs, tempDatadir(), await freePort(), crash.provider === undefined ? {} : { TMSG_CRASH_AT: crash.provider })
  const client = await start(clientArgs, tempDatadir(), await freePort(), crash.client === undefined ? {} : { TMSG_CRASH_AT: crash.client })
  await provider.call('channel_offer', { service: 'svc', pricePerUnit: 10, unit: 'op', minDeposit: 1000, windowSeconds })
  await client.call('peers_connect', { address: provider.ready.p2p })
  await client.call('wallet_faucet', { amount: 100_000 })
  await waitFor(async () => (await client.call<any[]>('channel_terms', { service: 'svc', timeoutMs: 300 })).length === 1, 'terms')
  return { provider, client, providerArgs, clientArgs }
}

/** Stops a node cleanly and starts it again on its datadir, armed to kill itself at `point`. */
async function rearm (n: RpcNode, args: string[], point: string): Promise<RpcNode> {
  await n.stop()
  running.splice(running.indexOf(n), 1)
  return await start(args, n.datadir, n.port, { TMSG_CRASH_AT: point })
}

/** Kills nothing: waits for the process that crashed itself, then starts it again on its datadir. */
async function restart (n: RpcNode, args: string[]): Promise<RpcNode> {
  await n.proc.exited
  running.splice(running.indexOf(n), 1)
  return await start(args, n.datadir, n.port)
}

async function expectCrash (call: Promise<unknown>, n: RpcNode): Promise<void> {
  await expect(call).rejects.toBeDefined()
  expect(await n.proc.exited).toBe(null) // died by signal
  expect(n.proc.proc.signalCode).toBe('SIGKILL')
}

/** Every (sequence, amount) the client ever signed, from its database. */
function signedPayments (client: RpcNode): Array<{ sequence: number, paid: number }> {
  const db = new DatabaseSync(join(client.datadir, 'tmsg.db'), { readOnly: true })
  try {
    return db.prepare('SELECT sequence, paid FROM payments ORDER BY sequence').all() as Array<{ sequence: number, paid: number }>
  } finally {
    db.close()
  }
}

async function open (p: Pair, deposit = 20_000): Promise<string> {
  return (await p.client.call<{ channelId: string }>('channel_open', { provider: p.provider.ready.peerId, service: 'svc', deposit })).channelId
}

async function channelOf (n: RpcNode): Promise<any> {
  return (await n.call<any[]>('channel_list'))[0]
}

describe('crash safety of payment channels', () => {
  it('client killed before asking for the refund signature: the open is abandoned, the coins come back', async () => {
    const p = await pair({ client: 'client:opening-persisted' })
    await expectCrash(open(p), p.client)
    const client = await restart(p.client, p.clientArgs)
    await waitFor(async () => (await channelOf(client))?.state === 'failed', 'the open to be abandoned')
    expect(await client.call('wallet_balance')).toMatchObject({ balance: 100_000, reserved: 0 })
  })

  it('client killed with the refund secured but the funding not broadcast: it funds and opens after restart', async () => {
    const p = await pair({ client: 'client:refund-persisted' })
    await expectCrash(open(p), p.client)
    const client = await restart(p.client, p.clientArgs)
    await waitFor(async () => (await channelOf(client))?.state === 'open', 'the channel to open', 20_000)
    const id = (await channelOf(client)).channelId
    expect(await client.call('channel_pay', { channelId: id, amount: 500 })).toMatchObject({ sequence: 1, paid: 500 })
  })

  it('client killed after broadcasting the funding: it tells the provider after restart', async () => {
    const p = await pair({ client: 'client:funding-broadcast' })
    await expectCrash(open(p), p.client)
    const client = await restart(p.client, p.clientArgs)
    await waitFor(async () => (await channelOf(client))?.state === 'open', 'the channel to open', 20_000)
    expect((await channelOf(p.provider)).state).toBe('open')
  })

  it('client killed after signing a payment: the same payment is sent after restart, never re-signed for another amount', async () => {
    const p = await pair()
    const id = await open(p)
    await p.client.call('channel_pay', { channelId: id, amount: 1000 })
    const armed = await rearm(p.client, p.clientArgs, 'client:payment-persisted')
    await expectCrash(armed.call('channel_pay', { channelId: id, amount: 2500 }), armed)
    expect(signedPayments(armed)).toEqual([{ sequence: 1, paid: 1000 }, { sequence: 2, paid: 3500 }])
    const client = await restart(armed, p.clientArgs)
    await waitFor(async () => (await channelOf(p.provider)).paid === 3500, 'the signed payment to reach the provider', 20_000)
    expect(await client.call('channel_pay', { channelId: id, amount: 100 })).toMatchObject({ sequence: 3, paid: 3600 })
    expect(signedPayments(client)).toEqual([{ sequence: 1, paid: 1000 }, { sequence: 2, paid: 3500 }, { sequence: 3, paid: 3600 }])
    expect(await channelOf(p.provider)).toMatchObject({ sequence: 3, paid: 3600 })
  })

  it('client killed during a top-up with its refund secured: the top-up completes after restart', async () => {
    const p = await pair()
    const id = await open(p)
    const armed = await rearm(p.client, p.clientArgs, 'client:topup-refund-persisted')
    await expectCrash(armed.call('channel_topup', { channelId: id, amount: 5000 }), armed)
    const client = await restart(armed, p.clientArgs)
    await waitFor(async () => (await channelOf(client)).deposit === 25_000, 'the top-up to complete', 20_000)
    expect((await channelOf(p.provider)).deposit).toBe(25_000)
  })

  it('provider killed after signing a refund, before sending it: the client gives up cleanly, a new open works', async () => {
    const p = await pair({ provider: 'provider:refund-signed' })
    await expect(open(p)).rejects.toMatchObject({ data: { name: 'ChannelError' } })
    expect((await channelOf(p.client)).state).toBe('failed')
    expect(await p.client.call('wallet_balance')).toMatchObject({ balance: 100_000, reserved: 0 })
    await restart(p.provider, p.providerArgs)
    await waitFor(async () => (await p.client.call<any[]>('peers_list')).some(x => x.peerId === p.provider.ready.peerId && x.neighbour), 'reconnection', 30_000)
    await waitFor(async () => await open(p).then(() => true, () => false), 'a new open to succeed', 30_000, 500)
  })

  it('provider killed after opening the channel, before confirming it: the client asks again after the restart', async () => {
    const p = await pair({ provider: 'provider:open-persisted' })
    await expect(open(p)).rejects.toBeDefined()
    expect(await p.provider.proc.exited).toBe(null)
    expect((await channelOf(p.client)).state).toBe('funding') // refund secured, funding on the ledger
    const provider = await restart(p.provider, p.providerArgs)
    await waitFor(async () => (await channelOf(p.client)).state === 'open', 'the client to hear the channel is open', 30_000)
    expect((await channelOf(provider)).state).toBe('open')
  })

  it('provider killed after accepting a payment, before acknowledging it: the client resends, the provider settles it', async () => {
    const p = await pair()
    const id = await open(p)
    await p.client.call('channel_pay', { channelId: id, amount: 1000 })
    const armed = await rearm(p.provider, p.providerArgs, 'provider:payment-persisted')
    await waitFor(async () => (await p.client.call<any[]>('peers_list')).some(x => x.peerId === armed.ready.peerId && x.neighbour), 'reconnection', 30_000)
    await expect(p.client.call('channel_pay', { channelId: id, amount: 4000 })).rejects.toBeDefined()
    expect(await armed.proc.exited).toBe(null)
    const provider = await restart(armed, p.providerArgs)
    expect(await channelOf(provider)).toMatchObject({ sequence: 2, paid: 5000 }) // persisted before the crash
    await waitFor(async () => (await channelOf(p.client)).paid === 5000, 'the client to resend and get its ack', 30_000)
    const closed = await p.client.call<{ txid: string, paid: number }>('channel_close', { channelId: id })
    expect(closed.paid).toBe(5000)
    expect((await provider.call('wallet_balance')).balance).toBe(5000)
  })

  it('provider killed after broadcasting its settlement, before handing it over: at expiry the client asks for it instead of refunding', async () => {
    // Long enough that the provider does not settle on its own (a quarter of the window before expiry) while being re-armed.
    const p = await pair({}, 24)
    const id = await open(p, 10_000)
    await p.client.call('channel_pay', { channelId: id, amount: 300 })
    const armed = await rearm(p.provider, p.providerArgs, 'provider:settlement-broadcast')
    await expectCrash(armed.call('channel_close', { channelId: id }), armed)
    const provider = await restart(armed, p.providerArgs)
    expect(await channelOf(provider)).toMatchObject({ state: 'closed', paid: 300 })
    expect((await provider.call('wallet_balance')).balance).toBe(300)
    // The client's own ledger never saw the settlement; past expiry it would refund what was settled.
    await waitFor(async () => ['closed', 'refunded'].includes((await channelOf(p.client)).state), 'the client to settle its view', 60_000, 250)
    expect(await channelOf(p.client)).toMatchObject({ state: 'closed', closeTxid: (await channelOf(provider)).closeTxid })
    const balance = (await p.client.call('wallet_balance')).balance
    expect(balance).toBeLessThan(100_000 - 300)
    expect(balance).toBeGreaterThan(100_000 - 300 - 1_000)
  })

  it('client killed, provider gone for good: after expiry the restarted client refunds itself', async () => {
    const p = await pair({}, 6)
    const id = await open(p, 10_000)
    await p.client.call('channel_pay', { channelId: id, amount: 300 })
    await p.provider.stop('SIGKILL')
    await p.client.stop('SIGKILL')
    running.splice(0)
    const client = await start(p.clientArgs, p.client.datadir, p.client.port)
    await waitFor(async () => (await channelOf(client)).state === 'refunded', 'the refund after expiry', 30_000, 250)
    const balance = (await client.call('wallet_balance')).balance
    expect(balance).toBeGreaterThan(100_000 - 300) // the deposit is back, less two small fees, and nothing was settled
    expect(balance).toBeLessThan(100_000)
  })
})
