/**
 * The package's root directory (where package.json and proto/ are), whether this code runs
 * from the TypeScript sources of a checkout or from the compiled dist/ of an installed package.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function find (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto', 'tmsg.proto'))) return dir
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find the tmsg package root (package.json next to proto/)')
    dir = up
  }
}

export const PACKAGE_ROOT = find()
