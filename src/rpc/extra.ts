/**
 * Methods contributed by layers above the node, registered with the server and listed in
 * the docs alongside the core table.
 */
import type { MethodDef } from './methods.ts'
import { LAYER2_METHODS } from '../layer2/rpc.ts'

export const layer2Methods: MethodDef[] = LAYER2_METHODS
