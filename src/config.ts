/**
 * Node settings (DESIGN §7): one table drives the command-line flags, the `TMSG_*`
 * environment variables, the config-file keys, the defaults and their validation.
 * Precedence: flags > env > config file > defaults.
 */
import { homedir } from 'node:os'
import { isIP } from 'node:net'
import { join, resolve } from 'node:path'
import { existsSync, readFileSync } from 'node:fs'
import { multiaddr } from '@multiformats/multiaddr'
import { isValidNick } from './targets.ts'
import { ROUTER_NAMES } from './routing.ts'
import type { RouterName } from './routing.ts'

export const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export interface NodeConfig {
  datadir: string
  /** Config file that was read, if any. */
  config?: string
  host: string
  port: number
  /** False when `port` is the default: then the next free port is used if it is taken. */
  portExplicit: boolean
  rpcPort: number
  rpcPortExplicit: boolean
  rpcHost: string
  /** Allow `rpcHost` beyond loopback (DESIGN §6: needs an explicit flag). */
  rpcAllowRemote: boolean
  nick?: string
  bootstrap: string[]
  mdns: boolean
  router: RouterName
  ledger?: string
  /** Which chain layer-2 runs on (DESIGN §8a). */
  chain: 'dev' | 'test' | 'main'
  arcUrl?: string
  walletUrl?: string
  arcKey?: string
  headersUrl?: string
  /** Longest refund window this node accepts from a provider, in seconds. */
  maxWindow: number
  logLevel: LogLevel
  /** Neighbours the node dials towards. */
  minPeers: number
  /** Connections beyond this are pruned. */
  maxPeers: number
  /** Prometheus metrics port; 0 = off (the default). */
  metricsPort: number
  metricsHost: string
  /** Allow `metricsHost` beyond loopback. */
  metricsAllowRemote: boolean
}

/** A setting with a bad value; the message names where it came from. */
export class ConfigError extends Error {
  static name = 'ConfigError'
  override name = 'ConfigError'
}

type Parse<T> = (raw: unknown) => T

interface OptionSpec<K extends keyof NodeConfig = keyof NodeConfig> {
  key: K
  /** Commander flag syntax; boolean options are written `--no-x` when the default is true. */
  flag: string
  env: string
  description: string
  parse: Parse<NodeConfig[K]>
  /** Default value; a function of the datadir where it depends on it. */
  default?: NodeConfig[K] | ((datadir: string) => NodeConfig[K])
  repeatable?: boolean
  /** Options that only make sense for a process running a node (not client commands). */
  nodeOnly?: boolean
}

function fail (what: string): never {
  throw new ConfigError(what)
}

const str: Parse<string> = raw => {
  if (typeof raw !== 'string' || raw === '') fail('must be a non-empty string')
  return raw
}

const port: Parse<number> = raw => {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`must be a port number 0-65535, got ${JSON.stringify(raw)}`)
  return n
}

const count = (min: number, max: number): Parse<number> => raw => {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN
  if (!Number.isInteger(n) || n < min || n > max) fail(`must be an integer ${min}-${max}, got ${JSON.stringify(raw)}`)
  return n
}

const bool: Parse<boolean> = raw => {
  if (typeof raw === 'boolean') return raw
  const s = String(raw).trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(s)) return true
  if (['0', 'false', 'no', 'off'].includes(s)) return false
  return fail(`must be true or false, got ${JSON.stringify(raw)}`)
}

const ip: Parse<string> = raw => {
  const s = str(raw)
  if (isIP(s) === 0) fail(`must be an IPv4 or IPv6 address, got ${JSON.stringify(raw)}`)
  return s
}

function oneOf<T extends string> (values: readonly T[]): Parse<T> {
  return raw => {
    if (typeof raw !== 'string' || !values.includes(raw as T)) fail(`must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`)
    return raw as T
  }
}

const nick: Parse<string> = raw => {
  const s = str(raw)
  if (!isValidNick(s)) fail(`must be 1-32 of A-Z a-z 0-9 _ . -, got ${JSON.stringify(raw)}`)
  return s
}

/** A list from repeated flags, a JSON array, or a comma/space separated env string. */
const multiaddrs: Parse<string[]> = raw => {
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[\s,]+/) : fail('must be a list of multiaddrs')
  return items.filter(s => s !== '').map(s => {
    try {
      return multiaddr(String(s)).toString()
    } catch {
      return fail(`${JSON.stringify(s)} is not a multiaddr (e.g. /ip4/192.168.1.5/tcp/4004/p2p/16Uiu2...)`)
    }
  })
}

const path: Parse<string> = raw => resolve(str(raw))

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** Seconds, or a duration: 90, 90s, 30m, 12h, 7d. */
const duration: Parse<number> = raw => {
  const m = /^(\d+)([smhd]?)$/.exec(String(raw).trim())
  const n = m === null ? NaN : Number(m[1]) * UNIT_SECONDS[m[2] === '' ? 's' : m[2]!]!
  if (!Number.isSafeInteger(n) || n < 1) fail(`must be a duration like 3600, 12h or 7d, got ${JSON.stringify(raw)}`)
  return n
}

