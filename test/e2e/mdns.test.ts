/** Two nodes with mDNS on find and connect to each other with no address given. */
import { describe, expect, it } from 'vitest'
import { spawnTmsg, stopProcess, tempDatadir } from '../helpers/proc.ts'
import { waitFor } from '../helpers/wait.ts'

describe('LAN discovery', () => {
  it('connects two nodes by mDNS alone', async () => {
    const start = (): ReturnType<typeof spawnTmsg> => spawnTmsg(['node', '--datadir', tempDatadir(), '--port', '0'], { TMSG_MDNS: 'true' })
    const [a, b] = [start(), start()]
    try {
      const [ra, rb] = [await a.ready, await b.ready]
      await waitFor(() => a.stderr().includes(`peer connected peer=${rb.peerId}`) && b.stderr().includes(`peer connected peer=${ra.peerId}`), 'mDNS discovery', 30_000, 100)
      expect(a.stderr()).not.toMatch(/ERROR/)
    } finally {
      await Promise.all([stopProcess(a), stopProcess(b)])
    }
  })
})
