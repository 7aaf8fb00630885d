// `npm run docs`: regenerates the README's RPC method table from the method table.
import { readFileSync, writeFileSync } from 'node:fs'
import { allMethods } from '../src/rpc/methods.ts'
import { withMethodsTable } from '../src/rpc/openrpc.ts'
import { layer2Methods } from '../src/rpc/extra.ts'

const path = new URL('../README.md', import.meta.url)
writeFileSync(path, withMethodsTable(readFileSync(path, 'utf8'), allMethods(layer2Methods)))
console.log('README.md: RPC method table updated')
