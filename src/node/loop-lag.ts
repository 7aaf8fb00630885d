/**
 * Whether this process's event loop is running late, from a heartbeat timer: while one long
 * turn works through a backlog (a relay starved of CPU reads seconds of every socket's input at
 * once), the heartbeat cannot beat. One per process, as the event loop is; the timer is unref'd.
 */
const BEAT_MS = 250
/** Late by this much means a stall, not a busy moment: a GC pause or a full read are far shorter. */
const LATE_MS = 1000

let lastBeat = 0
let timer: NodeJS.Timeout | undefined

export function loopLagging (): boolean {
  if (timer === undefined) {
    lastBeat = Date.now()
    timer = setInterval(() => { lastBeat = Date.now() }, BEAT_MS)
    timer.unref()
  }
  return Date.now() - lastBeat > LATE_MS
}
