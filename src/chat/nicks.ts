/**
 * The nick book (DESIGN §9): `@nick` is a claim, not an address. The book remembers which
 * keys were heard signing as which nick (verified messages only) and the public key behind
 * every account heard, in `tmsg.db`, so a direct message to `@bob` goes to a key, and only a
 * key, that has really signed as bob.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { accountOf } from '../identity.ts'
import { isAccountAddress, isValidNick, TargetSyntaxError } from '../targets.ts'

/** No signed message from that nick has been heard: −32002 at the RPC. */
export class UnknownNickError extends Error {
  static name = 'UnknownNickError'
  override name = 'UnknownNickError'
  readonly nick: string
  constructor (nick: string) {
    super(`no signed message from @${nick} has been heard, so its key is unknown; acct:<address> always works`)
    this.nick = nick
  }
}

/** Several keys have signed as that nick: −32602 at the RPC, listing them. */
export class AmbiguousNickError extends Error {
  static name = 'AmbiguousNickError'
  override name = 'AmbiguousNickError'
  readonly nick: string
  readonly accounts: string[]
  constructor (nick: string, accounts: string[]) {
    super(`@${nick} has been used by ${accounts.length} keys: ${accounts.map(a => 'acct:' + a).join(', ')}; pick one with acct:<address>`)
    this.nick = nick
    this.accounts = accounts
  }
}

/** The account is valid but its public key was never heard, so nothing can be sealed for it. */
export class UnknownKeyError extends Error {
  static name = 'UnknownKeyError'
  override name = 'UnknownKeyError'
  readonly account: string
  constructor (account: string) {
    super(`the public key of acct:${account} is unknown: it has not signed anything this node heard, nor connected to it`)
    this.account = account
  }
}

export interface NickKey {
  nick: string
  account: string
  firstSeen: number
  lastSeen: number
}

/** What hearing a (nick, key) pair changed. */
export interface Heard {
  /** First time this key signed as this nick. */
  newPair: boolean
  /** Other accounts heard with this nick before. */
  others: string[]
}

/** `last_seen` is rewritten at most this often per pair: a busy room costs no write per line. */
const TOUCH_EVERY_MS = 60_000
/** Rows kept in nick_keys; a flood of made-up nicks prunes the least recently heard. */
const MAX_PAIRS = 50_000
const MAX_KEYS = 50_000
const PRUNE_EVERY = 1000

export class NickBook {
  private readonly db: DatabaseSync
  private readonly now: () => number
  /** `nick account` / account → last_seen written to the database. */
  private readonly touchedPairs = new Map<string, number>()
  private readonly touchedKeys = new Map<string, number>()
  private inserts = 0
  private readonly q: Record<'upsertPair' | 'upsertKey' | 'accountsOf' | 'keyOf' | 'nicksOf' | 'pairsOf', StatementSync>

  constructor (db: DatabaseSync, opts: { now?: () => number } = {}) {
    this.db = db
    this.now = opts.now ?? Date.now
    this.q = {
      upsertPair: db.prepare(`INSERT INTO nick_keys (nick, account, first_seen, last_seen) VALUES (?, ?, ?, ?)
        ON CONFLICT (nick, account) DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen)`),
      upsertKey: db.prepare(`INSERT INTO keys (account, public_key, first_seen, last_seen) VALUES (?, ?, ?, ?)
        ON CONFLICT (account) DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen)`),
      accountsOf: db.prepare('SELECT account FROM nick_keys WHERE nick = ? ORDER BY first_seen, account'),
      keyOf: db.prepare('SELECT public_key FROM keys WHERE account = ?'),
      nicksOf: db.prepare('SELECT nick FROM nick_keys WHERE account = ? ORDER BY last_seen DESC'),
      pairsOf: db.prepare('SELECT nick, account, first_seen AS firstSeen, last_seen AS lastSeen FROM nick_keys WHERE nick = ? ORDER BY first_seen, account')
    }
  }

