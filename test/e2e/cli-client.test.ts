/** The client commands against a live node process, asserting what a user reads. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectNodes, startRpcNode } from '../helpers/rpc-node.ts'
import type { RpcNode } from '../helpers/rpc-node.ts'
import { runTmsg, spawnTmsg, stopProcess, tempDatadir } from '../helpers/proc.ts'
import { waitFor } from '../helpers/wait.ts'

describe('tmsg client commands', () => {
  let node: RpcNode
  let other: RpcNode
  const tmsg = async (...args: string[]): ReturnType<typeof runTmsg> => await runTmsg([...args, '--datadir', node.datadir])

  beforeAll(async () => {
    [node, other] = await Promise.all([startRpcNode(['--nick', 'carol']), startRpcNode()])
    await connectNodes(node, other)
  })
  afterAll(async () => { await Promise.all([node?.stop(), other?.stop()]) })

  it('info shows identity, addresses and counters; --json is parseable', async () => {
    const r = await tmsg('info')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`peer id    ${node.ready.peerId}`)
    expect(r.stdout).toContain(`account    ${node.ready.account}`)
    expect(r.stdout).toContain('nick       carol')
    expect(r.stdout).toMatch(/peers {6}1\n/)
    const j = JSON.parse((await tmsg('info', '--json')).stdout)
    expect(j).toMatchObject({ peerId: node.ready.peerId, stats: { peers: 1 } })
  })

  it('peers lists the connected peer', async () => {
    const r = await tmsg('peers')
    expect(r.stdout).toContain(`${other.ready.peerId.slice(0, 8)}…${other.ready.peerId.slice(-8)}`)
    expect(JSON.parse((await tmsg('peers', '--json')).stdout)[0].peerId).toBe(other.ready.peerId)
  })

  it('watch prints hits as they arrive, cleaned for the terminal; send and rpc drive the node', async () => {
    await other.call('chat_join', { room: '#cli' })
    const watch = spawnTmsg(['watch', '#cli', '--datadir', other.datadir])
    await waitFor(() => watch.stderr().includes('watching'), 'watch to subscribe')
    const sent = await tmsg('send', '#cli', 'hello', 'from', '\u001b[2Jthe cli')
    expect(sent.code).toBe(0)
    expect(sent.stdout).toMatch(/^sent [0-9a-f]{32} to #cli\n$/)
    await waitFor(() => watch.stdout().includes('hello from the cli'), 'the line in watch')
    expect(watch.stdout()).toMatch(/^\d\d:\d\d:\d\d #cli <carol\(\w{6}\)> hello from the cli\n/)
    expect(watch.stdout()).not.toContain('\u001b')
    expect(await stopProcess(watch, 'SIGINT')).toBe(0)
    const hist = JSON.parse((await runTmsg(['rpc', 'msg_history', '{"target":"#cli"}', '--datadir', other.datadir])).stdout)
    expect(hist[0].text).toBe('hello from \u001b[2Jthe cli') // stored as sent; only the display is cleaned
  })

  it('reports errors in one line with a non-zero exit', async () => {
    const bad = await tmsg('rpc', 'node_nope')
    expect([bad.code, bad.stderr.trim()]).toEqual([1, 'tmsg: Method not found (MethodNotFound -32601)'])
    const badTarget = await tmsg('send', 'lobby', 'x')
    expect(badTarget.code).toBe(2)
    expect(badTarget.stderr).toMatch(/not a target: use #room, @nick/)
    const noNode = await runTmsg(['info', '--datadir', tempDatadir()])
    expect(noNode.code).toBe(2)
    expect(noNode.stderr).toMatch(/no RPC cookie in .*: is a node running/)
    const badJson = await tmsg('rpc', 'msg_history', '{target}')
    expect(badJson.stderr).toMatch(/params must be JSON/)
  })
})
