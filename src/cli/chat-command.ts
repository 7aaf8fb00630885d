/**
 * `tmsg chat` (the default command, and `npm start`): the terminal chat UI on an embedded
 * node — the same App the RPC serves. Off a terminal it runs headless like `tmsg node`.
 */
import { format } from 'node:util'
import type { NodeConfig } from '../config.ts'
import { fatalStop, runNode } from './node-command.ts'
import { startServing } from './serve.ts'

/** Stop waiting for a peer that never answers the goodbye. */
const STOP_TIMEOUT_MS = 5000

export function onTerminal (): boolean {
  return process.stdout.isTTY === true && process.stdin.isTTY === true
}

export async function runChat (config: NodeConfig): Promise<void> {
  if (!onTerminal()) {
    process.stderr.write('tmsg: not a terminal, running headless (use `tmsg node` to do this on purpose)\n')
    await runNode(config)
    return
  }
  // Warnings logged before the UI exists wait for it; the log never writes to the terminal.
  const early: string[] = []
  let showLog = (line: string): void => { early.push(line) }
  // Anything wrong with the settings, the datadir or the ports fails here, before the screen
  // is taken over, and is reported as one line by main().
  const serving = await startServing(config, { logToStderr: false, onLog: line => { showLog(line) } })
  const { app, rpc } = serving
  let tui: import('../../tui/tui.ts').Tui
  try {
    const { startTui } = await import('../../tui/tui.ts')
    tui = startTui(app, rpc !== undefined ? { rpc } : {})
  } catch (err: unknown) {
    await serving.stop()
    throw err
  }
  showLog = line => { tui.log(line) }
  for (const line of early.splice(0)) tui.log(line)
  const restoreOutput = divertOutput(line => { tui.log(line) })
  const quit = (): void => { tui.quit() }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, quit)
  // A bug must not leave the terminal in raw mode on the alternate screen, nor die silently
  // into the diverted stderr: give the terminal back, then say what happened.
  process.on('uncaughtException', err => {
    restoreOutput()
    tui.quit()
    app.log.fatal({ err }, 'chat UI crashed')
    process.stderr.write(`tmsg: the chat UI crashed: ${err.stack ?? err.message}\n`)
    process.exit(1)
  })
  let fatal: Error | undefined
  void fatalStop(app).then(err => { fatal = err; tui.quit() })
  await tui.closed
  restoreOutput()
  if (fatal !== undefined) throw fatal // the app has stopped itself; main() prints the reason
  // The terminal is restored by now; what is left is saying goodbye to the peers.
  const force = setTimeout(() => { process.exit(0) }, STOP_TIMEOUT_MS)
  force.unref()
  await serving.stop()
}

/**
 * While the UI owns the terminal, whatever else would print there (a library's console.log,
 * a Node warning, DEBUG output on stderr) goes to the UI's system buffer instead of through
 * the middle of the screen. Returns the function that puts things back.
 */
function divertOutput (show: (line: string) => void): () => void {
  const lines = (text: string): void => { for (const l of text.split('\n')) if (l.trim() !== '') show(l) }
  // Saved as property descriptors, so putting them back restores exactly what was there
  // (stderr's write lives on its prototype; console's methods are its own).
  const targets: Array<[object, string]> = [[process.stderr, 'write'], [console, 'log'], [console, 'info'], [console, 'debug']]
  const saved = targets.map(([o, k]) => Object.getOwnPropertyDescriptor(o, k))
  const stderrWrite = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    lines(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
    const done = rest.find(r => typeof r === 'function') as (() => void) | undefined
    if (done !== undefined) queueMicrotask(done)
    return true
  }
  Object.defineProperty(process.stderr, 'write', { value: stderrWrite, configurable: true, writable: true })
  for (const [o, k] of targets.slice(1)) Object.defineProperty(o, k, { value: (...args: unknown[]) => { lines(format(...args)) }, configurable: true, writable: true })
  return () => {
    targets.forEach(([o, k], i) => {
      const d = saved[i]
      if (d === undefined) Reflect.deleteProperty(o, k)
      else Object.defineProperty(o, k, d)
    })
  }
}
