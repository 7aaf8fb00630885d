/**
 * Router `plumtree` (DESIGN §11): epidemic broadcast trees (Leitão, Pereira, Rodrigues, SRDS
 * 2007) on top of the flood rules. Every §5 rule — validation, TTL, seen cache, reverse paths,
 * penalties, queues — is the FloodRouter's; this class only decides who gets a full copy:
 * - eager neighbours get the message, lazy ones only its id (IHAVE, batched into the next unit);
 * - the eager links are one spanning tree shared by all origins, **ranked by hops to a root**,
 *   not built by races as in the paper: each node follows the lowest peer id it hears of as
 *   root, takes as parent the neighbour with the fewest hops to it, and says where it is (root,
 *   hops, "you are my parent") in control fields 6-8 — distance-vector routing towards one
 *   destination, as spanning-tree protocols and core-based multicast trees do. Why: the paper's
 *   tree is whatever links first copies won races on. With 5-10 messages in flight at once it
 *   kept cycles (pruning after one duplicate split it instead: two messages cut two edges of
 *   one cycle) and grew as deep as a random spanning tree (13-17 hops at 1,000 nodes, whose
 *   graph radius is 6): 1.96-2.19 copies per delivery in the simulator. Ranked, the tree has no
 *   cycles and the depth of a breadth-first one;
 * - links a GRAFT puts on the tree (repairs) are pruned at their first duplicate — pruning one
 *   cannot split the ranked tree — or as soon as a duplicate from the parent shows the tree
 *   above works. Neighbours that send no ranks (an older plumtree) keep the paper's rules, with
 *   PLUMTREE_PRUNE_AFTER duplicates in a row;
 * - the TTL (§5) cuts long tree paths: where a copy runs out, the node tells its tree
 *   neighbours (IHAVE with TTL 0) and they pull the message at once from a lazy link that
 *   announced one (GRAFT + PRUNE in one unit: a copy without changing the tree), and never send
 *   it back to whoever announced it. The node whose copy ran out notes who announced a copy
 *   that can go on, and fetches it only when a neighbour with nowhere else to turn asks;
 * - IHAVEs wait PLUMTREE_IHAVE_DELAY_MS and leave together (see `ihaveLater`);
 * - an IHAVE for an id still missing after a timeout is answered by a pull from the announcer;
 *   after PLUMTREE_REPAIR_AFTER messages in a row the tree did not bring (a parent dead but not
 *   yet known to be), by a GRAFT, which puts the link on the tree as in the paper. Further
 *   announcers are tried, one per retry interval, until a copy arrives.
 * A neighbour is sent IHAVE instead of messages only once it said it speaks plumtree (the `lazy`
 * hello or any control field): a plain flood node stays eager, so it still gets every message.
 * A neighbour lying about its rank can at worst draw the tree through itself; what it then
 * withholds still reaches everyone through IHAVE and GRAFT, as a dead node's does, only later.
 */
import { randomUUID } from 'node:crypto'
import { encodeFrameControl } from '../wire/frame.ts'
import type { FrameControl, Rank } from '../wire/frame.ts'
import { idKey } from '../wire/tmsg.ts'
import type { TMsg } from '../wire/tmsg.ts'
import { MAX_FRAME_CONTROL_IDS, MSG_ID_LENGTH } from '../wire/constants.ts'
import type { RouterComponents, RouterName } from '../routing.ts'
import { PENALTY_INVALID_MESSAGE, PLUMTREE_DEFAULT_TTL, PLUMTREE_GRAFT_RETRY_MS, PLUMTREE_GRAFT_TIMEOUT_MS, PLUMTREE_IHAVE_DELAY_MS, PLUMTREE_MAX_DIST, PLUMTREE_MAX_MISSING, PLUMTREE_PRUNE_AFTER, PLUMTREE_REPAIR_AFTER, PLUMTREE_SPENT_WAIT_MS, PLUMTREE_RETAIN_MAX, PLUMTREE_RETAIN_MS } from './constants.ts'
import { Fifo } from './fifo.ts'
import { FloodRouter } from './router.ts'
import { ttlOf } from './seen-cache.ts'
import type { FloodRouterInit, Neighbour, SetTimer } from './router.ts'

