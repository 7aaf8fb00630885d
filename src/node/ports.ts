/** Port selection: a default port that is taken moves to the next free one; an explicit one fails clearly. */
import { createServer } from 'node:net'

export class PortInUseError extends Error {
  static name = 'PortInUseError'
  override name = 'PortInUseError'
}

/** True when a TCP listener could bind host:port right now. */
export async function isPortFree (host: string, port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const srv = createServer()
    srv.once('error', () => { resolve(false) })
    srv.listen({ host, port, exclusive: true }, () => { srv.close(() => { resolve(true) }) })
  })
}

/**
 * `port` if free. Otherwise, when the user did not choose it, the next free port within
 * `span`; when they did, PortInUseError naming the flag to change. Port 0 is always "any".
 */
export async function choosePort (host: string, port: number, explicit: boolean, flag: string, span = 50): Promise<number> {
  if (port === 0) return 0
  if (await isPortFree(host, port)) return port
  if (explicit) throw new PortInUseError(`${flag} ${port}: port ${port} on ${host} is already in use (choose another, or 0 for any free port)`)
  for (let p = port + 1; p < Math.min(port + span, 65536); p++) {
    if (await isPortFree(host, p)) return p
  }
  throw new PortInUseError(`no free port in ${port}-${port + span - 1} on ${host}: use ${flag} <port>`)
}
