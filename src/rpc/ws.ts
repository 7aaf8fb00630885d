import type { RawData } from 'ws'

/** The text of a WebSocket message, whichever of ws's buffer shapes it arrived in. */
export function rawDataText (data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8')
}