export interface PlumtreeRouterInit extends FloodRouterInit {
  /** Wait after the first IHAVE of a missing id before grafting. @default 150 */
  graftTimeoutMs?: number
  /** Wait before grafting the next announcer when a graft brought nothing. @default 200 */
  graftRetryMs?: number
  /** Messages kept to answer GRAFTs. @default 10000 */
  retainMax?: number
  /** How long a message is kept to answer GRAFTs. @default 60 s */
  retainMs?: number
  /** IHAVEs wait this long for company (or for a unit going that way anyway). @default 250 */
  ihaveDelayMs?: number
  /** This node's peer id: the tree's root is the lowest id heard. @default a random one */
  selfId?: string
}

/** Plumtree's view of one neighbour. */
interface Link {
  /** It said it speaks plumtree: it may be sent IHAVE instead of messages. */
  lazyCapable: boolean
  /** Gets full copies (always true for a plain flood neighbour). */
  eager: boolean
  ihave: string[]
  /** The TTL each queued IHAVE announces. */
  ihaveTtl: number[]
  graft: string[]
  prune: boolean
  hello: boolean
  /** Duplicates in a row from this link (a first copy resets it). */
  dups: number
  /** Its place in the shared tree, once it said: root (latin1 of the id bytes) and hops to it. */
  root?: string
  dist: number
  /** It reaches the root through us: a tree link, never pruned. */
  child: boolean
  /** Our place in the tree changed since it was last told. */
  rankDirty: boolean
}

/** An id announced but not received: who announced it, and the timer that will graft. */
interface Missing {
  /** Who announced it, and the TTL each would give (best first when pulling). */
  announcers: Neighbour[]
  ttls: number[]
  next: number
  cancel: () => void
  /** A tree neighbour said its copy ran out of TTL: no eager copy will come, pull at once. */
  cutShort: boolean
  /** Pulled from this neighbour: its copy is not a reason to put the link on the tree. */
  pulledFrom?: Neighbour
  /** Everyone who announced it (TTL 0 too): they have it, so they get no copy from us. */
  holders: Neighbour[]
  /** Only spent copies off the tree were announced so far: the long wait (PLUMTREE_SPENT_WAIT_MS). */
  spentOnly: boolean
}

/** A message this node forwarded (or sent), kept to answer GRAFTs with the same copy. */
interface Retained {
  bytes: Uint8Array
  hops: number
  own: boolean
  until: number
}

export interface PlumtreeStats {
  pullSent: number
  eagerLinks: number
  lazyLinks: number
  ihaveSent: number
  ihaveReceived: number
  graftSent: number
  graftReceived: number
  graftAnswered: number
  pruneSent: number
  pruneReceived: number
  rankChanges: number
  missing: number
  /** This node's place in the shared tree: the root it follows, hops to it, its parent. */
  root: string
  dist: number
  parent: string | undefined
}

const realTimer: SetTimer = (fn, ms) => {
  const t = setTimeout(fn, ms)
  t.unref?.()
  return () => { clearTimeout(t) }
}

