/**
 * Sealed direct messages between three `tmsg node` processes (DESIGN §9), chained
 * A (alice) — M — B (bob) so that M relays every message between them. M later claims the
 * nick `bob` too. A flood-protocol probe on A records what actually goes on the wire.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { FloodPeer } from '../helpers/flood-peer.ts'
import { connectNodes, openWs, startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode, WsClient } from '../helpers/rpc-node.ts'
import { waitFor } from '../helpers/wait.ts'
import { accountTarget } from '../../src/targets.ts'

const DIRECT = 7
const SECRET = 'secret dm: the key is under the mat'

describe('sealed direct messages across three processes', () => {
  const nodes: RpcNode[] = []
  const sockets: WsClient[] = []
  let probe: FloodPeer | undefined
  afterAll(async () => {
    for (const s of sockets) s.close()
    await probe?.stop()
    await Promise.all(nodes.map(async n => await n.stop('SIGKILL')))
  })

  it('only bob reads a DM to @bob; relays and a squatter see ciphertext; a second key on the nick is refused until chosen by account', async () => {
    const [a, m, b] = await Promise.all(['alice', 'mallory', 'bob'].map(async nick => await startRpcNode(['--nick', nick, '--no-mdns'])))
    nodes.push(a!, m!, b!)
    const [A, M, B] = [a!, m!, b!]
    await connectNodes(M, A)
    await connectNodes(M, B)
    probe = await FloodPeer.start()
    await probe.connect(A.ready.p2p)
    await waitFor(async () => (await A.call<any[]>('peers_list')).filter(p => p.neighbour).length === 2, 'A to have M and the probe as neighbours', 30_000)
    await waitFor(async () => (await B.call<any[]>('peers_list')).some(p => p.neighbour), 'B to have M as neighbour', 30_000)

    // Nobody has heard a signed "bob" yet: the error says so and points at acct:.
    const unknown = await A.call('chat_send', { to: '@bob', text: 'too early' }).catch((e: unknown) => e) as { code: number, message: string }
    expect(unknown.code).toBe(-32002)
    expect(unknown.message).toMatch(/no signed message from @bob has been heard.*acct:/)

    // acct: needs the key behind the address: a connected peer's id is its key; bob, two hops
    // away and silent so far, is unknown.
    const neighbourDm = await A.call<{ msgId: string }>('chat_send', { to: `acct:${M.ready.account}`, text: 'hello neighbour' })
    expect(neighbourDm.msgId).toMatch(/^[0-9a-f]{32}$/)
    const farAway = await A.call('chat_send', { to: `acct:${B.ready.account}`, text: 'too early' }).catch((e: unknown) => e) as { code: number, message: string }
    expect(farAway.code).toBe(-32002)
    expect(farAway.message).toContain('public key')

    const wsA = await openWs(A)
    const wsB = await openWs(B)
    const wsM = await openWs(M)
    sockets.push(wsA, wsB, wsM)
    for (const ws of [wsA, wsB, wsM]) expect((await ws.request('msg_subscribe', {})).result).toBeTypeOf('string')
    // M snoops on bob's account target as well as on everything it hears.
    await M.call('targets_subscribe', { target: `acct:${B.ready.account}` })
    for (const n of [A, M, B]) await n.call('chat_join', { room: '#dm-test' })

    // B speaks in the room (repeated until A has heard it: the flood is only as fast as its links).
    await waitFor(async () => {
      await B.call('chat_send', { to: '#dm-test', text: 'bob here' })
      return (await A.call<any[]>('chat_whois', { nick: 'bob' })).length === 1
    }, 'A to hear bob sign in #dm-test', 30_000, 500)
    expect((await A.call<any[]>('chat_whois', { nick: 'bob' }))[0].account).toBe(B.ready.account)

    const { msgId } = await A.call<{ msgId: string }>('chat_send', { to: '@bob', text: SECRET })
    await waitFor(() => wsB.notifications.some(n => n.result.msgId === msgId), 'B to receive the DM', 30_000)
    const got = wsB.notifications.find(n => n.result.msgId === msgId).result
    expect(got).toMatchObject({ kind: 'direct', text: SECRET, nick: 'alice', account: A.ready.account, peer: A.ready.account, verified: true, encrypted: true })
    // A's own subscribers see its sent DM too, with the same shape.
    expect(wsA.notifications.find(n => n.result.msgId === msgId)?.result).toMatchObject({ kind: 'direct', text: SECRET, account: A.ready.account, peer: B.ready.account, encrypted: true })

    // The wire: the probe got the DIRECT message to bob's account, and no plaintext anywhere.
    await waitFor(() => probe!.received.some(x => Buffer.from(x.msgId).toString('hex') === msgId), 'the probe to see the DM on the wire', 30_000)
    const wire = probe.received.find(x => Buffer.from(x.msgId).toString('hex') === msgId)!
    expect(wire.kind).toBe(DIRECT)
    expect(Buffer.from(wire.target).toString('hex')).toBe(accountTarget(B.ready.account).hex)
    for (const x of probe.received) expect(Buffer.from(x.payload).includes(Buffer.from('key is under'))).toBe(false)

    // M relayed it and even listened to bob's account: it could not open it, and showed nothing.
    await waitFor(async () => (await M.call<any>('node_stats')).sealedDropped >= 1, 'M to count the DM it cannot open', 30_000)
    expect(JSON.stringify(wsM.notifications)).not.toContain('key is under')
    expect(await M.call<any[]>('msg_history', { target: `acct:${B.ready.account}` })).toEqual([])

    // M now claims the nick bob and speaks: A learns of a second key and refuses to guess.
    await M.call('chat_nick', { nick: 'bob' })
    await waitFor(async () => {
      await M.call('chat_send', { to: '#dm-test', text: 'i am bob now' })
      return (await A.call<any[]>('chat_whois', { nick: 'bob' })).length === 2
    }, 'A to hear the second key signing as bob', 30_000, 500)
    const ambiguous = await A.call('chat_send', { to: '@bob', text: 'which bob?' }).catch((e: unknown) => e) as { code: number, message: string, data: { accounts: string[] } }
    expect(ambiguous.code).toBe(-32602)
    expect(ambiguous.data.accounts.sort()).toEqual([B.ready.account, M.ready.account].sort())
    expect(ambiguous.message).toContain(M.ready.account)

    // acct: addressing always works, and still only reaches the real bob.
    const second = await A.call<{ msgId: string }>('chat_send', { to: `acct:${B.ready.account}`, text: 'by account' })
    await waitFor(() => wsB.notifications.some(n => n.result.msgId === second.msgId), 'B to receive the DM sent by account', 30_000)
    // bob answers @alice (one key signs as alice), and both sides keep the whole conversation.
    const reply = await B.call<{ msgId: string }>('chat_send', { to: '@alice', text: 'got both' })
    await waitFor(() => wsA.notifications.some(n => n.result.msgId === reply.msgId), 'A to receive the reply', 30_000)
    const conversation = (rows: any[]): string[] => rows.map(r => `${r.account === A.ready.account ? 'alice' : 'bob'}: ${r.text}`)
    expect(conversation(await A.call<any[]>('msg_history', { target: `acct:${B.ready.account}` }))).toEqual([`alice: ${SECRET}`, 'alice: by account', 'bob: got both'])
    expect(conversation(await B.call<any[]>('msg_history', { target: `acct:${A.ready.account}` }))).toEqual([`alice: ${SECRET}`, 'alice: by account', 'bob: got both'])
    expect(JSON.stringify(wsM.notifications)).not.toMatch(/by account|got both/)
    // What was sealed for M, M reads: the one line A sent to its account.
    await waitFor(async () => (await M.call<any[]>('msg_history', { target: `acct:${A.ready.account}` })).length === 1, 'M to keep the DM addressed to it', 30_000)
    expect((await M.call<any[]>('msg_history', { target: `acct:${A.ready.account}` }))[0]).toMatchObject({ text: 'hello neighbour', account: A.ready.account, encrypted: true })
  }, 120_000)
})