  /**
   * Records that `publicKey` signed a message (verified by the caller) as `nick`. Returns
   * whether the pair is new and which other accounts used the nick before.
   */
  heard (nick: string, publicKey: Uint8Array, at = this.now()): Heard {
    const account = this.learnKey(publicKey, at)
    if (account === undefined || !isValidNick(nick)) return { newPair: false, others: [] }
    const n = nick.toLowerCase()
    const pairKey = `${n} ${account}`
    const last = this.touchedPairs.get(pairKey)
    if (last !== undefined && at - last < TOUCH_EVERY_MS) return { newPair: false, others: [] }
    const before = this.accounts(n)
    this.q.upsertPair.run(n, account, at, at)
    this.touchedPairs.set(pairKey, at)
    if (this.touchedPairs.size > MAX_PAIRS) this.touchedPairs.delete(this.touchedPairs.keys().next().value!)
    const newPair = !before.includes(account)
    if (newPair) this.maybePrune()
    return { newPair, others: before.filter(a => a !== account) }
  }

  /** Remembers the key behind an account (any verified signer, any connected peer). */
  learnKey (publicKey: Uint8Array, at = this.now()): string | undefined {
    let account: string
    try {
      account = accountOf(publicKey)
    } catch {
      return undefined // not a point on the curve
    }
    const last = this.touchedKeys.get(account)
    if (last !== undefined && at - last < TOUCH_EVERY_MS) return account
    this.q.upsertKey.run(account, publicKey, at, at)
    this.touchedKeys.set(account, at)
    if (this.touchedKeys.size > MAX_KEYS) this.touchedKeys.delete(this.touchedKeys.keys().next().value!)
    this.maybePrune()
    return account
  }

  /** Accounts heard signing as `nick`, first heard first. */
  accounts (nick: string): string[] {
    const n = (nick.startsWith('@') ? nick.slice(1) : nick).toLowerCase()
    return (this.q.accountsOf.all(n) as Array<{ account: string }>).map(r => r.account)
  }

  /** The (nick, key) pairs of a nick with first and last seen. */
  keysOf (nick: string): NickKey[] {
    const n = (nick.startsWith('@') ? nick.slice(1) : nick).toLowerCase()
    return this.q.pairsOf.all(n) as unknown as NickKey[]
  }

  /** Nicks an account was heard with, most recent first. */
  nicksOf (account: string): string[] {
    return (this.q.nicksOf.all(account) as Array<{ nick: string }>).map(r => r.nick)
  }

  publicKey (account: string): Uint8Array | undefined {
    return (this.q.keyOf.get(account) as { public_key: Uint8Array } | undefined)?.public_key
  }

  /**
   * The account a recipient names: `@nick` → the one key heard signing as it (errors for
   * none or several); `acct:<address>` or a bare address → that address.
   */
  resolve (to: string): string {
    const t = to.trim()
    if (t.startsWith('@')) {
      const nick = t.slice(1)
      if (!isValidNick(nick)) throw new TargetSyntaxError(`"${to}" is not a nick: 1-32 of A-Z a-z 0-9 _ . -`)
      const accounts = this.accounts(nick)
      if (accounts.length === 0) throw new UnknownNickError(nick.toLowerCase())
      if (accounts.length > 1) throw new AmbiguousNickError(nick.toLowerCase(), accounts)
      return accounts[0]!
    }
    const a = t.startsWith('acct:') ? t.slice(5) : t
    if (!isAccountAddress(a)) throw new TargetSyntaxError(`"${to}" is not a recipient: use @nick or acct:<address>`)
    return a
  }

  private maybePrune (): void {
    if (++this.inserts % PRUNE_EVERY !== 0) return
    this.db.prepare('DELETE FROM nick_keys WHERE rowid IN (SELECT rowid FROM nick_keys ORDER BY last_seen DESC LIMIT -1 OFFSET ?)').run(MAX_PAIRS)
    this.db.prepare('DELETE FROM keys WHERE account IN (SELECT account FROM keys ORDER BY last_seen DESC LIMIT -1 OFFSET ?)').run(MAX_KEYS)
  }
}