export class PlumtreeRouter extends FloodRouter {
  override readonly name: RouterName = 'plumtree'
  override readonly defaultTtl = PLUMTREE_DEFAULT_TTL
  private readonly links = new Map<Neighbour, Link>()
  private readonly missing = new Map<string, Missing>()
  private readonly retained = new Map<string, Retained>()
  private readonly retainOrder = new Fifo<string>()
  /** Where retained copies are kept (see `keep`). */
  private chunk = new Uint8Array(0)
  private chunkUsed = 0
  /** Ids grafted again for a copy with more TTL, and the TTL asked (so it is asked once). */
  private readonly improving = new Map<string, number>()
  /** For ids whose copy ran out here: the neighbour that announced the most TTL, and how much. */
  private readonly betterFrom = new Map<string, { n: Neighbour, ttl: number }>()
  /** Ids a neighbour asked for that ran out here, with no better copy announced yet. */
  private readonly wanted = new Set<string>()
  private readonly setTimer: SetTimer
  private readonly graftTimeoutMs: number
  private readonly graftRetryMs: number
  private readonly retainMax: number
  private readonly retainMs: number
  private readonly ihaveDelayMs: number
  /** Links holding IHAVEs that wait for the batch timer. */
  private readonly ihavePending = new Set<Neighbour>()
  private ihaveTimerArmed = false
  /** This node's id, and its place in the shared tree: the root it follows, hops to it, the neighbour towards it. */
  private readonly selfId: string
  private root: string
  private dist = 0
  private parent: Neighbour | undefined
  /** The neighbours known to hold the message being spread (see `newFrom`). */
  private holders: { key: string, of: Neighbour[] } | undefined
  /** Messages in a row whose first copy did not come over a tree link (see `newFrom`). */
  private treeMisses = 0
  private readonly pt = { pullSent: 0, ihaveSent: 0, ihaveReceived: 0, graftSent: 0, graftReceived: 0, graftAnswered: 0, pruneSent: 0, pruneReceived: 0, rankChanges: 0 }

  constructor (components: RouterComponents, init: PlumtreeRouterInit = {}) {
    super(components, init)
    this.setTimer = init.setTimer ?? realTimer
    this.graftTimeoutMs = init.graftTimeoutMs ?? PLUMTREE_GRAFT_TIMEOUT_MS
    this.graftRetryMs = init.graftRetryMs ?? PLUMTREE_GRAFT_RETRY_MS
    this.retainMax = init.retainMax ?? PLUMTREE_RETAIN_MAX
    this.retainMs = init.retainMs ?? PLUMTREE_RETAIN_MS
    this.ihaveDelayMs = init.ihaveDelayMs ?? PLUMTREE_IHAVE_DELAY_MS
    this.selfId = init.selfId ?? randomUUID()
    this.root = this.selfId
  }

  // ---- neighbours -------------------------------------------------------------------------

  /** Every new link starts eager and says hello, so the other side may make it lazy later. */
  override attachLink (peerId: string, link: Parameters<FloodRouter['attachLink']>[1]): void {
    super.attachLink(peerId, link)
    const n = this.neighbours.get(peerId)
    if (n === undefined) return
    const l = this.linkOf(n)
    l.hello = true
    l.rankDirty = true
    this.markDirty(n)
  }

  override removeNeighbour (peerId: string, link?: Parameters<FloodRouter['removeNeighbour']>[1]): void {
    const n = this.neighbours.get(peerId)
    super.removeNeighbour(peerId, link)
    // Missing ids it announced are grafted from the other announcers; none left → given up.
    if (n === undefined || this.neighbours.has(peerId)) return
    this.links.delete(n)
    if (n === this.parent) this.parent = undefined
    this.chooseParent()
  }

  private linkOf (n: Neighbour): Link {
    let l = this.links.get(n)
    if (l === undefined) {
      l = { lazyCapable: false, eager: true, ihave: [], ihaveTtl: [], graft: [], prune: false, hello: false, dups: 0, dist: 0, child: false, rankDirty: false }
      this.links.set(n, l)
    }
    return l
  }

  // ---- the tree ---------------------------------------------------------------------------

  /** A link of the shared tree: our parent, or a child (it reaches the root through us). */
  private onTree (n: Neighbour, l: Link): boolean {
    return l.child || n === this.parent
  }

  /** Gets full copies: a plain flood neighbour, a tree link, or a link a GRAFT or first copy put on the tree. */
  private eagerTo (n: Neighbour, l: Link): boolean {
    return !l.lazyCapable || l.eager || this.onTree(n, l)
  }