export const DEFAULT_P2P_PORT = 4004
export const DEFAULT_RPC_PORT = 4003

/** Where a node keeps its state when no --datadir / TMSG_DATADIR / config file says otherwise. */
export const DEFAULT_DATADIR = join(homedir(), '.tmsg')

/** Every setting. The datadir and config file are resolved first, then the rest. */
export const OPTIONS: OptionSpec[] = [
  { key: 'datadir', flag: '--datadir <dir>', env: 'TMSG_DATADIR', description: 'data directory (identity, cookie, database, logs)', parse: path },
  { key: 'config', flag: '--config <file>', env: 'TMSG_CONFIG', description: 'JSON config file (default: <datadir>/config.json if present)', parse: path },
  { key: 'host', flag: '--host <address>', env: 'TMSG_HOST', description: 'P2P listen address', parse: ip, default: '0.0.0.0', nodeOnly: true },
  { key: 'port', flag: '--port <port>', env: 'TMSG_PORT', description: `P2P TCP port, 0 = any (default ${DEFAULT_P2P_PORT}, or the next free one)`, parse: port, default: DEFAULT_P2P_PORT, nodeOnly: true },
  { key: 'rpcPort', flag: '--rpc-port <port>', env: 'TMSG_RPC_PORT', description: `JSON-RPC port, 0 = off (default ${DEFAULT_RPC_PORT})`, parse: port, default: DEFAULT_RPC_PORT },
  { key: 'rpcHost', flag: '--rpc-host <address>', env: 'TMSG_RPC_HOST', description: 'JSON-RPC listen address (beyond loopback needs --rpc-allow-remote)', parse: ip, default: '127.0.0.1' },
  { key: 'rpcAllowRemote', flag: '--rpc-allow-remote', env: 'TMSG_RPC_ALLOW_REMOTE', description: 'allow --rpc-host to be a non-loopback address', parse: bool, default: false, nodeOnly: true },
  { key: 'nick', flag: '--nick <nick>', env: 'TMSG_NICK', description: 'chat nick (1-32 of A-Z a-z 0-9 _ . -)', parse: nick, nodeOnly: true },
  { key: 'bootstrap', flag: '--bootstrap <multiaddr>', env: 'TMSG_BOOTSTRAP', description: 'peer to connect to and keep reconnecting (repeatable)', parse: multiaddrs, default: [], repeatable: true, nodeOnly: true },
  { key: 'mdns', flag: '--no-mdns', env: 'TMSG_MDNS', description: 'do not discover LAN peers by mDNS', parse: bool, default: true, nodeOnly: true },
  { key: 'router', flag: '--router <router>', env: 'TMSG_ROUTER', description: 'message router: flood, plumtree (flood with lazy push, DESIGN §11) or gossipsub', parse: oneOf(ROUTER_NAMES), default: 'flood', nodeOnly: true },
  { key: 'ledger', flag: '--ledger <path>', env: 'TMSG_LEDGER', description: 'development ledger database, shareable by local nodes', parse: path, nodeOnly: true },
  { key: 'chain', flag: '--chain <chain>', env: 'TMSG_CHAIN', description: 'layer-2 chain: dev (embedded development chain), test or main (ARC + block headers)', parse: oneOf(['dev', 'test', 'main'] as const), default: 'dev', nodeOnly: true },
  { key: 'arcUrl', flag: '--arc-url <url>', env: 'TMSG_ARC_URL', description: 'test/main: ARC endpoint transactions are broadcast to', parse: str, nodeOnly: true },
  { key: 'arcKey', flag: '--arc-key <key>', env: 'TMSG_ARC_KEY', description: 'test/main: ARC API key', parse: str, nodeOnly: true },
  { key: 'walletUrl', flag: '--wallet-url <url>', env: 'TMSG_WALLET_URL', description: 'test/main: BRC-100 wallet (HTTP JSON) that pays this node on wallet_faucet', parse: str, nodeOnly: true },
  { key: 'headersUrl', flag: '--headers-url <url>', env: 'TMSG_HEADERS_URL', description: 'test/main: Block Headers Service checking merkle roots (default: WhatsOnChain)', parse: str, nodeOnly: true },
  { key: 'maxWindow', flag: '--max-window <duration>', env: 'TMSG_MAX_WINDOW', description: 'longest channel refund window accepted from a provider (e.g. 12h, 7d; default 7d)', parse: duration, default: 7 * 86400, nodeOnly: true },
  { key: 'logLevel', flag: '--log-level <level>', env: 'TMSG_LOG_LEVEL', description: `log level: ${LOG_LEVELS.join(', ')}`, parse: oneOf(LOG_LEVELS), default: 'info' },
  { key: 'minPeers', flag: '--min-peers <n>', env: 'TMSG_MIN_PEERS', description: 'neighbours to dial towards (default 4)', parse: count(0, 1000), default: 4, nodeOnly: true },
  { key: 'maxPeers', flag: '--max-peers <n>', env: 'TMSG_MAX_PEERS', description: 'connections kept at most (default 8)', parse: count(1, 10_000), default: 8, nodeOnly: true },
  { key: 'metricsPort', flag: '--metrics-port <port>', env: 'TMSG_METRICS_PORT', description: 'serve Prometheus metrics on GET /metrics at this port (default 0 = off)', parse: port, default: 0, nodeOnly: true },
  { key: 'metricsHost', flag: '--metrics-host <address>', env: 'TMSG_METRICS_HOST', description: 'metrics listen address (beyond loopback needs --metrics-allow-remote)', parse: ip, default: '127.0.0.1', nodeOnly: true },
  { key: 'metricsAllowRemote', flag: '--metrics-allow-remote', env: 'TMSG_METRICS_ALLOW_REMOTE', description: 'allow --metrics-host to be a non-loopback address', parse: bool, default: false, nodeOnly: true }
]

