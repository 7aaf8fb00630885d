import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runTmsg, spawnTmsg, tempDatadir } from '../helpers/proc.ts'

describe('one process per datadir', () => {
  it('refuses a second real process on the same datadir with one line, leaving the first untouched', async () => {
    const datadir = tempDatadir()
    const args = ['node', '--datadir', datadir, '--port', '0', '--rpc-port', '0', '--no-mdns', '--host', '127.0.0.1']
    const first = spawnTmsg(args)
    try {
      await first.ready
      const keyBefore = readFileSync(join(datadir, 'identity.key'), 'hex')
      const second = await runTmsg(args, {}, 30_000)
      expect(second.code).toBe(2)
      expect(second.stdout).toBe('')
      expect(second.stderr.trim().split('\n')).toEqual([`tmsg: datadir ${datadir} is in use by another tmsg process; stop it or choose another --datadir`])
      expect(readFileSync(join(datadir, 'identity.key'), 'hex')).toBe(keyBefore)
      expect(first.proc.exitCode).toBeNull()
    } finally {
      first.proc.kill('SIGTERM')
      await first.exited
    }
    // The lock goes with the process: a new one starts at once.
    const third = spawnTmsg(args)
    await third.ready
    third.proc.kill('SIGKILL')
    await third.exited
    const fourth = spawnTmsg(args) // after kill -9 too: the OS dropped the lock
    await fourth.ready
    fourth.proc.kill('SIGTERM')
    expect(await fourth.exited).toBe(0)
  }, 60_000)
})