  /**
   * The parent is the neighbour with the lowest (root, hops to it): the root is the lowest peer
   * id any neighbour follows (or ours), the hops the fewest to it, ties kept where they are,
   * then the lowest id. Children are not candidates (split horizon), nor paths longer than
   * PLUMTREE_MAX_DIST: a root gone from a network counts up to it, and then each node follows
   * itself until the lowest id left wins. If our place changed, every neighbour is told.
   */
  private chooseParent (): void {
    let best: Neighbour | undefined
    let root = this.selfId
    let dist = 0
    for (const [n, l] of this.links) {
      if (l.root === undefined || l.child || l.root === this.selfId || l.dist + 1 > PLUMTREE_MAX_DIST) continue
      if (this.neighbours.get(n.id) !== n) continue
      const d = l.dist + 1
      const better = l.root !== root
        ? l.root < root
        : d !== dist ? d < dist : n === this.parent || (best !== this.parent && n.id < best!.id) // a tie: the parent stays, else the lower id
      if (!better) continue
      best = n
      root = l.root
      dist = l.dist + 1
    }
    if (best === this.parent && root === this.root && dist === this.dist) return
    const old = this.parent
    this.parent = best
    this.root = root
    this.dist = dist
    this.pt.rankChanges++
    if (old !== undefined && old !== best) this.tellRank(old)
    for (const [n, l] of this.links) if (l.lazyCapable || n === best) this.tellRank(n)
  }

  private tellRank (n: Neighbour): void {
    const l = this.linkOf(n)
    if (l.rankDirty) return
    l.rankDirty = true
    this.markDirty(n)
  }

  /** A neighbour's place in the tree: the first word makes the link the tree's to decide (not the races'). */
  private ranked (l: Link, rank: Rank): void {
    if (rank.root.length === 0 || rank.root.length > MAX_ROOT_BYTES) return
    const root = Buffer.from(rank.root).toString('latin1')
    if (l.root === undefined) l.eager = false
    l.root = root
    l.dist = rank.dist
    l.child = rank.parent
    this.chooseParent()
  }

  protected override fanOut (msg: TMsg, bytes: Uint8Array, hops: number, from: Neighbour | undefined, again = false): number {
    // Replies follow reverse paths (§5 step 5); one whose path is gone floods, as in flood.
    if (msg.replyTo.length > 0) return super.fanOut(msg, bytes, hops, from)
    const key = idKey(msg.msgId)
    this.retain(key, bytes, hops, from === undefined)
    const holders = this.holders?.key === key ? this.holders.of : undefined
    this.holders = undefined
    let count = 0
    for (const n of this.neighbours.values()) {
      if (n === from || holders?.includes(n) === true) continue
      const l = this.linkOf(n)
      // A copy with more TTL is only announced, to eager links too: the few whose copy fell
      // short graft it (see `announced`), instead of every neighbour getting a duplicate.
      if (!l.lazyCapable || (this.eagerTo(n, l) && !again)) {
        if (this.push(n, bytes, hops, from === undefined)) count++
      } else {
        l.ihave.push(key)
        l.ihaveTtl.push(msg.ttl - (from === undefined ? 0 : 1))
        this.pt.ihaveSent++
        this.ihaveLater(n)
        count++
      }
    }
    return count
  }

