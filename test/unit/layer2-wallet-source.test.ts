/**
 * A test/main node's coins from the user's BRC-100 wallet (`--wallet-url`, DESIGN §8a),
 * through @bsv/sdk's WalletClient against a LOCAL fake wallet answering `createAction` in the
 * HTTP JSON shape: the payment's BEEF is checked against the node's tracker (a fake Block
 * Headers Service) and learned; every failure is a clear error and the wallet unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LockingScript } from '@bsv/sdk'
import { Identity } from '../../src/identity.ts'
import { DevLedger } from '../../src/layer2/chain/dev-ledger.ts'
import { LedgerRejectedError } from '../../src/layer2/chain/ledger.ts'
import { RemoteChain } from '../../src/layer2/chain/remote-chain.ts'
import { Wallet } from '../../src/layer2/wallet/wallet.ts'
import { Store } from '../../src/store/store.ts'
import { beefOf } from '../../src/layer2/chain/beef.ts'
import { ChannelError } from '../../src/layer2/errors.ts'

type Reply = (res: ServerResponse, req: { url: string, body: any, headers: IncomingMessage['headers'] }) => void | Promise<void>
let wallet: Reply
let headers: Reply
let server: Server
let base: string
const calls: Array<{ url: string, body: any, origin?: string }> = []

const json = (res: ServerResponse, status: number, v: unknown): void => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(v)) }

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = ''
    req.on('data', (c: Buffer) => { text += c.toString() })
    req.on('end', () => {
      const r = { url: req.url ?? '', body: text === '' ? undefined : JSON.parse(text), headers: req.headers }
      calls.push({ url: r.url, body: r.body, ...(typeof req.headers.origin === 'string' ? { origin: req.headers.origin } : {}) })
      void (r.url.startsWith('/api/v1/chain') ? headers : wallet)(res, r)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => { server.closeAllConnections(); await new Promise(resolve => server.close(resolve)) })

/** The user's wallet: coins on a chain of its own, paying whatever createAction asks. */
function userWallet (): { pay: (script: string, satoshis: number, short?: number) => Promise<{ txid: string, tx: number[] }> } {
  const d = mkdtempSync(join(tmpdir(), 'tmsg-8a-wallet-'))
  const mint = new DevLedger(join(d, 'mint.db'))
  const w = new Wallet(Identity.generate(), mint, new Store(join(d, 'w.db')).db)
  return {
    pay: async (script, satoshis, short = 0) => {
      if ((await w.balance()).balance < satoshis + 1000) await w.faucet(1_000_000)
      const tx = await w.fund(LockingScript.fromHex(script), satoshis - short)
      await mint.broadcast(tx)
      return { txid: tx.id('hex'), tx: Array.from(await beefOf(tx, mint)) }
    }
  }
}

function node (walletUrl?: string, timeoutMs = 2000): { chain: RemoteChain, wallet: Wallet } {
  const d = mkdtempSync(join(tmpdir(), 'tmsg-8a-node-'))
  const chain = new RemoteChain({ kind: 'test', path: join(d, 'chain.db'), arcUrl: base, headersUrl: base, timeoutMs, ...(walletUrl !== undefined ? { walletUrl } : {}) })
  return { chain, wallet: new Wallet(Identity.generate(), chain, new Store(join(d, 'tmsg.db')).db) }
}

async function failure (p: Promise<unknown>): Promise<string> {
  try { await p } catch (err: unknown) { if (err instanceof LedgerRejectedError) return `${err.reason}: ${err.message}`; throw err }
  throw new Error('expected a LedgerRejectedError')
}

describe('coins from a BRC-100 wallet (--wallet-url) on test/main', () => {
  const user = userWallet()
  const confirmed: Reply = res => { json(res, 200, { confirmationState: 'CONFIRMED', confirmations: [] }) }

  it('the wallet pays the node: createAction as WalletClient sends it, the BEEF checked by the headers service, the coin learned', async () => {
    headers = confirmed
    wallet = async (res, r) => {
      const out = r.body.outputs[0]
      json(res, 200, await user.pay(out.lockingScript, out.satoshis))
    }
    const { wallet: mine } = node(base)
    const txid = await mine.faucet(25_000)
    expect(txid).toMatch(/^[0-9a-f]{64}$/)
    expect(await mine.balance()).toMatchObject({ balance: 25_000, utxos: 1 })
    const call = calls.find(c => c.url === '/createAction')!
    expect(call.body).toMatchObject({ outputs: [{ lockingScript: mine.script.toHex(), satoshis: 25_000 }], options: { acceptDelayedBroadcast: false } })
    expect(call.origin).toBe('http://tmsg.local')
    expect(calls.some(c => c.url === '/api/v1/chain/merkleroot/verify')).toBe(true)
  })

  it('a refusal, a 5xx, garbage, a short payment, an unconfirmed root, silence or no wallet at all: a clear error, no coin', async () => {
    const { wallet: mine } = node(base, 500)
    headers = confirmed
    wallet = res => { json(res, 400, { isError: true, code: 7, totalSatoshisNeeded: 10_000, moreSatoshisNeeded: 9_000, message: 'Insufficient funds' }) }
    expect(await failure(mine.faucet(10_000))).toMatch(/^network: the wallet at http:\/\/127\.0\.0\.1:\d+ could not pay 10000 satoshis/)
    wallet = res => { json(res, 500, { message: 'wallet storage is down' }) }
    expect(await failure(mine.faucet(10_000))).toMatch(/^network: .*wallet storage is down/)
    wallet = res => { json(res, 200, { txid: 'not a txid' }) }
    expect(await failure(mine.faucet(10_000))).toMatch(/^network: .*malformed answer to createAction/)
    wallet = async (res, r) => { json(res, 200, await user.pay(r.body.outputs[0].lockingScript, 10_000, 1)) }
    expect(await failure(mine.faucet(10_000))).toMatch(/^value: .*paid 9999 of the 10000/)
    headers = res => { json(res, 200, { confirmationState: 'INVALID', confirmations: [] }) }
    wallet = async (res, r) => { json(res, 200, await user.pay(r.body.outputs[0].lockingScript, 10_000)) }
    expect(await failure(mine.faucet(10_000))).toMatch(/^malformed: .*does not check out/)
    headers = confirmed
    wallet = () => { /* never answers */ }
    expect(await failure(mine.faucet(10_000))).toMatch(/^network: .*could not pay/)
    expect(await mine.balance()).toMatchObject({ balance: 0, utxos: 0 })
    // A port nobody listens on.
    const { wallet: lost } = node('http://127.0.0.1:9', 500)
    expect(await failure(lost.faucet(10_000))).toMatch(/^network: the wallet at http:\/\/127\.0\.0\.1:9 could not pay/)
    // No --wallet-url: nothing to draw coins from, said so.
    const { wallet: none } = node()
    await expect(none.faucet(10_000)).rejects.toSatisfy((e: unknown) => e instanceof ChannelError && /--wallet-url/.test(e.message))
  })
})
