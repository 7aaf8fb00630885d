/**
 * Errors raised by the wire codecs. They are matched by `name`, never by message text.
 */

/** The bytes are not a well-formed protobuf `Frame`/`TMsg` (truncated, bad varint, over limits). */
export class FrameDecodeError extends Error {
  static name = 'FrameDecodeError'
  override name = 'FrameDecodeError'
}

/** A payload larger than the configured maximum (DESIGN §3: default 16384 bytes). */
export class PayloadTooLargeError extends Error {
  static name = 'PayloadTooLargeError'
  override name = 'PayloadTooLargeError'
  readonly size: number
  readonly max: number
  constructor (size: number, max: number) {
    super(`payload of ${size} bytes exceeds the maximum of ${max} bytes`)
    this.size = size
    this.max = max
  }
}

/** A PIP-0038 byte record that cannot be encoded or decoded (payload over 255 bytes, wrong length). */
export class Pip38RecordError extends Error {
  static name = 'Pip38RecordError'
  override name = 'Pip38RecordError'
}
