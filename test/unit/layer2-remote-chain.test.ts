/**
 * `--chain test|main` backends against a LOCAL fake HTTP server answering in the shapes
 * @bsv/sdk speaks (ARC `POST /v1/tx`, Block Headers Service merkleroot/verify, WhatsOnChain
 * block header): success, and every failure as a clear LedgerRejectedError, view unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transaction } from '@bsv/sdk'
import { Identity } from '../../src/identity.ts'
import { DevLedger } from '../../src/layer2/chain/dev-ledger.ts'
import { LedgerRejectedError } from '../../src/layer2/chain/ledger.ts'
import { RemoteChain, fetchHttpClient } from '../../src/layer2/chain/remote-chain.ts'
import { Wallet } from '../../src/layer2/wallet/wallet.ts'
import { Store } from '../../src/store/store.ts'
import { BeefError, beefOf, verifyBeef } from '../../src/layer2/chain/beef.ts'
import { p2pkhLock } from '../../src/layer2/chain/tx.ts'

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void
let handler: Handler
let server: Server
let base: string
const seen: string[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => { seen.push(`${req.method} ${req.url}`); handler(req, body, res) })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => { server.closeAllConnections(); await new Promise(resolve => server.close(resolve)) })

const json = (res: ServerResponse, status: number, v: unknown): void => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(v)) }
const dir = (): string => mkdtempSync(join(tmpdir(), 'tmsg-8a-remote-'))

/** A coin for `who` on a remote chain view: minted on a dev ledger, learned from its BEEF with the headers service saying CONFIRMED. */
async function funded (opts: { timeoutMs?: number, arcUrl?: string } = {}): Promise<{ chain: RemoteChain, wallet: Wallet }> {
  const d = dir()
  const chain = new RemoteChain({ kind: 'test', path: join(d, 'chain.db'), arcUrl: opts.arcUrl ?? base, headersUrl: base, timeoutMs: opts.timeoutMs ?? 2000 })
  const who = Identity.generate()
  const wallet = new Wallet(who, chain, new Store(join(d, 'tmsg.db')).db)
  const mint = new DevLedger(join(d, 'mint.db'))
  const minter = new Wallet(Identity.generate(), mint, new Store(join(d, 'm.db')).db)
  await minter.faucet(50_000)
  const pay = await minter.fund(p2pkhLock(who.account), 30_000)
  await mint.broadcast(pay)
  handler = answering('SEEN_ON_NETWORK')
  await chain.learn(await verifyBeef(await beefOf(pay, mint), { tracker: chain.tracker, now: chain.now }))
  return { chain, wallet }
}

/** Headers: every root confirmed; ARC: every transaction answered with `txStatus`. */
function answering (txStatus: string): Handler {
  return (req, body, res) => {
    if (req.url === '/v1/tx') json(res, 200, { txid: Transaction.fromHex((JSON.parse(body) as { rawTx: string }).rawTx).id('hex'), txStatus, extraInfo: '' })
    else json(res, 200, { confirmationState: 'CONFIRMED', confirmations: [] })
  }
}

async function reason (p: Promise<unknown>): Promise<string> {
  try { await p } catch (err: unknown) { if (err instanceof LedgerRejectedError || err instanceof BeefError) return `${err.name}:${err.reason}:${err.message}`; throw err }
  throw new Error('expected a rejection')
}

