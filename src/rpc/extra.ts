/**
 * Methods contributed by layers above the node (layer-2), registered with the server and
 * listed in the docs alongside the core table. Empty until those layers exist.
 */
import type { MethodDef } from './methods.ts'

export const layer2Methods: MethodDef[] = []
