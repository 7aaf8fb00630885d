import { describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, resolveConfig } from '../../src/config.ts'

function dirWithConfig (cfg: unknown): string {
  const d = mkdtempSync(join(tmpdir(), 'tmsg-cfg-'))
  writeFileSync(join(d, 'config.json'), JSON.stringify(cfg))
  return d
}

describe('settings precedence: flags > env > config file > defaults', () => {
  it('uses defaults when nothing is given', () => {
    const c = resolveConfig({ datadir: mkdtempSync(join(tmpdir(), 'tmsg-cfg-')) }, {})
    expect(c).toMatchObject({ host: '0.0.0.0', port: 4004, portExplicit: false, rpcPort: 4003, mdns: true, router: 'flood', logLevel: 'info', bootstrap: [], minPeers: 4, maxPeers: 8 })
  })

  it('takes each layer over the one below', () => {
    const datadir = dirWithConfig({ port: 5001, rpcPort: 5002, router: 'gossipsub', mdns: false, nick: 'fromfile' })
    const env = { TMSG_PORT: '6001', TMSG_NICK: 'fromenv' }
    const c = resolveConfig({ datadir, port: '7001' }, env)
    expect(c).toMatchObject({ port: 7001, portExplicit: true, nick: 'fromenv', rpcPort: 5002, router: 'gossipsub', mdns: false, config: join(datadir, 'config.json') })
    expect(resolveConfig({ datadir }, env).port).toBe(6001)
    expect(resolveConfig({ datadir }, {}).port).toBe(5001)
    expect(resolveConfig({ datadir }, {}).portExplicit).toBe(true) // chosen in the file: no silent move
  })

  it('reads the datadir from TMSG_DATADIR and an explicit --config file', () => {
    const d = dirWithConfig({ port: 4999 })
    expect(resolveConfig({}, { TMSG_DATADIR: d }).port).toBe(4999)
    expect(resolveConfig({ config: join(d, 'config.json'), datadir: tmpdir() }, {}).port).toBe(4999)
  })

  it('parses lists and booleans from every layer', () => {
    const a = '/ip4/127.0.0.1/tcp/4004/p2p/16Uiu2HAmMfYTRD1E3JJam5rfMhrmzFE4Pzzyv2geu2PWG4ed7i2g'
    const b = '/ip4/10.0.0.1/tcp/4004'
    const datadir = mkdtempSync(join(tmpdir(), 'tmsg-cfg-'))
    expect(resolveConfig({ datadir }, { TMSG_BOOTSTRAP: `${a}, ${b}` }).bootstrap).toEqual([a, b])
    expect(resolveConfig({ datadir, bootstrap: [a] }, {}).bootstrap).toEqual([a])
    expect(resolveConfig({ datadir }, { TMSG_MDNS: 'off' }).mdns).toBe(false)
    expect(resolveConfig({ datadir, mdns: false }, { TMSG_MDNS: 'true' }).mdns).toBe(false)
  })

  it.each([
    [{ port: '70000' }, {}, /--port: must be a port number/],
    [{}, { TMSG_ROUTER: 'mesh' }, /TMSG_ROUTER: must be one of flood, plumtree, gossipsub/],
    [{ nick: 'has space' }, {}, /--nick/],
    [{ bootstrap: ['not-an-addr'] }, {}, /not a multiaddr/],
    [{ rpcHost: '0.0.0.0' }, {}, /--rpc-allow-remote/],
    [{ minPeers: '9' }, {}, /cannot exceed max-peers/],
    [{ logLevel: 'loud' }, {}, /--log-level/]
  ])('rejects %o %o with a message naming the source', (flags, env, message) => {
    const datadir = mkdtempSync(join(tmpdir(), 'tmsg-cfg-'))
    expect(() => resolveConfig({ datadir, ...flags }, env)).toThrow(ConfigError)
    expect(() => resolveConfig({ datadir, ...flags }, env)).toThrow(message)
  })

  it('--max-window takes seconds or a duration, a week by default', () => {
    const datadir = mkdtempSync(join(tmpdir(), 'tmsg-cfg-'))
    expect(resolveConfig({ datadir }, {}).maxWindow).toBe(7 * 86400)
    expect(resolveConfig({ datadir, maxWindow: '3600' }, {}).maxWindow).toBe(3600)
    expect(resolveConfig({ datadir, maxWindow: '12h' }, {}).maxWindow).toBe(12 * 3600)
    expect(resolveConfig({ datadir }, { TMSG_MAX_WINDOW: '30d' }).maxWindow).toBe(30 * 86400)
    expect(() => resolveConfig({ datadir, maxWindow: 'a week' }, {})).toThrow(/--max-window.*duration/)
  })

  it('names the config file and key at fault', () => {
    const d = dirWithConfig({ port: 'x' })
    expect(() => resolveConfig({ datadir: d }, {})).toThrow(`${join(d, 'config.json')}: "port": must be a port number`)
    expect(() => resolveConfig({ datadir: dirWithConfig({ porty: 1 }) }, {})).toThrow(/unknown key "porty"/)
    expect(() => resolveConfig({ datadir: dirWithConfig([1]) }, {})).toThrow(/JSON object/)
  })
})
