/** `tmsg node` as a user meets it: the ready line, clean signals, one-line errors. */
import { describe, expect, it } from 'vitest'
import { createServer } from 'node:net'
import { statSync, writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runTmsg, spawnTmsg, stopProcess, tempDatadir } from '../helpers/proc.ts'

describe('tmsg node', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('prints the ready line, keeps its identity, and exits 0 on %s', async (signal) => {
    const datadir = tempDatadir()
    const p = spawnTmsg(['node', '--datadir', datadir, '--port', '0'])
    const ready = await p.ready
    expect(ready.p2p).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${ready.peerId}$`))
    expect(ready.account).toMatch(/^1[1-9A-HJ-NP-Za-km-z]{25,33}$/)
    expect(statSync(join(datadir, 'identity.key')).mode & 0o777).toBe(0o600)
    expect(await stopProcess(p, signal)).toBe(0)
    expect(p.stdout().split('\n')[0]).toMatch(/^ready /) // logs never go to stdout
    const again = spawnTmsg(['node', '--datadir', datadir, '--port', '0'])
    expect((await again.ready).peerId).toBe(ready.peerId)
    expect(await stopProcess(again)).toBe(0)
  })

  it.runIf(process.platform === 'linux')('runs with glibc mmap-ing buffers of 32 KiB and more, in the process it was started as, unless told otherwise', async () => {
    // (glibc rewrites a GLIBC_TUNABLES of several tunables in place as it parses it, so
    // /proc/<pid>/environ shows only the first of them: each case here sets one.)
    const tunables = (pid: number): string | undefined => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find(v => v.startsWith('GLIBC_TUNABLES='))
    const p = spawnTmsg(['node', '--datadir', tempDatadir(), '--port', '0'], { GLIBC_TUNABLES: undefined })
    await p.ready // the ready line came from the pid we spawned: it replaced itself, not forked
    expect(tunables(p.proc.pid!)).toBe('GLIBC_TUNABLES=glibc.malloc.mmap_threshold=32768')
    expect(await stopProcess(p, 'SIGINT')).toBe(0)
    const own = spawnTmsg(['node', '--datadir', tempDatadir(), '--port', '0'], { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' })
    await own.ready
    expect(tunables(own.proc.pid!)).toBe('GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536')
    expect(await stopProcess(own)).toBe(0)
  })

  it('moves off a taken default port but refuses a taken explicit one', async () => {
    const srv = createServer()
    await new Promise<void>(resolve => srv.listen(0, '127.0.0.1', resolve))
    const port = (srv.address() as { port: number }).port
    try {
      const explicit = await runTmsg(['node', '--datadir', tempDatadir(), '--host', '127.0.0.1', '--port', String(port)])
      expect(explicit.code).toBe(2)
      expect(explicit.stderr.trim()).toBe(`tmsg: --port ${port}: port ${port} on 127.0.0.1 is already in use (choose another, or 0 for any free port)`)
      // The same port as a default (config file): the node moves to the next free one and says so.
      const datadir = tempDatadir()
      writeFileSync(join(datadir, 'config.json'), '{}')
      const p = spawnTmsg(['node', '--datadir', datadir, '--host', '127.0.0.1'], { TMSG_PORT: '' })
      const ready = await p.ready
      expect(ready.p2p).toMatch(/\/tcp\/\d+\//)
      expect(await stopProcess(p)).toBe(0)
    } finally {
      srv.close()
    }
  })

  it.each([
    [['node', '--prot', '5'], /unknown option '--prot'/],
    [['node', '--port', 'abc'], /^tmsg: --port: must be a port number 0-65535, got "abc"\n$/],
    [['node', '--datadir', '/proc/tmsg-nope'], /^tmsg: cannot create datadir \/proc\/tmsg-nope/],
    [['node', '--router', 'mesh'], /^tmsg: --router: must be one of flood, plumtree, gossipsub/]
  ])('%j fails with one clear line and exit 2', async (args, message) => {
    const r = await runTmsg(args)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
  })

  it('refuses a corrupt database with one line, and leaves it in place', async () => {
    const datadir = tempDatadir()
    writeFileSync(join(datadir, 'tmsg.db'), Buffer.alloc(8192, 0x42))
    const r = await runTmsg(['node', '--datadir', datadir, '--port', '0', '--rpc-port', '0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^tmsg: database .*tmsg\.db is corrupt or not a tmsg database .*move it aside/)
    expect(readFileSync(join(datadir, 'tmsg.db')).equals(Buffer.alloc(8192, 0x42))).toBe(true)
  })

  it('refuses a corrupt identity key instead of replacing it', async () => {
    const datadir = tempDatadir()
    writeFileSync(join(datadir, 'identity.key'), 'not a key\n')
    const r = await runTmsg(['node', '--datadir', datadir, '--port', '0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/identity\.key is not a 64-hex-character secp256k1 key/)
    expect(readFileSync(join(datadir, 'identity.key'), 'utf8')).toBe('not a key\n')
  })
})
