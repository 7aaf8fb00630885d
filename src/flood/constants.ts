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
/** Own messages and replies are never evicted; past this they are refused with an error. */
export const DEFAULT_QUEUE_MAX_PRIORITY_BYTES = 8 * 1024 * 1024
/**
 * Bytes per unit the router writes (the protocol allows 1 MiB). Larger units save little once
 * per-unit costs are amortised, and smaller ones let the next hop start forwarding sooner.
 */
export const FLUSH_UNIT_BYTES = 128 * 1024
/** Per-neighbour rate limit. Far above chat needs, below what a single core can relay. */
export const DEFAULT_RATE_MESSAGES_PER_SECOND = 20_000
export const DEFAULT_RATE_BURST = 40_000
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
