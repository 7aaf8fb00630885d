/**
 * `tmsg chat` (the default command, and `npm start`): the terminal chat UI on an embedded
 * node — the same App the RPC serves. Off a terminal it runs headless like `tmsg node`.
 */
import { startApp } from '../app.ts'
import type { NodeConfig } from '../config.ts'
import { runNode } from './node-command.ts'

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
  const app = await startApp(config, { logToStderr: false, onLog: line => { showLog(line) } })
  let tui: import('../../tui/tui.ts').Tui
  try {
    const { startTui } = await import('../../tui/tui.ts')
    tui = startTui(app)
  } catch (err: unknown) {
    await app.stop()
    throw err
  }
  showLog = line => { tui.log(line) }
  for (const line of early.splice(0)) tui.log(line)
  const quit = (): void => { tui.quit() }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, quit)
  await tui.closed
  // The terminal is restored by now; what is left is saying goodbye to the peers.
  const force = setTimeout(() => { process.exit(0) }, STOP_TIMEOUT_MS)
  force.unref()
  await app.stop()
}
