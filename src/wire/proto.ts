/**
 * The protobuf schema, loaded once from `proto/tmsg.proto` (the single source of truth) by
 * protobufjs reflection. The hot-path TMsg/Frame codec in `tmsg.ts` is hand-written on
 * protobufjs's Reader/Writer and tested for byte-equality against these reflected types; the
 * small application payloads (Chat, layer-2 records) use the reflected types directly.
 */
import { join } from 'node:path'
import protobuf from 'protobufjs'
import { PACKAGE_ROOT } from '../package-root.ts'

// uint64 fields (timestamps, satoshi amounts) are read as plain numbers, not Long objects:
// every value this protocol carries fits in 2^53, and numbers avoid an allocation per field.
protobuf.util.Long = null as unknown as typeof protobuf.util.Long
protobuf.configure()

export const PROTO_DIR = join(PACKAGE_ROOT, 'proto') + '/'

/** Loads a schema file from `proto/` (cached by protobufjs per Root). */
export function loadSchema (file: string): protobuf.Root {
  return protobuf.loadSync(PROTO_DIR + file)
}

export const schema = loadSchema('tmsg.proto')
export const TMsgType = schema.lookupType('tmsg.v1.TMsg')
export const FrameType = schema.lookupType('tmsg.v1.Frame')
export const ChatType = schema.lookupType('tmsg.v1.Chat')

export { protobuf }
