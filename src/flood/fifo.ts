/**
 * A first-in-first-out list with O(1) push and shift (Array#shift is O(n) on the long queues a
 * slow neighbour builds up), in a ring that is reused rather than reallocated: a relay pushes
 * and takes hundreds of thousands of copies a second through ~800 of these (one per hop count
 * per neighbour), and a growing array that is sliced off every few thousand entries made new
 * backing stores all the time — the largest share of what its young generation promoted (a
 * sampling heap profile of the memory bench's relay). The ring doubles when full; past
 * KEEP_CAPACITY it halves again once it is mostly empty, so a burst does not keep its memory
 * forever, while a queue that fills and empties every turn keeps its ring.
 */
const MIN_CAPACITY = 16
/** 16 KiB of slots: a neighbour's whole queue share (~4,000 copies) fits without shrinking. */
const KEEP_CAPACITY = 4096

export class Fifo<T> {
  private items: Array<T | undefined> = new Array<T | undefined>(MIN_CAPACITY)
  /** Index of the oldest item; the capacity is a power of two, so `& mask` wraps. */
  private head = 0
  private count = 0
  private mask = MIN_CAPACITY - 1

  get length (): number {
    return this.count
  }

  push (item: T): void {
    if (this.count > this.mask) this.resize(this.items.length * 2)
    this.items[(this.head + this.count) & this.mask] = item
    this.count++
  }

  peek (): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  shift (): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined // release the reference
    this.head = (this.head + 1) & this.mask
    this.count--
    if (this.items.length > KEEP_CAPACITY && this.count * 8 <= this.items.length) this.resize(this.items.length / 2)
    return item
  }

  /** Copies the items, oldest first, into a ring of `capacity` (a power of two >= count). */
  private resize (capacity: number): void {
    const items = new Array<T | undefined>(capacity)
    for (let i = 0; i < this.count; i++) items[i] = this.items[(this.head + i) & this.mask]
    this.items = items
    this.head = 0
    this.mask = capacity - 1
  }
}
