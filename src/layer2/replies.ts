/**
 * Request/response over the flood (DESIGN §5 step 5): send a request, collect the replies
 * routed back to this node until a deadline.
 */
import type { Delivery, SendResult, TmsgNode } from '../node/node.ts'
import { toHex } from '../wire/tmsg.ts'

export async function collectReplies (node: TmsgNode, kind: number, timeoutMs: number, send: () => SendResult): Promise<Delivery[]> {
  const replies: Delivery[] = []
  // Replies arrive from the network, so never before send() has returned the request's id.
  let requestId = ''
  const onDelivery = (d: Delivery): void => {
    if (d.msg.kind === kind && toHex(d.msg.replyTo) === requestId) replies.push(d)
  }
  node.on('delivery', onDelivery)
  try {
    requestId = send().msgId
    await new Promise(resolve => setTimeout(resolve, timeoutMs))
  } finally {
    node.off('delivery', onDelivery)
  }
  return replies
}
