/** Protocol id and defaults of the flood router. Each default says why it is what it is. */
import { TIMESTAMP_WINDOW_MS } from '../wire/constants.ts'

export const FLOOD_PROTOCOL = '/tmsg/flood/1.0.0'

/** Seen ids remembered: ~100 B each, so about 20 MB at most; minutes of a busy network. */
export const DEFAULT_SEEN_CACHE_MAX = 200_000
/**
 * How long an id stays "seen". A copy is accepted while its timestamp is within the window
 * of our clock, so an id must be remembered for the window on both sides of its timestamp.
 */
export const DEFAULT_SEEN_CACHE_TTL_MS = 2 * TIMESTAMP_WINDOW_MS
/** Relayed broadcasts queued per neighbour before the drop policy starts: ~40k small messages. */
export const DEFAULT_QUEUE_MAX_BYTES = 4 * 1024 * 1024
/**
 * Relayed broadcasts queued for all neighbours together: each gets an equal share, at most
 * the per-neighbour cap. 8 neighbours (the default --max-peers) get their full 4 MiB; a relay
 * with 50 lagging neighbours holds 32 MiB of queues, not 200 (a message in several queues is
 * counted in each, so this bounds the memory from above).
 */
export const DEFAULT_QUEUE_TOTAL_BYTES = 32 * 1024 * 1024
/** Own messages and replies are never evicted; past this they are refused with an error. */
export const DEFAULT_QUEUE_MAX_PRIORITY_BYTES = 8 * 1024 * 1024
/**
 * Bytes per unit the router writes (the protocol allows 1 MiB). Larger units save little once
 * per-unit costs are amortised, and smaller ones let the next hop start forwarding sooner.
 */
export const FLUSH_UNIT_BYTES = 128 * 1024
/**
 * Per-neighbour budget. A chat network of 10,000 people each sending a line a minute passes
 * ~170 msg/s through any one link; 1,000/s is far above that and a twentieth of what one
 * core relays, so one neighbour cannot take the node. The relay benchmark lifts it.
 */
export const DEFAULT_RATE_MESSAGES_PER_SECOND = 1_000
export const DEFAULT_RATE_BURST = 2_000
/**
 * Each message over the budget costs this much: an honest burst slightly over costs a point
 * or two that decay; a neighbour at 100× its budget is banned within a second.
 */
export const PENALTY_RATE_EXCESS = 0.01
/**
 * Seen-cache entries one neighbour may own: a quarter of the cache, i.e. 50,000 new ids in
 * the 20-minute window (42/s sustained) before it recycles its own oldest, never others'.
 */
export const DEFAULT_SEEN_PER_NEIGHBOUR = DEFAULT_SEEN_CACHE_MAX / 4
/**
 * Duplicates are dropped unhashed (a dropped copy does no harm), but one in this many is
 * checked, so a neighbour sending forged copies of seen ids is caught and penalised.
 */
export const DUPLICATE_CHECK_ONE_IN = 16
/** A forged duplicate is deliberate (an honest relay's copy always matches its id). */
export const PENALTY_FORGED_DUPLICATE = 5
/** Penalty points: a frame that is not protobuf at all weighs more than one bad field. */
export const PENALTY_MALFORMED_FRAME = 5
export const PENALTY_INVALID_MESSAGE = 1
/**
 * A stale timestamp may come from an honest relay whose clock differs slightly from ours, so
 * it costs little; a flood of them still adds up.
 */
export const PENALTY_STALE_TIMESTAMP = 0.05
/** Points at which a neighbour is disconnected and banned. */
export const DEFAULT_BAN_THRESHOLD = 20
/** Penalty points halve every minute, so rare mistakes never add up to a ban. */
export const DEFAULT_PENALTY_HALF_LIFE_MS = 60_000
/** First ban lasts 10 minutes; each repeat doubles it, up to a day. */
export const DEFAULT_BAN_MS = 10 * 60_000
export const MAX_BAN_MS = 24 * 60 * 60_000

