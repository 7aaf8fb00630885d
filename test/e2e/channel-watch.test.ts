/**
 * Watching the money move (DESIGN §8a): two `tmsg node` processes run a channel over a real
 * stream while both follow `channel_subscribe` on a WebSocket and `tmsg watch --channels`
 * prints the client's events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { connectNodes, openWs, startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode, WsClient } from '../helpers/rpc-node.ts'
import { spawnTmsg, stopProcess, tempDatadir } from '../helpers/proc.ts'
import type { NodeProcess } from '../helpers/proc.ts'
import { answered, waitFor } from '../helpers/wait.ts'

describe('channel_subscribe and tmsg watch --channels', () => {
  let client: RpcNode
  let provider: RpcNode
  let clientWs: WsClient
  let providerWs: WsClient
  let watch: NodeProcess

  beforeAll(async () => {
    const ledger = join(tempDatadir(), 'ledger.db')
    ;[client, provider] = await Promise.all([startRpcNode(['--ledger', ledger]), startRpcNode(['--ledger', ledger])])
    await connectNodes(client, provider)
    ;[clientWs, providerWs] = await Promise.all([openWs(client), openWs(provider)])
  }, 60_000)
  afterAll(async () => {
    clientWs?.close()
    providerWs?.close()
    if (watch !== undefined) await stopProcess(watch)
    await Promise.all([client?.stop(), provider?.stop()])
  })

  it('is WebSocket only', async () => {
    await expect(client.call('channel_subscribe')).rejects.toMatchObject({ code: -32600 })
  })

  it('shows every step of a channel on both sides, with amounts and txids, as it happens', async () => {
    const [c, p] = await Promise.all([clientWs.request('channel_subscribe'), providerWs.request('channel_subscribe')])
    expect(c.result).toMatch(/\S/)
    watch = spawnTmsg(['watch', '--channels', '--datadir', client.datadir])
    await waitFor(() => watch.stderr().includes('watching every channel'), 'tmsg watch --channels to subscribe', 30_000)

    await provider.call('channel_offer', { service: 'compute', pricePerUnit: 10, unit: 'op', minDeposit: 1000 })
    await client.call('wallet_faucet', { amount: 100_000 })
    await answered(async () => await client.call<any[]>('channel_terms', { service: 'compute', timeoutMs: 2000 }), t => t.some(x => x.provider === provider.ready.peerId), 'the provider\'s terms')
    const { channelId } = await client.call('channel_open', { provider: provider.ready.peerId, service: 'compute', deposit: 20_000 })
    for (let i = 0; i < 3; i++) await client.call('channel_pay', { channelId, amount: 100 })
    await client.call('channel_topup', { channelId, amount: 5_000 })
    const closed = await client.call('channel_close', { channelId })

    const types = (list: any[]): string[] => list.map(n => n.result.type)
    const clientSeq = ['open', 'funding', 'payment', 'ack', 'payment', 'ack', 'payment', 'ack', 'topup', 'payment', 'ack', 'close', 'settlement']
    await waitFor(() => clientWs.channelEvents.length >= clientSeq.length, 'client channel events', 30_000).catch(() => { expect(types(clientWs.channelEvents)).toEqual(clientSeq) })
    expect(types(clientWs.channelEvents)).toEqual(clientSeq)
    expect(clientWs.channelEvents.every(n => n.subscription === c.result && n.result.channelId === channelId && n.result.role === 'client')).toBe(true)
    const ev = clientWs.channelEvents.map(n => n.result)
    expect(ev[1]).toMatchObject({ type: 'funding', txid: channelId, amount: 20_000, deposit: 20_000 })
    expect(ev[6]).toMatchObject({ type: 'payment', amount: 100, paid: 300, sequence: 3 })
    expect(ev[8]).toMatchObject({ type: 'topup', amount: 5_000, deposit: 25_000, txid: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect(ev[9]).toMatchObject({ type: 'payment', amount: 0, paid: 300 }) // the same total signed over both fundings before closing
    expect(ev[12]).toMatchObject({ type: 'settlement', txid: closed.txid, confirmed: true })

    const providerSeq = ['offer', 'open', 'funding', 'payment', 'payment', 'payment', 'topup', 'payment', 'close', 'settlement']
    await waitFor(() => providerWs.channelEvents.length >= providerSeq.length, 'provider channel events', 30_000)
    expect(types(providerWs.channelEvents)).toEqual(providerSeq)
    expect(providerWs.channelEvents.every(n => n.subscription === p.result)).toBe(true)
    expect(providerWs.channelEvents.at(-1).result).toMatchObject({ channelId, role: 'provider', txid: closed.txid, amount: 300 })

    await waitFor(() => watch.stdout().includes(closed.txid), 'tmsg watch to print the settlement', 30_000)
    const lines = watch.stdout().trim().split('\n')
    expect(lines).toHaveLength(clientSeq.length)
    expect(lines[4]).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d payment +${channelId.slice(0, 10)} client +compute \\+100 sat paid 200 of 20,000 sat #2$`))
    expect(lines.at(-1)).toContain(`settlement ${channelId.slice(0, 10)}`)
  }, 120_000)
})
