/**
 * Shared parts of the tests that run `tmsg node` processes in Linux network namespaces
 * (`ip netns`): whether this machine can, the `ip` wrappers, and starting a node inside a
 * namespace with its RPC reachable from the host.
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync } from 'node:fs'
import jayson from 'jayson/promise/index.js'
import { BIN, parseReady, tempDatadir } from './proc.ts'
import type { Ready } from './proc.ts'

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsSkipReason (): string | undefined {
  if (process.getuid?.() !== 0) return 'not root'
  try { execFileSync('ip', ['-V'], { stdio: 'ignore' }) } catch { return 'no `ip` command' }
  try { execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' }) } catch { return '`ip netns` not available' }
  return undefined
}

export const sh = (...args: string[]): void => { execFileSync('ip', args, { stdio: 'ignore' }) }
/** For cleanup: what is already gone is fine. */
export const quiet = (...args: string[]): void => { try { sh(...args) } catch {} }

export interface NsProcess {
  proc: ReturnType<typeof spawn>
  ready: Ready
  call: <T = any>(method: string, params?: Record<string, unknown>) => Promise<T>
  /**
   * The same call made from inside the node's namespace, so it never crosses the node's own
   * veth: for asking a node whose link a test has made slow or lossy.
   */
  callInside: <T = any>(method: string, params?: Record<string, unknown>) => Promise<T>
  stderr: () => string
}

// Run inside the namespace by `node -e`: one JSON-RPC call, its result on stdout.
const INSIDE_CALL = `const [url, secret, body] = process.argv.slice(1)
fetch(url, { method: 'POST', headers: { authorization: 'Bearer ' + secret, 'content-type': 'application/json' }, body })
  .then(r => r.text()).then(t => { process.stdout.write(t) }, e => { console.error(e); process.exit(1) })`

/** A JSON-RPC response's result, or its error thrown. */
function resultOf<T> (r: { result?: unknown, error?: { message: string } }): T {
  if (r.error !== undefined) throw Object.assign(new Error(r.error.message), r.error)
  return r.result as T
}

/**
 * Starts `tmsg node` in namespace `ns`, P2P on `host:port`, RPC on `rpcHost:rpcPort` (allowed
 * from outside the namespace), mDNS off; resolves on its ready line, rejects if it exits first.
 */
export async function startNsNode (opts: { ns: string, host: string, port: number, rpcHost: string, rpcPort: number, name: string, args?: string[] }): Promise<NsProcess> {
  const datadir = tempDatadir()
  const args = ['netns', 'exec', opts.ns, process.execPath, BIN, 'node', '--datadir', datadir, '--host', opts.host, '--port', String(opts.port),
    '--rpc-host', opts.rpcHost, '--rpc-allow-remote', '--rpc-port', String(opts.rpcPort), '--no-mdns', ...(opts.args ?? [])]
  const proc = spawn('ip', args, { stdio: 'pipe', env: { ...process.env, TMSG_MDNS: 'false' } })
  let out = ''
  let err = ''
  proc.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const ready = await new Promise<Ready>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve(parseReady(out.slice(0, nl)))
    })
    proc.once('exit', code => { reject(new Error(`${opts.name} exited ${code}: ${err}`)) })
  })
  const secret = readFileSync(`${datadir}/rpc.cookie`, 'utf8').trim().split(':')[1]!
  const http = jayson.Client.http({ host: opts.rpcHost, port: opts.rpcPort, headers: { authorization: `Bearer ${secret}` } })
  const call = async <T>(method: string, params: Record<string, unknown> = {}): Promise<T> => resultOf<T>(await http.request(method, params))
  const callInside = async <T>(method: string, params: Record<string, unknown> = {}): Promise<T> => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })
    const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', opts.ns, process.execPath, '-e', INSIDE_CALL,
      `http://${opts.rpcHost}:${opts.rpcPort}/`, secret, body], { maxBuffer: 64 * 1024 * 1024 })
    return resultOf<T>(JSON.parse(stdout))
  }
  return { proc, ready, call, callInside, stderr: () => err }
}
