/**
 * Assembles a running tmsg process from its settings: datadir, identity, logging, the node
 * and (in later layers) the store, RPC server and applications. `tmsg node` and `tmsg chat`
 * both start here, so they cannot drift apart.
 */
import { isIPv6 } from 'node:net'
import { loadOrCreateIdentity } from './identity.ts'
import type { NodeConfig } from './config.ts'
import { prepareDatadir } from './node/datadir.ts'
import type { Datadir } from './node/datadir.ts'
import { choosePort, PortInUseError } from './node/ports.ts'
import { TmsgNode } from './node/node.ts'
import { createLogger } from './log.ts'
import type { Logger } from './log.ts'
import { accountTarget, nickTarget } from './targets.ts'

export interface App {
  config: NodeConfig
  datadir: Datadir
  node: TmsgNode
  log: Logger
  /** Notes for the user about choices made for them (e.g. a port moved because it was taken). */
  notices: string[]
  rpcUrl?: string
  stop: () => Promise<void>
}

export interface AppInit {
  /** Write human-readable logs to stderr (headless); the TUI shows them itself. */
  logToStderr: boolean
}

export async function startApp (config: NodeConfig, init: AppInit): Promise<App> {
  const datadir = prepareDatadir(config.datadir)
  const log = createLogger({ level: config.logLevel, dir: datadir.logs, stderr: init.logToStderr })
  const identity = loadOrCreateIdentity(datadir.identityKey)
  const notices: string[] = []
  const port = await choosePort(config.host, config.port, config.portExplicit, '--port')
  if (port !== config.port && config.port !== 0) notices.push(`P2P port ${config.port} is taken; using ${port}`)
  const ip = isIPv6(config.host) ? 'ip6' : 'ip4'
  const node = await TmsgNode.create({
    identity,
    router: config.router,
    listen: [`/${ip}/${config.host}/tcp/${port}`],
    bootstrap: config.bootstrap,
    mdns: config.mdns,
    minPeers: config.minPeers,
    maxPeers: config.maxPeers,
    logger: log
  })
  try {
    await node.start()
  } catch (err: unknown) {
    if (/EADDRINUSE/.test(String((err as Error).message))) throw new PortInUseError(`--port ${port}: port ${port} on ${config.host} is already in use`)
    throw err
  }
  // A node always hears what is addressed to its account, and to its nick when it has one.
  node.subscribe(accountTarget(identity.account))
  if (config.nick !== undefined) node.subscribe(nickTarget(config.nick))
  for (const n of notices) log.warn(n)
  return {
    config,
    datadir,
    node,
    log,
    notices,
    stop: async () => {
      await node.stop()
      log.flush()
    }
  }
}