// ---- router `plumtree` (DESIGN §11) ----------------------------------------------------------
/**
 * The TTL a plumtree node gives its own messages. A tree's paths are longer than the shortest
 * ones a flood finds (the tree the traffic builds follows the fastest links, not the fewest
 * hops), so at flood's 7 the TTL cuts tree branches everywhere and every cut is a pull. In the
 * simulator (seed 1, 10% of nodes failing) TTL 7 left 0.006% (N = 1,000) and 1.7% (N = 10,000) of
 * deliveries undone; 10 made both 100%, within the 1.5 × flood's last-delivery hop the tree
 * may take. Still ≤ 16 with the hops (§5).
 */
export const PLUMTREE_DEFAULT_TTL = 10
/**
 * Wait after the first IHAVE of a missing id before grafting. The eager copy is normally on its
 * way along the tree, a few link latencies behind the announcement at most — and announcements
 * are held up to PLUMTREE_IHAVE_DELAY_MS before they leave, which gives the tree's copy that
 * head start too. Grafting sooner costs a duplicate and a PRUNE, later delays the repair of a
 * broken branch: 400 ms → 150 ms gave the 50-node network bench p99 512 vs 370 ms (one run each)
 * (seeds 1-3) and cost the 1,000-node simulator 0.1 copies per delivery (2.13 → 2.24).
 */
export const PLUMTREE_GRAFT_TIMEOUT_MS = 150
/**
 * IHAVEs are held this long to leave in one unit (or ride along one going anyway). The GRAFT
 * timer starts when an IHAVE arrives, so this adds to a repair's delay, never to a tree copy's.
 * In the 50-node network bench (10 msg/s) sending each at once made plumtree write about as
 * many units as flood: holding them 250 ms took its p50 from 513 to 23 ms on the one saturated
 * event loop (seed 1), CPU per delivery from 3.1 to 1.6 ms. Later, 100 vs 250 ms (seeds 1-3):
 * p50 82 vs 16 ms, p99 691 vs 508 ms; a Nagle-like variant (the first goes at once) was no better.
 */
export const PLUMTREE_IHAVE_DELAY_MS = 250
/** Wait for a grafted copy before asking the next announcer (one round trip and then some). */
export const PLUMTREE_GRAFT_RETRY_MS = 200
/** Messages kept to answer GRAFTs: ~250 B each, so a few MB; far more than a GRAFT round needs. */
export const PLUMTREE_RETAIN_MAX = 10_000
/** A GRAFT comes within a few timeouts of the IHAVE; a minute covers slow links with room. */
export const PLUMTREE_RETAIN_MS = 60_000
/** Ids announced but not yet received, tracked at once: bounds what made-up IHAVEs can cost. */
export const PLUMTREE_MAX_MISSING = 10_000
/**
 * Duplicates in a row over an eager link before it is pruned. One (the paper) splits the tree
 * when concurrent messages cut two edges of one cycle; three kept a simulated tree whole.
 */
export const PLUMTREE_PRUNE_AFTER = 3
/**
 * The longest path to the root a node follows. Where a root is gone, paths around it count up
 * (each node takes a neighbour's longer path) until they pass this, and each node then follows
 * itself until the lowest id left wins; shorter makes that quicker, but it must exceed the
 * depth of any real tree (about 7 hops at 10,000 nodes of degree 6).
 */
export const PLUMTREE_MAX_DIST = 24
/** Messages in a row the ranked tree did not bring before a timed-out GRAFT puts its link on the tree. */
export const PLUMTREE_REPAIR_AFTER = 2
/**
 * An id only announced as spent by neighbours off the tree (IHAVE TTL 0) is asked for after this
 * long: the node's own copy, or its parent's cut notice, normally comes first; it matters only
 * when that was lost.
 */
export const PLUMTREE_SPENT_WAIT_MS = 1000
