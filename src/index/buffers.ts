/**
 * Placement and growth of the two index buffers inside the growable SharedArrayBuffer. Only the
 * sync worker calls this, and only for the buffer it is about to write: the inactive one (rw,
 * mutex), which no reader can reach, or the active one in `none` mode, where readers may follow
 * a stale offset into old but still mapped bytes (the buffer only grows), which their bounds
 * checks and checksums catch.
 */
import {
  alignUp,
  headInt32,
  kBufferCapacityWord,
  kBufferOffsetWord,
  kIndexRegionOffset,
  kLineBytes,
} from '../shm/layout.js';

/** Growth quantum: capacities are rounded up to this. */
export const kGrowQuantum = 64 * 1024;

export class IndexCapacityError extends Error {
  override name = 'IndexCapacityError';
}

export interface BufferPlacement {
  offset: number;
  capacity: number;
}

export function bufferPlacement(sab: SharedArrayBuffer, b: number): BufferPlacement {
  const i32 = headInt32(sab);
  return { offset: Atomics.load(i32, kBufferOffsetWord(b)), capacity: Atomics.load(i32, kBufferCapacityWord(b)) };
}

/**
 * Pure placement decision for a buffer now at `cur` that needs `needed` bytes while the other
 * buffer occupies `other`. Prefers: keep in place if it fits; else the hole below the other
 * buffer (reusing space a relocation left); else extend in place if `cur` is the top buffer;
 * else move above the other buffer. Returns the new placement.
 */
export function placeBuffer(
  cur: BufferPlacement,
  other: BufferPlacement,
  needed: number,
): BufferPlacement {
  if (needed <= cur.capacity) return cur;
  const capacity = alignUp(Math.ceil(needed * 1.5), kGrowQuantum);
  const base = kIndexRegionOffset;
  if (other.offset > cur.offset) {
    // We are below the other buffer: extend up to it if that is enough.
    if (cur.offset + capacity <= other.offset) return { offset: cur.offset, capacity };
    if (base + capacity <= other.offset) return { offset: base, capacity };
    return { offset: alignUp(other.offset + other.capacity, kLineBytes), capacity };
  }
  // We are above the other buffer: reuse the hole below it if big enough, else extend in place.
  if (base + capacity <= other.offset) return { offset: base, capacity };
  return { offset: cur.offset, capacity };
}

/**
 * Makes buffer `which` at least `needed` bytes, growing the SharedArrayBuffer if the new place
 * ends beyond it. Throws IndexCapacityError beyond maxByteLength.
 */
export function ensureBufferCapacity(sab: SharedArrayBuffer, which: number, needed: number): BufferPlacement {
  const cur = bufferPlacement(sab, which);
  const other = bufferPlacement(sab, 1 - which);
  let next = placeBuffer(cur, other, needed);
  if (next === cur) return cur;
  let end = next.offset + next.capacity;
  if (end > sab.maxByteLength) {
    // Retry without headroom before giving up.
    next = { offset: next.offset, capacity: alignUp(needed, kLineBytes) };
    end = next.offset + next.capacity;
    if (end > sab.maxByteLength) {
      throw new IndexCapacityError(
        `index: the next index needs ${needed} bytes; the shared buffer cannot grow past maxByteLength ${sab.maxByteLength}`,
      );
    }
  }
  if (end > sab.byteLength) sab.grow(end);
  const i32 = headInt32(sab);
  // In rw/mutex no reader looks at the inactive buffer's words until the flip, whose Atomics
  // publish these stores. In none mode a reader may pair an old offset with a new capacity (or
  // the reverse); both stay inside the grown buffer or fail the reader's bounds checks.
  Atomics.store(i32, kBufferOffsetWord(which), next.offset);
  Atomics.store(i32, kBufferCapacityWord(which), next.capacity);
  return next;
}
