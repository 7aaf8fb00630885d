/** `tmsg node`: a headless node (DESIGN §7). */
import type { App } from '../app.ts'
import type { NodeConfig } from '../config.ts'
import { startServing } from './serve.ts'
import type { Serving } from './serve.ts'

/** The first stdout line, once the node is ready. */
export function readyLine ({ app, rpc }: Serving): string {
  const n = app.node
  return `ready peerId=${n.peerId} p2p=${n.dialableAddress()} rpc=${rpc?.url ?? 'off'} account=${n.identity.account}`
}

export async function runNode (config: NodeConfig): Promise<void> {
  const serving = await startServing(config, { logToStderr: true })
  // Handlers first: a script may signal the moment it reads the ready line, and a signal
  // that arrives before Node has a listener kills the process with the default action.
  const stopped = stopOnSignal(serving)
  process.stdout.write(readyLine(serving) + '\n')
  await stopped
}

/**
 * Resolves when the app stopped itself because the store gave up, with that error (the
 * caller reports it as one line and exits non-zero); never resolves otherwise.
 */
export async function fatalStop (app: App): Promise<Error> {
  return await new Promise(resolve => { app.once('fatal', resolve) })
}

/** Resolves once SIGINT/SIGTERM has shut the node down cleanly; rejects if the app stopped itself. */
export async function stopOnSignal ({ app, stop }: Serving): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    fatalStop(app).then(reject, reject)
    let stopping = false
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) return
      stopping = true
      app.log.info({ signal: sig }, 'shutting down')
      // A peer that never answers must not keep the process alive forever.
      const force = setTimeout(() => { process.exit(0) }, 5000)
      force.unref()
      stop().then(resolve, (err: unknown) => {
        app.log.error({ err }, 'error while stopping')
        resolve()
      })
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}
