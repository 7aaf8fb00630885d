/**
 * The whole JSON-RPC surface: the core method table, the layer-2 methods and `rpc.discover`.
 * The server, `npm run docs` and the tests all read this one list.
 */
import { allMethods } from './methods.ts'
import { LAYER2_METHODS } from '../layer2/rpc.ts'

export const RPC_METHODS = allMethods(LAYER2_METHODS)
