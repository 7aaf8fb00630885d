/** Layer-2 errors on the RPC: local failures have their own codes; −32012 is only the peer's refusal. */
import { describe, expect, it } from 'vitest'
import { ChannelError } from '../../src/layer2/errors.ts'
import type { ChannelErrorCode } from '../../src/layer2/errors.ts'
import { LedgerRejectedError } from '../../src/layer2/chain/ledger.ts'
import { BackpressureError } from '../../src/node/node.ts'
import { ERROR_CODES, toRpcError } from '../../src/rpc/errors.ts'

const rpc = (code: ChannelErrorCode, fromPeer = false): { code: number, data: Record<string, unknown> } => {
  const e = toRpcError(new ChannelError(code, 'x', fromPeer))
  return { code: e.code, data: e.data }
}

describe('channel errors on the RPC', () => {
  it.each<[ChannelErrorCode, number]>([
    ['INSUFFICIENT_FUNDS', -32010],
    ['UNKNOWN_CHANNEL', -32011],
    ['UNKNOWN_PROVIDER', -32011],
    ['BUDGET_EXHAUSTED', -32013],
    ['EXPIRED', -32014],
    ['NOT_OPEN', -32015],
    ['NOTHING_TO_SETTLE', -32015],
    ['LEDGER_REJECTED', -32016],
    ['BAD_REFUND', -32017],
    ['BAD_ANSWER', -32017],
    ['SETTLEMENT_UNSEEN', -32017],
    ['WINDOW_TOO_LONG', -32018],
    ['BAD_AMOUNT', -32602],
    ['BELOW_MIN_DEPOSIT', -32602],
    ['PEER_UNREACHABLE', -32003]
  ])('a local %s is %i, not "rejected by the peer"', (code, expected) => {
    expect(rpc(code)).toEqual({ code: expected, data: expect.objectContaining({ code }) })
    expect(expected).not.toBe(ERROR_CODES.RejectedByPeer)
  })

  it('the peer\'s refusal is −32012 with the peer\'s own code in data.code, whatever that code is', () => {
    for (const code of ['NOT_OPEN', 'BAD_SIGNATURE', 'INSUFFICIENT_FUNDS', 'EXPIRED'] as const) {
      expect(rpc(code, true)).toEqual({ code: -32012, data: expect.objectContaining({ name: 'ChannelError', code }) })
    }
  })

  it('maps by class: a ledger refusal is −32016 with its reason, a full queue −32005, anything unknown stays internal', () => {
    const ledger = toRpcError(new LedgerRejectedError('network', 'ARC at http://x: timeout'))
    expect({ code: ledger.code, data: ledger.data }).toEqual({ code: -32016, data: { name: 'LedgerRejectedError', reason: 'network' } })
    expect(toRpcError(new BackpressureError('slow down')).code).toBe(-32005)
    // An error that merely claims a code by its shape is not trusted: only known classes map.
    const impostor = Object.assign(new Error('x'), { rpcCode: 'InsufficientFunds' })
    expect(toRpcError(impostor)).toMatchObject({ code: -32603, message: 'internal error' })
  })
})