  /** A first copy: its sender is on the tree (paper: GOSSIP adds the sender to eagerPushPeers). */
  protected override newFrom (from: Neighbour, msg: TMsg, key: string): void {
    const fl = this.linkOf(from)
    const m = this.missing.get(key)
    if (m !== undefined) {
      m.cancel()
      this.missing.delete(key)
      // Read by the fanOut that follows: above all, the tree neighbour whose copy ran out and
      // made us pull this one must not get it back.
      if (m.holders.length > 0) this.holders = { key, of: m.holders }
      // A copy that ends here, while a neighbour had announced one that can go on: noted, as
      // for announcements after the copy (see `announced`).
      const best = bestAnnouncer(m)
      if (msg.ttl <= 1 && best !== undefined) this.noteBetter(key, best, m.ttls[m.announcers.indexOf(best)]!)
    }
    if (fl.root !== undefined) {
      // Ranked: the tree is the ranks', a first copy does not change it. Count the messages in
      // a row the tree did not bring (a branch the TTL cut excepted): two, and GRAFTs repair.
      if (this.onTree(from, fl)) this.treeMisses = 0
      else if (m === undefined || !m.cutShort) this.treeMisses++
    } else if (m === undefined || m.pulledFrom !== from) {
      // A pulled copy leaves the tree as it was (the sender kept the link lazy too); making it
      // eager here added an edge, so a cycle, for every pull: 2% more copies in the simulator.
      fl.eager = true
    }
    fl.dups = 0
    // The TTL ends here (§5): the tree below us gets nothing from us. Say so (IHAVE with TTL
    // 0), so those neighbours pull it from a lazy link at once instead of waiting a timeout.
    // Ranked neighbours off the tree hear it too, with the next IHAVEs: one whose copy was lost
    // on the way, with every copy around it spent, has nobody else to ask (see `announced`).
    if (msg.ttl > 1 || msg.replyTo.length > 0) return
    for (const n of this.neighbours.values()) {
      const l = this.linkOf(n)
      if (n === from || !l.lazyCapable) continue
      const tree = this.eagerTo(n, l)
      if (!tree && l.root === undefined) continue
      l.ihave.push(key)
      l.ihaveTtl.push(0)
      this.pt.ihaveSent++
      if (tree) this.markDirty(n)
      else this.ihaveLater(n)
    }
  }

  /**
   * Duplicates in a row over an eager link: it is redundant for us; ask its sender to send ids
   * only. Not when the copy carries more TTL than the first (it is forwarded again): that link
   * is the shorter path, and a copy we pulled for its TTL comes this way.
   */
  protected override duplicateFrom (from: Neighbour, key: string, better: boolean): void {
    if (better) {
      this.improving.delete(key)
      return
    }
    const l = this.linkOf(from)
    if (from === this.parent) {
      // The tree above us works (the first copy came around it): the repairs are not needed.
      this.treeMisses = 0
      for (const [n, rl] of this.links) if (rl.root !== undefined && rl.eager && !this.onTree(n, rl)) this.pruneLink(n, rl)
      return
    }
    // Also when the link is already lazy here: the sender evidently still pushes, so tell it again.
    // A child stays: the duplicate came over a repair, pruned when its duplicates come.
    if (!l.lazyCapable || this.onTree(from, l)) return
    // Besides a tree that holds the network together, a repair link can go at the first
    // duplicate: pruning it cannot split anything. Between race-built trees, only after several.
    if (l.eager && ++l.dups < (l.root === undefined ? PLUMTREE_PRUNE_AFTER : 1)) return
    this.pruneLink(from, l)
  }

  private pruneLink (n: Neighbour, l: Link): void {
    l.eager = false
    l.prune = true
    this.pt.pruneSent++
    this.markDirty(n)
  }

  protected override receiveControl (from: Neighbour, c: FrameControl): void {
    const l = this.linkOf(from)
    l.lazyCapable = true
    if (c.rank !== undefined) this.ranked(l, c.rank)
    for (const a of c.ihave) {
      if (!this.takeToken(from)) return
      if (a.id.length !== MSG_ID_LENGTH) {
        this.invalid(from, 'malformed', PENALTY_INVALID_MESSAGE)
        continue
      }
      this.pt.ihaveReceived++
      this.announced(from, idKey(a.id), a.ttl)
    }
    if (c.graft.length > 0) {
      l.eager = true
      for (const id of c.graft) {
        if (!this.takeToken(from)) return
        if (id.length !== MSG_ID_LENGTH) {
          this.invalid(from, 'malformed', PENALTY_INVALID_MESSAGE)
          continue
        }
        this.pt.graftReceived++
        // An id we no longer hold (or never forwarded: TTL ran out here) has no copy to give.
        const k = idKey(id)
        const r = this.retained.get(k)
        if (r !== undefined) {
          if (this.push(from, r.bytes, r.hops, r.own)) this.pt.graftAnswered++
        } else if (this.seen.get(k) !== undefined) {
          // Not forwarded here (the TTL ran out): fetch a copy that can go on, if one was announced.
          this.improve(k)
        }
      }
    }
    // After the GRAFTs: GRAFT + PRUNE in one unit is a pull — the copies, the link stays lazy.
    if (c.prune) {
      this.pt.pruneReceived++
      l.eager = false
    }
  }

