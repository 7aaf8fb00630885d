/**
 * Application logging on pino: JSON lines to `<datadir>/logs/tmsg.log`, and a compact
 * human-readable line per entry to stderr (or nowhere, under the terminal UI).
 */
import { pino } from 'pino'
import type { Logger as PinoLogger } from 'pino'
import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { LogLevel } from './config.ts'

/** tmsg.log is rotated when it reaches this size (bytes): a busy node logs a few MB a day. */
export const LOG_MAX_BYTES = 10 * 1024 * 1024
/** Rotated files kept (tmsg.log.1 … tmsg.log.5): at most ~60 MB of logs in all. */
export const LOG_KEEP = 5

export type Logger = PinoLogger

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
const LEVEL_RANK: Record<Exclude<LogLevel, 'silent'>, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }

/** Formats one pino JSON line as `HH:MM:SS.mmm LEVEL [component] msg key=value…`. */
export function humanLine (json: string): string {
  let o: Record<string, unknown>
  try {
    o = JSON.parse(json)
  } catch {
    return json
  }
  const { level, time, msg, component, pid: _pid, hostname: _host, ...rest } = o
  const t = new Date(Number(time)).toISOString().slice(11, 23)
  const extra = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
  const comp = typeof component === 'string' ? ` [${component}]` : ''
  return `${t} ${LEVEL_NAMES[Number(level)] ?? String(level)}${comp} ${typeof msg === 'string' ? msg : JSON.stringify(msg ?? '')}${extra === '' ? '' : ' ' + extra}\n`
}

export interface LoggerInit {
  level: LogLevel
  /** Directory for tmsg.log; omitted = no file. */
  dir?: string
  /** Also write human-readable lines to stderr. */
  stderr: boolean
  /** Human-readable warnings and errors, for a UI that shows them itself (the chat UI). */
  sink?: (line: string) => void
  /** @default LOG_MAX_BYTES */
  maxBytes?: number
  /** @default LOG_KEEP */
  keep?: number
}

/**
 * Appends lines to `file`, synchronously (a crash loses no line), and rotates by size as
 * logrotate would: tmsg.log → tmsg.log.1 → … → tmsg.log.<keep>, the oldest deleted.
 */
export function rotatingFile (file: string, maxBytes: number, keep: number): { write: (line: string) => void } {
  let fd = openSync(file, 'a', 0o600)
  let size = fstatSync(fd).size
  const rotate = (): void => {
    closeSync(fd)
    rmSync(`${file}.${keep}`, { force: true })
    for (let i = keep - 1; i >= 1; i--) {
      try { renameSync(`${file}.${i}`, `${file}.${i + 1}`) } catch { /* not there yet */ }
    }
    if (keep >= 1) renameSync(file, `${file}.1`)
    else rmSync(file, { force: true })
    fd = openSync(file, 'a', 0o600)
    size = 0
  }
  return {
    write: (line: string) => {
      const bytes = Buffer.byteLength(line)
      if (size > 0 && size + bytes > maxBytes) rotate()
      writeSync(fd, line)
      size += bytes
    }
  }
}

export function createLogger (init: LoggerInit): Logger {
  const streams: pino.StreamEntry[] = []
  if (init.dir !== undefined) {
    const file = rotatingFile(join(init.dir, 'tmsg.log'), init.maxBytes ?? LOG_MAX_BYTES, init.keep ?? LOG_KEEP)
    streams.push({ level: init.level === 'silent' ? 'fatal' : init.level, stream: file })
  }
  if (init.stderr) {
    streams.push({
      level: init.level === 'silent' ? 'fatal' : init.level,
      stream: { write: (line: string) => { process.stderr.write(humanLine(line)) } }
    })
  }
  const sink = init.sink
  if (sink !== undefined && init.level !== 'silent') {
    streams.push({ level: LEVEL_RANK[init.level] > LEVEL_RANK.warn ? init.level : 'warn', stream: { write: (line: string) => { sink(humanLine(line)) } } })
  }
  if (streams.length === 0 || init.level === 'silent') return pino({ level: 'silent' })
  return pino({ level: init.level, base: undefined }, pino.multistream(streams))
}
