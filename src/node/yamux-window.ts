/**
 * Yamux window updates at half the window, as go-yamux and rust-yamux send them.
 *
 * `@chainsafe/libp2p-yamux` (8.0.1, the newest) answers every data frame it receives with a
 * window update: one more 12-byte frame, one more Noise encryption and one more socket write
 * for every unit a neighbour sends. On the 50-node network bench that was 10% of the process's
 * CPU (`sendWindowUpdate` in a --cpu-prof profile), and on a relay half of all writes.
 *
 * Here a stream grants credit only once half its window is used (rust-yamux#109 gives the
 * reasoning: early enough that a sender is never blocked waiting, rare enough to cost nothing).
 * The sender can never stall for it: every data frame still runs this check, so the frame that
 * takes the window past half brings the update. Frames with flags (SYN/ACK) and a paused stream
 * keep the library's own behaviour.
 *
 * The library exports the class but offers no option for this, so the rule is installed on its
 * prototype, once per process; `test/unit/yamux-window.test.ts` fails if a new version moves
 * the fields it reads.
 */
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'

/** The fields the rule reads; private in the library's types. */
interface WindowFields {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

let installed = false

export function installHalfWindowUpdates (): void {
  if (installed) return
  installed = true
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate: (this: WindowFields) => void }
  const library = proto.sendWindowUpdate
  proto.sendWindowUpdate = function (this: WindowFields) {
    // An established stream with at least half its window left needs no credit yet.
    if (this.state === StreamState.Established && this.recvWindowCapacity * 2 >= this.recvWindow) return
    library.call(this)
  }
}