  /** IHAVE: an id we lack starts a timer; when it fires with the id still missing, GRAFT. */
  private announced (from: Neighbour, key: string, ttl: number): void {
    const entry = this.seen.get(key)
    if (entry !== undefined) {
      // §5 step 2 for announcements, only where it matters: our copy ran out of TTL here and
      // this one can go on (fetching every copy with more TTL cost 0.5 copies per delivery in
      // the 50-node network bench). Even then it is only noted: on a ranked tree the neighbours
      // below us pull it themselves (our cut notice), and it is fetched when a neighbour with
      // nowhere else to get it asks (see `improve`); fetching it at once cost 0.26 copies per
      // delivery at 1,000 nodes. Between race-built trees (no ranks), at once as before.
      if (ttlOf(entry) > 1 || ttl <= 1) return
      this.noteBetter(key, from, ttl)
      if (this.linkOf(from).root === undefined || this.wanted.has(key)) this.improve(key)
      return
    }
    // A spent copy off the tree: nothing to pull, and our own copy is likely on its way.
    const spent = ttl === 0 && !this.eagerTo(from, this.linkOf(from))
    let m = this.missing.get(key)
    if (m === undefined) {
      // Bounded: a neighbour announcing endless made-up ids cannot grow this without limit.
      if (this.missing.size >= PLUMTREE_MAX_MISSING) return
      m = { announcers: [], ttls: [], next: 0, cancel: () => {}, cutShort: false, holders: [], spentOnly: spent }
      const entry = m
      m.cancel = this.setTimer(() => { this.graftNext(key, entry) }, spent ? PLUMTREE_SPENT_WAIT_MS : this.graftTimeoutMs)
      this.missing.set(key, m)
    }
    if (!m.holders.includes(from)) m.holders.push(from)
    if (spent) return
    if (m.spentOnly) {
      // A real announcement: the usual wait from now.
      m.spentOnly = false
      m.cancel()
      const entry = m
      m.cancel = this.setTimer(() => { this.graftNext(key, entry) }, this.graftTimeoutMs)
    }
    if (ttl === 0) {
      // Its copy ran out of TTL there: it has none to give, and no eager copy comes that way.
      if (m.cutShort) return
      m.cutShort = true
      const best = bestAnnouncer(m)
      if (best !== undefined) this.pull(best, key, m)
      return
    }
    if (m.announcers.includes(from)) return
    m.announcers.push(from)
    m.ttls.push(ttl)
    if (m.cutShort && m.announcers.length === 1) this.pull(from, key, m)
  }

  private noteBetter (key: string, n: Neighbour, ttl: number): void {
    if (ttl <= 1) return
    const b = this.betterFrom.get(key)
    if (b !== undefined && ttl <= b.ttl) return
    if (this.betterFrom.size >= PLUMTREE_MAX_MISSING) this.betterFrom.delete(this.betterFrom.keys().next().value!)
    this.betterFrom.set(key, { n, ttl })
  }

  /** Fetches the copy with more TTL a neighbour announced, once per TTL; none yet: when one is. */
  private improve (key: string): void {
    const b = this.betterFrom.get(key)
    if (b === undefined) {
      if (this.wanted.size >= PLUMTREE_MAX_MISSING) this.wanted.delete(this.wanted.keys().next().value!)
      this.wanted.add(key)
      return
    }
    if (this.neighbours.get(b.n.id) !== b.n || b.ttl <= (this.improving.get(key) ?? 0)) return
    if (this.improving.size >= PLUMTREE_MAX_MISSING) this.improving.delete(this.improving.keys().next().value!)
    this.improving.set(key, b.ttl)
    this.wanted.delete(key)
    this.pull(b.n, key)
  }

