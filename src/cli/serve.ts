/**
 * A node as the commands run it (`tmsg node`, `tmsg chat`): the App, then its JSON-RPC
 * server unless --rpc-port 0. The App knows no front end; the RPC is one, started here so
 * the two commands cannot drift apart.
 */
import { App } from '../app.ts'
import type { AppInit } from '../app.ts'
import type { NodeConfig } from '../config.ts'
import { choosePort } from '../node/ports.ts'
import { startRpcServer } from '../rpc/server.ts'
import type { RpcServer } from '../rpc/server.ts'

export interface Serving {
  app: App
  /** Absent with --rpc-port 0. */
  rpc?: RpcServer
  /** Closes the RPC first (no call may reach a stopping app), then stops the app. */
  stop: () => Promise<void>
}

export async function startServing (config: NodeConfig, init: AppInit): Promise<Serving> {
  const app = await App.start(config, init)
  let rpc: RpcServer | undefined
  try {
    if (config.rpcPort !== 0) { // 0 = RPC off
      let port = await choosePort(config.rpcHost, config.rpcPort, config.rpcPortExplicit, '--rpc-port')
      for (let attempt = 1; rpc === undefined; attempt++) {
        try {
          rpc = await startRpcServer(app, { host: config.rpcHost, port, allowRemote: config.rpcAllowRemote, cookiePath: app.datadir.rpcCookie, urlPath: app.datadir.rpcUrl })
        } catch (err: unknown) {
          // Two nodes started at once can both find the default port free and race to bind
          // it: the loser moves on, as it would have had the other been first.
          if (config.rpcPortExplicit || attempt >= 10 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
          port = await choosePort(config.rpcHost, port + 1, false, '--rpc-port')
        }
      }
      if (port !== config.rpcPort) {
        const notice = `RPC port ${config.rpcPort} is taken; using ${port}`
        app.notices.push(notice)
        app.log.warn(notice)
      }
    }
  } catch (err: unknown) {
    await app.stop()
    throw err
  }
  // The app stops itself when the store gives up: its RPC goes with it (cookie and URL files too).
  app.once('fatal', () => { void rpc?.close() })
  return {
    app,
    ...(rpc !== undefined ? { rpc } : {}),
    stop: async () => {
      await rpc?.close()
      await app.stop()
    }
  }
}
