/**
 * The whole layer-2 life between nodes that share nothing (DESIGN §8a), driven over RPC:
 * a gift and a proven balance query through a relay, a channel with 100 payments, a top-up
 * and a close by the client, one closed by the provider, and a refund after expiry once the
 * provider has vanished. Registered as `it` blocks by the e2e tests that set the nodes up
 * (on loopback, and in two network namespaces joined by a veth pair).
 */
import { expect, it } from 'vitest'
import type { Ready } from './proc.ts'
import { answered, waitFor } from './wait.ts'

export interface LifeNode {
  ready: Ready
  call: <T = any>(method: string, params?: Record<string, unknown>) => Promise<T>
}

export interface Life {
  client: LifeNode
  relay: LifeNode
  provider: LifeNode
  /** kill -9 the provider. */
  killProvider: () => Promise<void>
  /** Runs `tmsg <args>` against the client, where the test can. */
  clientCli?: (args: string[]) => Promise<{ code: number | null, stdout: string, stderr: string }>
}

const balanceOf = async (n: LifeNode): Promise<number> => (await n.call<{ balance: number }>('wallet_balance')).balance
const neighbours = async (n: LifeNode): Promise<string[]> => (await n.call<Array<{ peerId: string }>>('peers_list')).map(p => p.peerId)

/** Registers the life's steps; `life()` gives the running nodes (client — relay — provider, linked). */
export function channelLife (life: () => Life, timeout = 120_000): void {
  let clientStart = 0

  it('a gift and a proven balance answer travel through the relay between ledgers that share nothing', async () => {
    const { client, relay, provider } = life()
    expect(await neighbours(client)).not.toContain(provider.ready.peerId) // the relay is the only way
    expect(await neighbours(relay)).toContain(provider.ready.peerId)
    await client.call('wallet_faucet', { amount: 200_000 })
    await provider.call('wallet_faucet', { amount: 5_000 })
    await provider.call('wallet_faucet', { amount: 12_000 })
    const gift = await client.call('wallet_send', { to: `acct:${provider.ready.account}`, amount: 1_000, memo: 'thanks' })
    expect(gift).toMatchObject({ amount: 1_000, to: provider.ready.account })
    await waitFor(async () => await balanceOf(provider) === 18_000, 'the provider to take the gift from its BEEF', 30_000, 100)
    const answers = await answered(async () => await client.call<any[]>('balance_query', { account: provider.ready.account, proof: true, timeoutMs: 3000 }), a => a.length > 0, 'the provider\'s answer')
    expect(answers).toEqual([expect.objectContaining({ responder: provider.ready.peerId, balance: 18_000, status: 'ok', verified: true, proven: true })])
    const cli = life().clientCli
    if (cli !== undefined) {
      const r = await cli(['balance', provider.ready.account])
      expect([r.code, r.stderr]).toEqual([0, ''])
      expect(r.stdout).toBe(`${provider.ready.account}: 18,000 sat (the owner, verified, proven)\n`)
    }
    clientStart = await balanceOf(client)
    expect(clientStart).toBeGreaterThan(200_000 - 1_000 - 1_000)
  }, timeout)

  it('terms → open → 100 payments → top-up → close by the client: each wallet shows the right coins', async () => {
    const { client, provider } = life()
    await provider.call('channel_offer', { service: 'compute', pricePerUnit: 10, unit: 'op', minDeposit: 5_000, windowSeconds: 3600 })
    await waitFor(async () => (await client.call<any[]>('channel_terms', { service: 'compute', timeoutMs: 1000 })).some(t => t.provider === provider.ready.peerId), 'the provider\'s terms', 30_000, 100)
    const opened = await client.call('channel_open', { provider: provider.ready.peerId, service: 'compute', deposit: 20_000 })
    expect(opened).toMatchObject({ state: 'open', deposit: 20_000 })
    for (let i = 1; i <= 100; i++) {
      expect(await client.call('channel_pay', { channelId: opened.channelId, amount: 150 })).toMatchObject({ sequence: i, paid: 150 * i })
      if (i === 60) expect(await client.call('channel_topup', { channelId: opened.channelId, amount: 10_000 })).toEqual({ deposit: 30_000 })
    }
    const closed = await client.call('channel_close', { channelId: opened.channelId })
    expect(closed).toMatchObject({ paid: 15_000 })
    expect(await balanceOf(provider)).toBe(18_000 + 15_000)
    expect(await provider.call('channel_status', { channelId: opened.channelId })).toMatchObject({ state: 'closed', paid: 15_000 })
    expect(await client.call('channel_status', { channelId: opened.channelId })).toMatchObject({ state: 'closed', closeTxid: closed.txid })
    const mine = await balanceOf(client)
    // Everything the client had, less the 15,000 paid and the fees of its transactions.
    expect(mine).toBeLessThan(clientStart - 15_000)
    expect(mine).toBeGreaterThan(clientStart - 15_000 - 1_500)
    clientStart = mine
  }, timeout)

  it('closed by the provider: the client learns the settlement and gets its change', async () => {
    const { client, provider } = life()
    const opened = await client.call('channel_open', { provider: provider.ready.peerId, service: 'compute', deposit: 6_000 })
    for (let i = 0; i < 10; i++) await client.call('channel_pay', { channelId: opened.channelId, amount: 100 })
    const closed = await provider.call('channel_close', { channelId: opened.channelId })
    expect(closed).toMatchObject({ paid: 1_000 })
    expect(await balanceOf(provider)).toBe(33_000 + 1_000)
    await waitFor(async () => (await client.call('channel_status', { channelId: opened.channelId })).state === 'closed', 'the client to learn the settlement', 30_000, 100)
    const mine = await balanceOf(client)
    expect(mine).toBeLessThan(clientStart - 1_000)
    expect(mine).toBeGreaterThan(clientStart - 1_000 - 1_000)
  }, timeout)

  it('refund after expiry when the provider has vanished: the client\'s own ledger takes it', async () => {
    const { client, provider } = life()
    await provider.call('channel_offer', { service: 'short', pricePerUnit: 1, unit: 'op', minDeposit: 1_000, windowSeconds: 8 })
    await waitFor(async () => (await client.call<any[]>('channel_terms', { service: 'short', timeoutMs: 1000 })).length > 0, 'the short terms', 30_000, 100)
    const before = await balanceOf(client)
    const opened = await client.call('channel_open', { provider: provider.ready.peerId, service: 'short', deposit: 3_000 })
    await client.call('channel_pay', { channelId: opened.channelId, amount: 5 })
    await life().killProvider()
    await waitFor(async () => (await client.call('channel_status', { channelId: opened.channelId })).state === 'refunded', 'the refund after expiry', 60_000, 250)
    const after = await client.call('wallet_balance')
    // The deposit is back, less the funding's and the refund's fees.
    expect(after.balance).toBeLessThan(before)
    expect(after.balance).toBeGreaterThan(before - 1_000)
    expect(after.reserved).toBe(0)
  }, timeout)
}
