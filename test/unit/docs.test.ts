import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { openRpcDocument, withMethodsTable } from '../../src/rpc/openrpc.ts'
import { RPC_METHODS } from '../../src/rpc/api.ts'

describe('one method table drives the docs', () => {
  it('README lists exactly the methods of the table (run `npm run docs` after changing them)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    expect(withMethodsTable(readme, RPC_METHODS)).toBe(readme)
  })

  it('the OpenRPC document describes every method, with by-name params', () => {
    const methods = RPC_METHODS
    const doc = openRpcDocument(methods) as { methods: Array<{ name: string, paramStructure: string, params: Array<{ name: string, required: boolean }> }> }
    expect(doc.methods.map(m => m.name)).toEqual(methods.map(m => m.name))
    expect(doc.methods.every(m => m.paramStructure === 'by-name')).toBe(true)
    expect(doc.methods.find(m => m.name === 'msg_send')!.params).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'target', required: true }), expect.objectContaining({ name: 'ttl', required: false })
    ]))
  })
})
