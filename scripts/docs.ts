// `npm run docs`: regenerates the README's RPC method table from the method table.
import { readFileSync, writeFileSync } from 'node:fs'
import { withMethodsTable } from '../src/rpc/openrpc.ts'
import { RPC_METHODS } from '../src/rpc/api.ts'

const path = new URL('../README.md', import.meta.url)
writeFileSync(path, withMethodsTable(readFileSync(path, 'utf8'), RPC_METHODS))
console.log('README.md: RPC method table updated')
