/**
 * Application logging on pino: JSON lines to `<datadir>/logs/tmsg.log`, and a compact
 * human-readable line per entry to stderr (or nowhere, under the terminal UI).
 */
import { pino } from 'pino'
import type { Logger as PinoLogger } from 'pino'
import { join } from 'node:path'
import type { LogLevel } from './config.ts'

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
}

export function createLogger (init: LoggerInit): Logger {
  const streams: pino.StreamEntry[] = []
  if (init.dir !== undefined) streams.push({ level: init.level === 'silent' ? 'fatal' : init.level, stream: pino.destination({ dest: join(init.dir, 'tmsg.log'), mkdir: true, sync: true }) })
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
