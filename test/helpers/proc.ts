/** Spawning real `tmsg` processes and reading their ready line. */
import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'

export const BIN = fileURLToPath(new URL('../../bin/tmsg.js', import.meta.url))

export interface Ready {
  peerId: string
  p2p: string
  rpc: string
  account: string
}

export interface NodeProcess {
  proc: ChildProcessWithoutNullStreams
  ready: Promise<Ready>
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
}

export function tempDatadir (): string {
  return mkdtempSync(join(tmpdir(), 'tmsg-test-'))
}

/** A port that was free a moment ago (for restarting a node on the same address). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => { resolve(port) })
    })
  })
}

export function parseReady (line: string): Ready {
  const m = /^ready peerId=(\S+) p2p=(\S+) rpc=(\S+) account=(\S+)$/.exec(line)
  if (m === null) throw new Error(`not a ready line: ${JSON.stringify(line)}`)
  return { peerId: m[1]!, p2p: m[2]!, rpc: m[3]!, account: m[4]! }
}

/**
 * Runs `tmsg <args>` with the test's Node; tests never use mDNS (it would find other tests).
 * `bin`: another copy of bin/tmsg.js (the memory benchmark runs a compiled build).
 */
export function spawnTmsg (args: string[], env: NodeJS.ProcessEnv = {}, bin = BIN, nodeFlags: string[] = []): NodeProcess {
  const proc = spawn(process.execPath, [...nodeFlags, bin, ...args], { env: { ...process.env, TMSG_MDNS: 'false', ...env }, stdio: 'pipe' })
  let out = ''
  let err = ''
  proc.stdout.setEncoding('utf8')
  proc.stderr.setEncoding('utf8')
  const ready = new Promise<Ready>((resolve, reject) => {
    proc.stdout.on('data', (d: string) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl >= 0) {
        try { resolve(parseReady(out.slice(0, nl))) } catch (e: unknown) { reject(e instanceof Error ? e : new Error(String(e))) }
      }
    })
    proc.once('exit', code => { reject(new Error(`tmsg exited with ${code} before ready; stderr: ${err}`)) })
  })
  ready.catch(() => {}) // observed by whoever awaits it
  proc.stderr.on('data', (d: string) => { err += d })
  const exited = new Promise<number | null>(resolve => proc.once('exit', code => { resolve(code) }))
  return { proc, ready, stdout: () => out, stderr: () => err, exited }
}

/** Runs `tmsg <args>` to completion. */
export async function runTmsg (args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const p = spawnTmsg(args, env)
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), timeoutMs)
  const code = await p.exited
  clearTimeout(timer)
  return { code, stdout: p.stdout(), stderr: p.stderr() }
}

export async function stopProcess (p: NodeProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return p.proc.exitCode
  p.proc.kill(signal)
  return await p.exited
}
