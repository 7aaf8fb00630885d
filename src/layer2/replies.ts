/**
 * Request/response over the flood (DESIGN §5 step 5): send a request, collect the replies
 * routed back to this node until a deadline.
 */
import type { Delivery, SendResult, TmsgNode } from '../node/node.ts'
import { toHex } from '../wire/tmsg.ts'

export async function collectReplies (node: TmsgNode, kind: number, timeoutMs: number, send: () => SendResult): Promise<Delivery[]> {
  const replies: Delivery[] = []
  let requestId: string | undefined
  const early: Delivery[] = []
  const onDelivery = (d: Delivery): void => {
    if (d.msg.kind !== kind || d.msg.replyTo.length === 0) return
    if (requestId === undefined) early.push(d) // a reply cannot beat its request, but be exact
    else if (toHex(d.msg.replyTo) === requestId) replies.push(d)
  }
  node.on('delivery', onDelivery)
  try {
    requestId = send().msgId
    replies.push(...early.filter(d => toHex(d.msg.replyTo) === requestId))
    await new Promise(resolve => setTimeout(resolve, timeoutMs))
  } finally {
    node.off('delivery', onDelivery)
  }
  return replies
}