  private graftNext (key: string, m: Missing): void {
    if (this.missing.get(key) !== m) return
    if (this.seen.get(key) !== undefined) {
      this.missing.delete(key)
      return
    }
    // Announcers in order, round and round (a graft or its answer may be lost), while any is
    // still a neighbour; each try waits the retry interval for the copy.
    const live = m.announcers.map((_, i) => i).filter(i => this.neighbours.get(m.announcers[i]!.id) === m.announcers[i])
    const alive = live.map(i => m.announcers[i]!)
    if (alive.length === 0 && m.holders.length > 0) {
      // Cut short everywhere around us: ask those holding a spent copy to fetch one that can
      // go on (they noted who announced one, see `announced`); its announcement then comes.
      // Those that said so first, then the others (a spent copy is not announced off the tree).
      const holders = m.holders.filter(h => this.neighbours.get(h.id) === h)
      for (const [n, l] of this.links) if (l.lazyCapable && !holders.includes(n) && this.neighbours.get(n.id) === n) holders.push(n)
      if (holders.length === 0 || m.next >= 2 * holders.length + 2) {
        this.missing.delete(key)
        return
      }
      this.pull(holders[m.next++ % holders.length]!, key, m)
      return
    }
    if (alive.length === 0 || m.next >= 2 * alive.length + 2) {
      this.missing.delete(key)
      return
    }
    m.ttls = live.map(i => m.ttls[i]!)
    m.announcers = alive
    const to = alive[m.next % alive.length]!
    m.next++
    // A ranked tree is repaired by the ranks (a parent gone is replaced); a copy late once is
    // pulled. Only when the tree keeps failing us, or between race-built trees, does the link
    // join the tree (paper: GRAFT adds it to eagerPushPeers).
    if (this.linkOf(to).root === undefined || this.treeMisses >= PLUMTREE_REPAIR_AFTER) {
      this.graft(to, key)
      m.cancel = this.setTimer(() => { this.graftNext(key, m) }, this.graftRetryMs)
    } else {
      this.pull(to, key, m) // arms the retry timer itself
    }
  }

  /**
   * Asks `to` for one copy and leaves the link as it is: GRAFT + PRUNE in one unit when it is
   * lazy. For a branch the TTL cut short or a copy with more TTL — the tree is not broken there.
   */
  private pull (to: Neighbour, key: string, m?: Missing): void {
    const l = this.linkOf(to)
    l.graft.push(key)
    if (!this.eagerTo(to, l)) {
      l.prune = true
      if (m !== undefined) m.pulledFrom = to
    }
    if (m !== undefined) {
      // The pull is the first try: the timer armed at the first IHAVE would otherwise GRAFT
      // (and put a link on the tree) while the pulled copy is still on its way.
      m.cancel()
      m.cancel = this.setTimer(() => { this.graftNext(key, m) }, this.graftRetryMs)
    }
    this.pt.pullSent++
    this.markDirty(to)
  }

  /** Asks `to` for a message; the link is on the tree again (paper: GRAFT adds it to eagerPushPeers). */
  private graft (to: Neighbour, key: string): void {
    const l = this.linkOf(to)
    l.eager = true
    l.graft.push(key)
    this.pt.graftSent++
    this.markDirty(to)
  }

  /**
   * Announcements are not urgent — on a whole tree nobody needs them — so they wait up to
   * `ihaveDelayMs` and leave together, or ride along the next unit to that neighbour. At tens
   * of messages a second that turns one unit per message per lazy link (as many as flood
   * writes, each with its Noise/Yamux/syscall cost) into a few per second.
   * Cut-short notices (TTL 0) and GRAFT/PRUNE do not wait.
   */
  private ihaveLater (n: Neighbour): void {
    if (this.ihaveDelayMs <= 0) {
      this.markDirty(n)
      return
    }
    this.ihavePending.add(n)
    if (this.ihaveTimerArmed) return
    this.ihaveTimerArmed = true
    this.setTimer(() => {
      this.ihaveTimerArmed = false
      for (const p of this.ihavePending) if (this.neighbours.get(p.id) === p) this.markDirty(p)
      this.ihavePending.clear()
    }, this.ihaveDelayMs)
  }

  // ---- what rides along a unit --------------------------------------------------------------

