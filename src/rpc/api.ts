/**
 * The whole JSON-RPC surface: the core method table, the layer-2 methods and `rpc.discover`,
 * which describes exactly that list. The server, `npm run docs` and the tests all read it.
 */
import { z } from 'zod'
import { METHODS } from './methods.ts'
import type { MethodDef } from './methods.ts'
import { LAYER2_METHODS } from './layer2-methods.ts'
import { openRpcDocument } from './openrpc.ts'

function withDiscover (methods: MethodDef[]): MethodDef[] {
  const list: MethodDef[] = [...methods]
  list.push({
    name: 'rpc.discover',
    summary: 'This API as an OpenRPC document.',
    params: z.strictObject({}),
    result: z.record(z.string(), z.unknown()),
    handler: () => openRpcDocument(list)
  })
  return list
}

export const RPC_METHODS = withDiscover([...METHODS, ...LAYER2_METHODS])
