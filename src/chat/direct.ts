/**
 * Direct messages (DESIGN §9): a `DIRECT` TMsg to the recipient's account target whose
 * payload is a `Chat` record sealed for the recipient's key (seal.ts). Sending resolves
 * `@nick` through the nick book; receiving opens, checks and keeps the conversation. A
 * payload that does not open is dropped and counted, never shown.
 */
import { accountTarget } from '../targets.ts'
import { Kind, toHex } from '../wire/tmsg.ts'
import type { TMsg } from '../wire/tmsg.ts'
import type { SendResult } from '../node/node.ts'
import type { Message } from '../message.ts'
import type { DirectRow, Store } from '../store/store.ts'
import { decodeChat, encodeChat } from './codec.ts'
import { open, seal, SealError } from './seal.ts'
import { UnknownKeyError } from './nicks.ts'
import type { NickBook } from './nicks.ts'

export interface DirectIdentity {
  secret: Uint8Array
  publicKey: Uint8Array
  account: string
}

export interface DirectHost {
  identity: DirectIdentity
  nicks: NickBook
  store: Store
  send: (o: { target: Uint8Array, payload: Uint8Array, kind: number }) => SendResult
}

export class DirectMessages {
  private readonly host: DirectHost
  /** DIRECT messages that reached this node and did not open (not for us, altered, junk). */
  unopened = 0

  constructor (host: DirectHost) {
    this.host = host
  }

  /**
   * Seals and sends a line to `to` (`@nick`, `acct:<address>` or an address). Returns the
   * send result and the Message it is kept and shown as.
   */
  send (to: string, nick: string, text: string, action: boolean): { result: SendResult, message: Message } {
    const { identity, nicks, store } = this.host
    const peer = nicks.resolve(to)
    const key = peer === identity.account ? identity.publicKey : nicks.publicKey(peer)
    if (key === undefined) throw new UnknownKeyError(peer)
    const payload = seal(encodeChat({ nick, text, action }), key, identity.publicKey)
    const result = this.host.send({ target: accountTarget(peer).id, payload, kind: Kind.DIRECT })
    const row = rowOf(result.msg, { peer, outgoing: true, nick, text, action, verified: true, receivedAt: result.msg.timestamp })
    store.addDirect(row)
    return { result, message: directMessage(row, identity.account) }
  }

  /**
   * A DIRECT hit: opened, kept and returned as a Message when it is for this node's key;
   * undefined (and counted) when it does not open or holds no chat record; undefined (not
   * counted) when it was kept before.
   */
  receive (msg: TMsg, verified: boolean, receivedAt: number): Message | undefined {
    const { identity, nicks, store } = this.host
    // Only a verified sender is someone: the seal is bound to the outer signer's key.
    if (!verified || toHex(msg.target) !== accountTarget(identity.account).hex) {
      this.unopened++
      return undefined
    }
    let plain: Uint8Array
    try {
      plain = open(msg.payload, identity.secret, identity.publicKey, msg.sender)
    } catch (err: unknown) {
      if (!(err instanceof SealError)) throw err
      this.unopened++
      return undefined
    }
    const chat = decodeChat(plain)
    if (chat === undefined) {
      this.unopened++
      return undefined
    }
    const peer = nicks.learnKey(msg.sender, receivedAt)!
    const row = rowOf(msg, { peer, outgoing: false, nick: chat.nick, text: chat.text, action: chat.action, verified, receivedAt })
    // Kept before (a replayed copy, our own DM to ourselves coming back): shown once only.
    if (!store.addDirect(row)) return undefined
    return directMessage(row, identity.account)
  }

  /** A conversation with `peer`, oldest first (see Store.directHistory). */
  history (peer: string, limit: number, before?: Uint8Array): Message[] | undefined {
    return this.host.store.directHistory(peer, limit, before)?.map(r => directMessage(r, this.host.identity.account))
  }
}

function rowOf (msg: TMsg, r: Pick<DirectRow, 'peer' | 'outgoing' | 'nick' | 'text' | 'action' | 'verified' | 'receivedAt'>): DirectRow {
  return { ...r, msgId: msg.msgId, target: msg.target, sender: msg.sender, payload: msg.payload, ttl: msg.ttl, hops: msg.hops, timestamp: msg.timestamp }
}

/**
 * The Message of a direct line (DESIGN §9): `payload` is the sealed bytes as they went on the
 * wire (base64), `text`/`nick`/`action` what was inside, `peer` the other party.
 */
export function directMessage (r: DirectRow, own: string): Message {
  const m: Message = {
    msgId: toHex(r.msgId),
    target: toHex(r.target),
    kind: 'direct',
    payload: Buffer.from(r.payload).toString('base64'),
    encoding: 'base64',
    sender: toHex(r.sender),
    targetName: 'acct:' + (r.outgoing ? r.peer : own),
    account: r.outgoing ? own : r.peer,
    text: r.text,
    action: r.action,
    verified: r.verified,
    encrypted: true,
    peer: r.peer,
    hops: r.hops,
    ttl: r.ttl,
    timestamp: r.timestamp,
    receivedAt: r.receivedAt
  }
  if (r.nick !== '') m.nick = r.nick
  return m
}