  protected override takeControl (n: Neighbour): Uint8Array | undefined {
    const l = this.links.get(n)
    if (l === undefined || (!l.hello && !l.prune && !l.rankDirty && l.ihave.length === 0 && l.graft.length === 0)) return undefined
    const graft = take(l.graft, MAX_FRAME_CONTROL_IDS)
    const n2 = Math.min(l.ihave.length, MAX_FRAME_CONTROL_IDS - graft.length)
    const ihave = l.ihave.splice(0, n2).map((k, i) => ({ id: keyBytes(k), ttl: l.ihaveTtl[i]! }))
    l.ihaveTtl.splice(0, n2)
    const rank = l.rankDirty ? { root: keyBytes(this.root), dist: this.dist, parent: n === this.parent } : undefined
    const out = encodeFrameControl({ ihave, graft: graft.map(keyBytes), prune: l.prune, lazy: l.hello, rank })
    l.prune = false
    l.hello = false
    l.rankDirty = false
    return out
  }

  // ---- messages kept for GRAFTs -------------------------------------------------------------

  private retain (key: string, bytes: Uint8Array, hops: number, own: boolean): void {
    const now = this.components.now()
    // Expired or over the count, oldest first (a re-forwarded id keeps its first place).
    for (let k = this.retainOrder.peek(); k !== undefined; k = this.retainOrder.peek()) {
      const r = this.retained.get(k)
      if (r !== undefined && r.until > now && this.retained.size < this.retainMax) break
      this.retainOrder.shift()
      this.retained.delete(k)
    }
    if (!this.retained.has(key)) this.retainOrder.push(key)
    this.retained.set(key, { bytes: this.keep(bytes), hops, own, until: now + this.retainMs })
  }

  /**
   * A copy of `bytes` in this router's own chunks. The encoded copy handed in is a slice of
   * Buffer.allocUnsafe's shared 8 KiB pool, which also holds units written and gone a moment
   * later: kept for a minute, each retained copy kept a whole 8 KiB slab alive (2.4 GB in the
   * 10,000-node simulator, for ~0.3 GB of copies). Copies are kept and dropped oldest first,
   * so a chunk is freed with its last copy; chunks grow from 4 KiB (a quiet node) to 64 KiB.
   */
  private keep (bytes: Uint8Array): Uint8Array {
    if (this.chunkUsed + bytes.length > this.chunk.length) {
      this.chunk = new Uint8Array(Math.max(bytes.length, RETAIN_CHUNK_MIN, Math.min(RETAIN_CHUNK_MAX, 2 * this.chunk.length)))
      this.chunkUsed = 0
    }
    const out = this.chunk.subarray(this.chunkUsed, this.chunkUsed + bytes.length)
    out.set(bytes)
    this.chunkUsed += bytes.length
    return out
  }

  // ---- introspection ----------------------------------------------------------------------

  plumtreeStats (): PlumtreeStats {
    let eager = 0
    let lazy = 0
    for (const n of this.neighbours.values()) {
      const l = this.linkOf(n)
      if (this.eagerTo(n, l)) eager++
      else lazy++
    }
    return { eagerLinks: eager, lazyLinks: lazy, ...this.pt, missing: this.missing.size, root: this.root, dist: this.dist, parent: this.parent?.id }
  }
}

/** Bytes of the chunks retained copies are kept in: the first, and the most they grow to. */
const RETAIN_CHUNK_MIN = 4096
const RETAIN_CHUNK_MAX = 65536
/** A root id longer than any peer id is not one. */
const MAX_ROOT_BYTES = 128

function bestAnnouncer (m: Missing): Neighbour | undefined {
  let best = -1
  for (let i = 0; i < m.ttls.length; i++) if (best < 0 || m.ttls[i]! > m.ttls[best]!) best = i
  return best < 0 ? undefined : m.announcers[best]
}

function take (a: string[], max: number): string[] {
  return a.length <= max ? a.splice(0) : a.splice(0, max)
}

function keyBytes (key: string): Uint8Array {
  return Buffer.from(key, 'latin1')
}
