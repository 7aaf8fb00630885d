/** Wire constants fixed by DESIGN §3–§5. Changing any of them breaks interoperability. */

/** `msg_id` is MD5(id_bytes): 16 bytes. */
export const MSG_ID_LENGTH = 16
/** A target is MD5(canonical name): 16 bytes. */
export const TARGET_LENGTH = 16
/** Default largest payload, inclusive; a node may configure a smaller one, never a larger one on the wire. */
export const DEFAULT_MAX_PAYLOAD = 16_384
/** Gnutella's historical default TTL. */
export const DEFAULT_TTL = 7
/** `ttl + hops` may never exceed this: bounds how far any message can travel. */
export const MAX_TTL_PLUS_HOPS = 16
/** PIP-0038's "big random number": between 8 and 32 random bytes. */
export const NONCE_MIN_LENGTH = 8
export const NONCE_MAX_LENGTH = 32
/** Default nonce size for messages this node creates (128 bits is collision-free in practice). */
export const DEFAULT_NONCE_LENGTH = 16
/** A compressed secp256k1 public key. */
export const SENDER_LENGTH = 33
/** A DER ECDSA secp256k1 signature is at most 72 bytes (both integers 33 bytes with padding). */
export const MAX_SIGNATURE_LENGTH = 72
/** Accept timestamps within this distance of the local clock (both directions). */
export const TIMESTAMP_WINDOW_MS = 10 * 60 * 1000
/** One length-prefixed unit on a flood stream carries at most this many bytes... */
export const MAX_FRAME_BYTES = 1024 * 1024
/** ...and at most this many messages, so a frame cannot expand into millions of objects. */
export const MAX_FRAME_MSGS = 1000
/** ...and at most this many plumtree ids (IHAVE + GRAFT, DESIGN §11), for the same reason. */
export const MAX_FRAME_CONTROL_IDS = 4096
/** The fixed 5-byte ASCII prefix of id_bytes; the "1" versions the layout. */
export const ID_BYTES_PREFIX = 'tmsg1'
/** PIP-0038's PayloadLen is one byte. */
export const PIP38_MAX_PAYLOAD = 255
