/**
 * A metered file: fixed-size chunks under a SHA-256 merkle root that the provider commits to
 * in its TERMS, so the client can check every chunk it paid for, as it arrives.
 * Leaves are H(0x00 ‖ chunk) and nodes H(0x01 ‖ left ‖ right) (no second-preimage tricks
 * between levels); an odd node is carried up unchanged.
 */
import { createHash } from 'node:crypto'

export const DEFAULT_CHUNK_SIZE = 16 * 1024

const leaf = (data: Uint8Array): Buffer => createHash('sha256').update(Buffer.from([0])).update(data).digest()
const node = (l: Uint8Array, r: Uint8Array): Buffer => createHash('sha256').update(Buffer.from([1])).update(l).update(r).digest()

export function chunksOf (content: Uint8Array, chunkSize = DEFAULT_CHUNK_SIZE): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let o = 0; o < content.length; o += chunkSize) out.push(content.subarray(o, o + chunkSize))
  return out.length === 0 ? [new Uint8Array(0)] : out
}

/** Every level of the tree, leaves first. */
function levels (chunks: readonly Uint8Array[]): Buffer[][] {
  const out = [chunks.map(leaf)]
  while (out.at(-1)!.length > 1) {
    const below = out.at(-1)!
    const up: Buffer[] = []
    for (let i = 0; i < below.length; i += 2) up.push(i + 1 < below.length ? node(below[i]!, below[i + 1]!) : below[i]!)
    out.push(up)
  }
  return out
}

export class MerkleFile {
  readonly chunks: Uint8Array[]
  readonly root: Buffer
  readonly size: number
  readonly chunkSize: number
  private readonly tree: Buffer[][]

  constructor (content: Uint8Array, chunkSize = DEFAULT_CHUNK_SIZE) {
    this.size = content.length
    this.chunkSize = chunkSize
    this.chunks = chunksOf(content, chunkSize)
    this.tree = levels(this.chunks)
    this.root = this.tree.at(-1)![0]!
  }

  /** Sibling hashes from the leaf up; a level where the node had no sibling contributes nothing. */
  proof (index: number): Buffer[] {
    const out: Buffer[] = []
    let i = index
    for (const level of this.tree.slice(0, -1)) {
      const sibling = i % 2 === 0 ? i + 1 : i - 1
      if (sibling < level.length) out.push(level[sibling]!)
      i = Math.floor(i / 2)
    }
    return out
  }
}

/** Checks a chunk against the committed root, knowing the chunk count (which fixes the tree's shape). */
export function verifyChunk (root: Uint8Array, count: number, index: number, data: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (index < 0 || index >= count) return false
  let h = leaf(data)
  let i = index
  let width = count
  let p = 0
  while (width > 1) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1
    if (sibling < width) {
      const s = proof[p++]
      if (s === undefined || s.length !== 32) return false
      h = i % 2 === 0 ? node(h, s) : node(s, h)
    }
    i = Math.floor(i / 2)
    width = Math.ceil(width / 2)
  }
  return p === proof.length && Buffer.compare(h, Buffer.from(root)) === 0
}