describe('remote chain (test/main) against a fake server', () => {
  it('learns a coin whose root the headers service confirms, and broadcasts its spend through ARC', async () => {
    const { chain, wallet } = await funded()
    expect(seen).toContain('POST /api/v1/chain/merkleroot/verify')
    expect((await wallet.balance()).balance).toBe(30_000)
    const tx = await wallet.fund(p2pkhLock(Identity.generate().account), 10_000)
    handler = (_req, body, res) => {
      const raw = (JSON.parse(body) as { rawTx: string }).rawTx
      json(res, 200, { txid: Transaction.fromHex(raw).id('hex'), txStatus: 'SEEN_ON_NETWORK', extraInfo: '' })
    }
    expect(await chain.broadcast(tx)).toBe(tx.id('hex'))
    expect(seen).toContain('POST /v1/tx')
    expect((await chain.output(tx.id('hex'), 0))?.satoshis).toBe(10_000)
  })

  it('a root the headers service does not confirm is a merkle-root rejection; its 5xx is a network error', async () => {
    const { chain } = await funded()
    const d = dir()
    const mint = new DevLedger(join(d, 'mint.db'))
    const w = new Wallet(Identity.generate(), mint, new Store(join(d, 'm.db')).db)
    await w.faucet(10_000)
    const tx = await w.fund(p2pkhLock(Identity.generate().account), 1_000)
    const bytes = await beefOf(tx, mint)
    handler = (_req, _body, res) => { json(res, 200, { confirmationState: 'UNCONFIRMED', confirmations: [] }) }
    expect(await reason(verifyBeef(bytes, { tracker: chain.tracker, now: chain.now }))).toMatch(/^BeefError:merkle-root/)
    handler = (_req, _body, res) => { json(res, 503, { error: 'down' }) }
    expect(await reason(verifyBeef(bytes, { tracker: chain.tracker, now: chain.now }))).toMatch(/^LedgerRejectedError:network:the headers service/)
  })

  it('ARC refusing, failing, answering garbage, timing out or not there: a clear error and the view unchanged', async () => {
    const { chain, wallet } = await funded({ timeoutMs: 500 })
    const tx = await wallet.fund(p2pkhLock(Identity.generate().account), 10_000)
    const coin = tx.inputs[0]!
    const unchanged = async (): Promise<void> => { expect((await chain.output(coin.sourceTXID!, coin.sourceOutputIndex))?.spentBy).toBeUndefined() }

    handler = (_req, body, res) => { json(res, 200, { txid: Transaction.fromHex((JSON.parse(body) as { rawTx: string }).rawTx).id('hex'), txStatus: 'DOUBLE_SPEND_ATTEMPTED', extraInfo: '' }) }
    expect(await reason(chain.broadcast(tx))).toMatch(/^LedgerRejectedError:double-spend/)
    await unchanged()
    handler = (_req, _body, res) => { json(res, 500, { detail: 'internal' }) }
    expect(await reason(chain.broadcast(tx))).toMatch(/^LedgerRejectedError:network/)
    await unchanged()
    // A 4xx is ARC saying no (not "maybe"): a refusal a payer may give its coins back on.
    handler = (_req, _body, res) => { json(res, 465, { detail: 'Fee too low' }) }
    expect(await reason(chain.broadcast(tx))).toMatch(/^LedgerRejectedError:malformed:ARC refused the transaction: 465 Fee too low/)
    handler = (_req, _body, res) => { json(res, 466, { detail: 'Conflicting tx found' }) }
    expect(await reason(chain.broadcast(tx))).toMatch(/^LedgerRejectedError:double-spend/)
    await unchanged()
    handler = (_req, _body, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('<html>oops') }
    expect(await reason(chain.broadcast(tx))).toMatch(/^LedgerRejectedError:network/)
    await unchanged()
    handler = (_req, _body, res) => { json(res, 200, { txid: 'ab'.repeat(32), txStatus: 'SEEN_ON_NETWORK' }) }
    expect(await reason(chain.broadcast(tx))).toMatch(/^LedgerRejectedError:network:ARC answered for/)
    await unchanged()
    handler = () => { /* never answers */ }
    expect(await reason(chain.broadcast(tx))).toMatch(/^LedgerRejectedError:network/)
    await unchanged()
    server.closeAllConnections()
    const nowhere = new RemoteChain({ kind: 'main', path: join(dir(), 'c.db'), arcUrl: 'http://127.0.0.1:1', headersUrl: 'http://127.0.0.1:1', timeoutMs: 500 })
    expect(await reason(nowhere.tracker.currentHeight())).toMatch(/^LedgerRejectedError:network/)
  })

  it('a peer\'s unmined payment counts only once ARC has it: refused or unreachable, it is not learned', async () => {
    const { chain, wallet } = await funded()
    const d = dir()
    const mint = new DevLedger(join(d, 'mint.db'))
    const payer = new Wallet(Identity.generate(), mint, new Store(join(d, 'm.db')).db)
    await payer.faucet(10_000)
    const pay = await payer.fund(p2pkhLock(wallet.identity.account), 4_000)
    await mint.broadcast(pay)
    const verified = await verifyBeef(await beefOf(pay, mint), { tracker: chain.tracker, now: chain.now })
    // The payer spent the same coin elsewhere: ARC says so, and the coin never shows.
    handler = answering('DOUBLE_SPEND_ATTEMPTED')
    expect(await reason(chain.learn(verified))).toMatch(/^LedgerRejectedError:double-spend/)
    expect(await chain.output(pay.id('hex'), 0)).toBeUndefined()
    handler = (req, body, res) => { if (req.url === '/v1/tx') json(res, 503, { detail: 'down' }); else answering('SEEN_ON_NETWORK')(req, body, res) }
    expect(await reason(chain.learn(verified))).toMatch(/^LedgerRejectedError:network/)
    expect((await wallet.balance()).balance).toBe(30_000)
    seen.length = 0
    handler = answering('SEEN_ON_NETWORK')
    await chain.learn(verified)
    expect(seen).toContain('POST /v1/tx')
    expect((await wallet.balance()).balance).toBe(34_000)
  })

  it('WhatsOnChain as @bsv/sdk asks it (block header by height), served locally', async () => {
    const http = fetchHttpClient(2000)
    const local = { request: async (url: string, o: Parameters<typeof http.request>[1]) => await http.request(url.replace('https://api.whatsonchain.com', base), o) }
    const chain = new RemoteChain({ kind: 'main', path: join(dir(), 'c.db'), arcUrl: base, httpClient: local })
    handler = (req, _body, res) => {
      if (req.url === '/v1/bsv/main/block/800000/header') json(res, 200, { merkleroot: 'cd'.repeat(32) })
      else if (req.url === '/v1/bsv/main/block/headers') json(res, 200, [{ height: 900000 }])
      else json(res, 404, {})
    }
    expect(await chain.tracker.isValidRootForHeight('cd'.repeat(32), 800000)).toBe(true)
    expect(await chain.tracker.isValidRootForHeight('ef'.repeat(32), 800000)).toBe(false)
    expect(await chain.tracker.isValidRootForHeight('cd'.repeat(32), 1)).toBe(false)
    expect(await chain.tracker.currentHeight()).toBe(900000)
  })
})
