/** The layer-2 schema (proto/layer2.proto), by protobufjs reflection: none of it is on the flood hot path. */
import { loadSchema } from '../wire/proto.ts'
import type { protobuf } from '../wire/proto.ts'

const root = loadSchema('layer2.proto')
const type = (name: string): protobuf.Type => root.lookupType(`tmsg.v1.${name}`)

export const BalanceRequestType = type('BalanceRequest')
export const BalanceResponseType = type('BalanceResponse')
export const TermsRequestType = type('TermsRequest')
export const TermsType = type('Terms')
export const ChannelRequestType = type('ChannelRequest')
export const ChannelResponseType = type('ChannelResponse')
export const PeerPaymentType = type('PeerPayment')

/** Decodes `bytes` as `t` into a plain object (defaults filled in, bytes as Uint8Array). Throws on garbage. */
export function decodeAs<T> (t: protobuf.Type, bytes: Uint8Array): T {
  return t.toObject(t.decode(bytes), { defaults: true, longs: Number, oneofs: true }) as T
}

export function encodeAs (t: protobuf.Type, value: object): Uint8Array {
  return t.encode(t.fromObject(value)).finish()
}
