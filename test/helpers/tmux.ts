/**
 * Real terminals for end-to-end tests: tmux sessions on a private server socket (never the
 * user's), driven with send-keys and read with capture-pane.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { waitFor } from './wait.ts'

export function tmuxAvailable (): boolean {
  return spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0
}

/** One private tmux server; `kill()` ends it and every session in it. */
export class TmuxServer {
  readonly socket = `tmsg-test-${process.pid}-${randomBytes(4).toString('hex')}`

  run (args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' })
  }

  /**
   * Starts `command` (a shell command line) in a new detached window of the given size.
   * The shell prints `EXIT=<code>` when it ends, then the pane stays open to be read.
   */
  start (name: string, command: string, opts: { width?: number, height?: number, env?: Record<string, string> } = {}): TmuxPane {
    const env = { LANG: 'C.UTF-8', TMSG_MDNS: 'false', ...opts.env }
    const exports = Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}; `).join('')
    this.run(['new-session', '-d', '-s', name, '-x', String(opts.width ?? 120), '-y', String(opts.height ?? 40),
      `${exports}${command}; echo "EXIT=$?"; stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(echo|icanon)' | tr '\\n' ' '; echo; sleep 600`])
    return new TmuxPane(this, name)
  }

  /** Ends the server and removes its socket file (tmux leaves it behind). */
  kill (): void {
    const path = spawnSync('tmux', ['-L', this.socket, 'display-message', '-p', '#{socket_path}'], { encoding: 'utf8' }).stdout.trim()
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' })
    if (path.endsWith(`/${this.socket}`)) rmSync(path, { force: true })
  }
}

export class TmuxPane {
  private readonly server: TmuxServer
  readonly name: string

  constructor (server: TmuxServer, name: string) {
    this.server = server
    this.name = name
  }

  /** Keys by tmux name (`Enter`, `C-c`, `M-1`, `PageUp`). */
  keys (...keys: string[]): void {
    this.server.run(['send-keys', '-t', this.name, ...keys])
  }

  /** Literal text, typed as is. */
  type (text: string): void {
    this.server.run(['send-keys', '-t', this.name, '-l', text])
  }

  /** The visible screen as text; with `escapes`, with its colours as SGR sequences. */
  capture (escapes = false): string {
    return this.server.run(['capture-pane', '-p', '-t', this.name, ...(escapes ? ['-e'] : [])])
  }

  /** A tmux format for this pane, e.g. `#{alternate_on}`. */
  format (fmt: string): string {
    return this.server.run(['display-message', '-p', '-t', this.name, fmt]).trim()
  }

  async waitFor (what: string | RegExp, timeoutMs = 15_000): Promise<void> {
    const seen = (): boolean => {
      const text = this.capture()
      return typeof what === 'string' ? text.includes(what) : what.test(text)
    }
    try {
      await waitFor(seen, `the terminal to show ${String(what)}`, timeoutMs, 50)
    } catch (err: unknown) {
      throw new Error(`${(err as Error).message}; it shows:\n${this.capture()}`)
    }
  }
}

export function shellQuote (s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}
