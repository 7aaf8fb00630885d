/**
 * Store and forward (DESIGN §10) with real `tmsg node` processes, chained A (alice) — B — C
 * (carol): B is in no room and relays everything, keeping the signed originals. C is stopped;
 * A says 50 lines in #sf and sends carol a DM; C restarts and, with nobody sending again, gets
 * all of it from B. A fresh node D that joins #sf afterwards sees the recent lines too, and so
 * does B when it joins the room it relayed.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { connectNodes, openWs, startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode, WsClient } from '../helpers/rpc-node.ts'
import { waitFor } from '../helpers/wait.ts'

describe('store and forward across processes', () => {
  const nodes: RpcNode[] = []
  const sockets: WsClient[] = []
  afterAll(async () => {
    for (const s of sockets) s.close()
    await Promise.all(nodes.map(async n => await n.stop('SIGKILL')))
  })

  it('a restarted node gets the 50 lines and the DM it missed from its neighbour, once and in order; a late joiner sees the recent lines', async () => {
    const [a, b, c] = await Promise.all(['alice', 'bob', 'carol'].map(async nick => await startRpcNode(['--nick', nick, '--no-mdns'])))
    nodes.push(a!, b!, c!)
    const [A, B] = [a!, b!]
    const lines = Array.from({ length: 50 }, (_, i) => `line ${String(i).padStart(2, '0')}`)
    let C = c!
    await connectNodes(A, B)
    await connectNodes(C, B)
    for (const n of [A, C]) await n.call('chat_join', { room: '#sf' })
    // carol speaks first, so alice knows the key behind @carol (repeated until A has heard:
    // the flood is only as fast as its links, so there may be a few of these).
    let hello = 0
    await waitFor(async () => {
      await C.call('chat_send', { to: '#sf', text: 'carol here' })
      hello++
      return (await A.call<any[]>('chat_whois', { nick: 'carol' })).length === 1
    }, 'A to hear carol in #sf', 30_000, 500)
    const expected = [...Array<string>(hello).fill('carol here'), ...lines]

    const datadir = C.datadir
    await C.stop('SIGTERM')
    nodes.splice(nodes.indexOf(C), 1)
    const keptBefore = (await B.call<any>('node_stats')).history.kept as number

    const sent: string[] = []
    for (const text of lines) sent.push((await A.call<{ msgId: string }>('chat_send', { to: '#sf', text })).msgId)
    const dm = await A.call<{ msgId: string }>('chat_send', { to: '@carol', text: 'while you were away' })
    // B relayed and kept all 51 (it is in no room: nothing was delivered to it).
    await waitFor(async () => (await B.call<any>('node_stats')).history.kept >= keptBefore + 51, 'B to keep the 51 originals', 30_000)

    C = await startRpcNode(['--nick', 'carol', '--no-mdns'], datadir)
    nodes.push(C)
    const ws = await openWs(C)
    sockets.push(ws)
    await ws.request('msg_subscribe', {})
    await connectNodes(C, B)
    await waitFor(() => sent.every(id => ws.notifications.some(n => n.result.msgId === id)) && ws.notifications.some(n => n.result.msgId === dm.msgId),
      'C to get the 50 lines and the DM from B within a few seconds', 15_000)

    const got = ws.notifications.map(n => n.result).filter(m => m.targetName === '#sf')
    expect(got.map(m => m.text)).toEqual(lines) // all, once, in order
    expect(got.every(m => m.verified === true && m.history === true && m.account === A.ready.account)).toBe(true)
    const replayedDm = ws.notifications.map(n => n.result).find(m => m.msgId === dm.msgId)
    expect(replayedDm).toMatchObject({ kind: 'direct', text: 'while you were away', peer: A.ready.account, encrypted: true, verified: true, history: true })
    // Kept like live ones: the room's history and the conversation, each line once.
    const history = await C.call<any[]>('msg_history', { target: '#sf', limit: 100 })
    expect(history.map(m => m.text)).toEqual(expected)
    expect((await C.call<any[]>('msg_history', { target: `acct:${A.ready.account}` })).map(m => m.text)).toEqual(['while you were away'])

    // Nothing more arrives when C reconnects: what it holds is not delivered again.
    const before = ws.notifications.length
    const done = (await C.call<any>('node_stats')).history.syncsDone as number
    await C.call('peers_connect', { address: A.ready.p2p })
    await waitFor(async () => (await C.call<any>('node_stats')).history.syncsDone > done, 'C to have asked A as well', 20_000)
    expect((await C.call<any[]>('msg_history', { target: '#sf', limit: 100 })).length).toBe(expected.length)
    expect(ws.notifications.length).toBe(before)

    // A fresh node joins #sf late and sees the recent lines from its neighbour.
    const D = await startRpcNode(['--nick', 'dave', '--no-mdns'])
    nodes.push(D)
    await connectNodes(D, B)
    await D.call('chat_join', { room: '#sf' })
    await waitFor(async () => (await D.call<any[]>('msg_history', { target: '#sf', limit: 100 })).length === expected.length, 'D to see the recent lines of #sf', 20_000)
    const seen = await D.call<any[]>('msg_history', { target: '#sf', limit: 100 })
    expect(seen.map(m => m.text)).toEqual(expected)

    // B relayed the room without listening: joining it now shows what passed through B.
    await B.call('chat_join', { room: '#sf' })
    await waitFor(async () => (await B.call<any[]>('msg_history', { target: '#sf', limit: 100 })).length === expected.length, 'B to show the lines it relayed', 20_000)
    expect((await B.call<any[]>('msg_history', { target: '#sf', limit: 100 })).map(m => m.text)).toEqual(expected)
  }, 180_000)
})
