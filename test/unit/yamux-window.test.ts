/**
 * The yamux window-update rule (src/node/yamux-window.ts) on a real YamuxStream of the
 * installed library: credit goes back once half the window is used, never per frame, and a
 * sender that uses its whole window always gets it back.
 */
import { describe, expect, it } from 'vitest'
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { defaultLogger } from '@libp2p/logger'
import { Uint8ArrayList } from 'uint8arraylist'
import { installHalfWindowUpdates } from '../../src/node/yamux-window.ts'

// Yamux frame types (hashicorp/yamux spec.md); the library does not export them.
const DATA = 0
const WINDOW_UPDATE = 1
const WINDOW = 256 * 1024

interface Header { type: number, flag: number, streamID: number, length: number }

function stream (state: StreamState): { s: YamuxStream, sent: Header[], receive: (n: number) => void } {
  const sent: Header[] = []
  const s = new YamuxStream({
    id: '1',
    streamId: 1,
    direction: 'inbound',
    state,
    log: defaultLogger().forComponent('test:yamux'),
    sendFrame: (header: Header) => { sent.push(header); return true },
    getRTT: () => -1,
    initialStreamWindowSize: WINDOW,
    maxStreamWindowSize: WINDOW
  } as unknown as ConstructorParameters<typeof YamuxStream>[0])
  const receive = (n: number): void => {
    const frame = { header: { type: DATA, flag: 0, streamID: 1, length: n }, data: new Uint8ArrayList(new Uint8Array(n)) };
    (s as unknown as { handleData: (f: object) => void }).handleData(frame)
  }
  return { s, sent, receive }
}

describe('yamux window updates at half the window', () => {
  installHalfWindowUpdates()

  it('sends one update per half window received, not one per frame', () => {
    const { sent, receive } = stream(StreamState.Established)
    // 1,000 units of 500 B: 500,000 B, almost two windows
    for (let i = 0; i < 1000; i++) receive(500)
    const updates = sent.filter(h => h.type === WINDOW_UPDATE)
    // one update each time more than half (131,072 B) is used: every 263 frames, 3 in all
    expect(updates.length).toBe(3)
    for (const u of updates) expect(u.length).toBeGreaterThanOrEqual(WINDOW / 2)
  })

  it('gives a sender that used the whole window all of it back', () => {
    const { sent, receive } = stream(StreamState.Established)
    receive(WINDOW) // one frame fills the window: the update must come with it
    expect(sent).toEqual([expect.objectContaining({ type: WINDOW_UPDATE, length: WINDOW })])
  })

  it('keeps the library behaviour for a stream that still has to acknowledge its opening', () => {
    const { sent, receive } = stream(StreamState.SYNReceived)
    receive(100)
    // the ACK flag rides on a window update, whatever the window
    expect(sent).toEqual([expect.objectContaining({ type: WINDOW_UPDATE, flag: 2 })])
  })
})