/** Where each value came from, for the error message and for `portExplicit`. */
export type Source = 'flag' | 'env' | 'config' | 'default'

/**
 * Resolves the settings. `flags` holds only options given on the command line (by key).
 * Throws ConfigError naming the flag, variable or file entry at fault.
 */
export function resolveConfig (flags: Partial<Record<keyof NodeConfig, unknown>>, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const sources = new Map<keyof NodeConfig, Source>()
  let filePath = ''
  const pick = (spec: OptionSpec, file: Record<string, unknown>): unknown => {
    const raw = flags[spec.key]
    if (raw !== undefined) return parseFrom(spec, raw, `${spec.flag.split(' ')[0]}`, sources, 'flag')
    const e = env[spec.env]
    if (e !== undefined && e !== '') return parseFrom(spec, e, spec.env, sources, 'env')
    if (spec.key in file) return parseFrom(spec, file[spec.key], `${filePath}: "${spec.key}"`, sources, 'config')
    sources.set(spec.key, 'default')
    return undefined
  }
  const specOf = (key: keyof NodeConfig): OptionSpec => OPTIONS.find(o => o.key === key)!

  const explicitConfig = pick(specOf('config'), {}) as string | undefined
  filePath = explicitConfig ?? ''
  const fileFromExplicit = explicitConfig !== undefined ? readConfigFile(explicitConfig) : {}
  const datadir = (pick(specOf('datadir'), fileFromExplicit) as string | undefined) ?? DEFAULT_DATADIR
  const configPath = explicitConfig ?? join(datadir, 'config.json')
  const file = explicitConfig !== undefined ? fileFromExplicit : existsSync(configPath) ? readConfigFile(configPath) : {}
  filePath = configPath
  for (const key of Object.keys(file)) {
    if (!OPTIONS.some(o => o.key === key)) throw new ConfigError(`${configPath}: unknown key "${key}" (known: ${OPTIONS.map(o => o.key).join(', ')})`)
  }

  const out: Record<string, unknown> = { datadir }
  if (explicitConfig !== undefined || existsSync(configPath)) out.config = configPath
  for (const spec of OPTIONS) {
    if (spec.key === 'datadir' || spec.key === 'config') continue
    const v = pick(spec, file)
    const d = spec.default
    out[spec.key] = v ?? (typeof d === 'function' ? d(datadir) : d)
  }
  const cfg = out as unknown as NodeConfig
  cfg.portExplicit = sources.get('port') !== 'default'
  cfg.rpcPortExplicit = sources.get('rpcPort') !== 'default'
  if (cfg.minPeers > cfg.maxPeers) throw new ConfigError(`min-peers (${cfg.minPeers}) cannot exceed max-peers (${cfg.maxPeers})`)
  if (!cfg.rpcAllowRemote && !isLoopback(cfg.rpcHost)) {
    throw new ConfigError(`--rpc-host ${cfg.rpcHost} is not a loopback address: add --rpc-allow-remote to expose the RPC beyond this machine`)
  }
  if (!cfg.metricsAllowRemote && !isLoopback(cfg.metricsHost)) {
    throw new ConfigError(`--metrics-host ${cfg.metricsHost} is not a loopback address: add --metrics-allow-remote to expose the metrics beyond this machine`)
  }
  return cfg
}

export function isLoopback (address: string): boolean {
  return address === '::1' || address.startsWith('127.')
}

function parseFrom (spec: OptionSpec, raw: unknown, where: string, sources: Map<keyof NodeConfig, Source>, source: Source): unknown {
  sources.set(spec.key, source)
  try {
    return spec.parse(raw)
  } catch (err: unknown) {
    if (err instanceof ConfigError) throw new ConfigError(`${where}: ${err.message}`)
    throw err
  }
}

function readConfigFile (file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err: unknown) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err: unknown) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${file} must hold a JSON object`)
  return parsed as Record<string, unknown>
}
