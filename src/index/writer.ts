/**
 * IndexWriter: the sync worker's side of the double-buffered index (Kite PR 436's phases):
 *   1. snapshot()  – copy out the current index under the read lock;
 *   2. publish()   – encode the complete next index into the INACTIVE buffer with no lock held
 *                    (growing / relocating that buffer if needed), then
 *   3. commit      – write lock; flip kActiveBufferWord; bump kGenerationWord; set kReadyWord;
 *                    unlock. Nothing else happens under the write lock, so its hold time does
 *                    not depend on the number of entries;
 *   4. notify kGenerationWord so waitForGeneration watchers wake.
 * Why the unlocked build is safe: a reader holds the read lock from loading the active flag until
 * it has copied out what it needs, and the flip's writeLock waits for every reader to leave; so
 * after the flip nobody can be reading the old buffer, and the next build may overwrite it.
 *
 * In `none` mode publish rewrites the ACTIVE buffer in place with no lock, as Kite's original
 * syncClusters rewrote the live map: readers tear, and count it. That mode is the demonstration.
 *
 * Exactly one IndexWriter may exist per region (the sync worker); nothing enforces it.
 */
import type { RwLock } from '../lock/rwlock.js';
import { headInt32, kActiveBufferWord, kGenerationWord, kHeadBytes, kReadyWord } from '../shm/layout.js';
import { bufferPlacement, ensureBufferCapacity } from './buffers.js';
import {
  encodeEntry,
  entryChecksumsHold,
  kGroupSeparator,
  kEntBytes,
  kEntGeneration,
  kEntHeaderBytes,
  kEntId,
  kEntNameHash,
  headEndWord,
  headStrBytes,
  headerChecksum,
  kBucketBytes,
  kBucketWords,
  kHdrChecksum,
  kHdrDefaultOffset,
  kHdrEntriesOffset,
  kHdrEntryCount,
  kHdrGeneration,
  kHdrMagic,
  kHdrOrderOffset,
  kHdrTableCapacity,
  kHdrTableOffset,
  kHdrUsedBytes,
  kIndexHeaderBytes,
  kIndexMagic,
  kStateCodes,
  kStrCount,
  measureEntry,
  tableCapacityFor,
} from './encoding.js';
import { IndexInputError } from './errors.js';
import { IndexReader } from './reader.js';
import { utf8 } from './utf8.js';
import type { IndexEntry, IndexEntryInput } from './types.js';

/** The clock of the hold measurement (PublishResult.holdNs). */
const clock = performance;

/**
 * The commit's critical section: under the write lock, flip the active buffer, bump the
 * generation, set ready; returns how long the lock was held for them (ns). With `lock` null it
 * runs the same code unlocked on `head` (the rehearsal, on `rehearsal` below).
 */
function flip(lock: RwLock | null, head: Int32Array, target: number, generation: number): number {
  if (lock !== null) lock.writeLock();
  const t0 = clock.now();
  Atomics.store(head, kActiveBufferWord, target);
  Atomics.store(head, kGenerationWord, generation);
  Atomics.store(head, kReadyWord, 1);
  const holdNs = (clock.now() - t0) * 1e6;
  if (lock !== null) lock.writeUnlock();
  return holdNs;
}

export interface PublishResult {
  /** Index generation now live. */
  generation: number;
  /** How long the write lock was held for the flip, ns (0 in `none` mode). */
  holdNs: number;
}

function byName(a: IndexEntryInput, b: IndexEntryInput): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export class IndexWriter {
  readonly sab: SharedArrayBuffer;
  readonly lock: RwLock;
  private readonly head: Int32Array;
  private readonly reader: IndexReader;
  private u8: Uint8Array;
  private i32: Int32Array;
  /** Per-publish scratch (string byte lengths, entry sizes), kept so a publish allocates less. */
  private lens = new Int32Array(0);
  private sizes = new Int32Array(0);
  /** Per-publish scratch: where entry k is copied from (absolute byte offset), or -1 to encode it. */
  private olds = new Int32Array(0);
  /**
   * Where each entry of the last build sits in it (offset from that buffer's start), by object:
   * the build that is now the active buffer. The next publish copies an entry it gets again, the
   * same object, from there instead of encoding it (see publish). Empty after a `none` publish.
   */
  private built = new Map<IndexEntryInput, number>();
  /** Which buffer `built` describes. */
  private builtBuffer = -1;
  /** A private stand-in for the region's head words, the same kind of view (see publish). */
  private readonly rehearsal = headInt32(new SharedArrayBuffer(kHeadBytes, { maxByteLength: kHeadBytes }));

  constructor(sab: SharedArrayBuffer, lock: RwLock) {
    this.sab = sab;
    this.lock = lock;
    this.head = headInt32(sab);
    this.reader = new IndexReader(sab, lock);
    this.u8 = utf8.view(sab, sab.byteLength);
    this.i32 = new Int32Array(sab, 0, sab.byteLength >> 2);
  }

  /** Phase 1: the current index, copied out under the read lock. */
  snapshot(): IndexEntry[] {
    return this.reader.list();
  }

  /**
   * Phases 2-4: build the next index from `entries` and commit it.
   *
   * Entries are values: an entry object given to publish must not change afterwards (publish
   * freezes it, its client and its groups, so a change throws). That is what lets a publish copy
   * the bytes of an entry it was given last time, the same object, out of the active buffer,
   * which is the last build, with one memmove instead of measuring, encoding and checksumming it:
   * the sync worker commits probe results in batches, and at 10,000 clusters re-encoding the
   * unchanged rest (about 25 MB) was most of each commit and a fifth of the sync worker's CPU in a
   * full sync. Nobody writes the active buffer in rw and mutex mode (buffers.ts: growth moves only
   * the buffer being built), but the copy does not trust that: an entry is copied only if it is
   * intact where it was written (intactEntryBytes), else it is encoded afresh, so a commit still
   * heals an index whose bytes were damaged. In `none` mode the build is the active buffer, so
   * nothing is copied.
   */
  publish(entries: readonly IndexEntryInput[]): PublishResult {
    validateInput(entries);
    const sorted = entries.slice().sort(byName);
    // Sorted, equal names are neighbours: no Set of every name (at 10,000 entries its table is a
    // large object, mapped and unmapped on every publish).
    for (let k = 1; k < sorted.length; k++) {
      if (sorted[k]!.name === sorted[k - 1]!.name) throw new IndexInputError(`index: duplicate entry name "${sorted[k]!.name}"`);
    }
    const count = sorted.length;
    if (this.lens.length < count * kStrCount) this.lens = new Int32Array(count * kStrCount);
    if (this.sizes.length < count) this.sizes = new Int32Array(count);
    const lens = this.lens;
    const sizes = this.sizes;
    const tableCap = tableCapacityFor(count);
    const tableOff = kIndexHeaderBytes;
    const orderOff = tableOff + tableCap * kBucketBytes;
    const entriesOff = orderOff + count * 4;
    const head = this.head;
    const inPlace = this.lock.mode === 'none';
    const active = Atomics.load(head, kActiveBufferWord) & 1;
    const target = inPlace ? active : 1 - active;
    // Copy-forward source: the active buffer, when it is the last build (it is, unless a `none`
    // publish or another writer came between).
    const built = !inPlace && this.builtBuffer === active ? this.built : undefined;
    const source = bufferPlacement(this.sab, active);
    const from = source.offset;
    if (!built) this.built.clear();
    if (this.olds.length < count) this.olds = new Int32Array(count);
    const olds = this.olds;
    let used = entriesOff;
    for (let k = 0; k < count; k++) {
      const e = sorted[k]!;
      const old = built?.get(e);
      const size = old === undefined ? -1 : intactEntryBytes(this.i32, from, source.capacity, old, e);
      if (size > 0) {
        olds[k] = from + old!;
        sizes[k] = size;
      } else {
        olds[k] = -1;
        sizes[k] = measureEntry(e, lens, k * kStrCount);
        freezeEntry(e);
      }
      used += sizes[k]!;
    }

    const generation = (Atomics.load(head, kGenerationWord) + 1) | 0;
    const base = ensureBufferCapacity(this.sab, target, used).offset;
    if (this.u8.length !== this.sab.byteLength) {
      this.u8 = utf8.view(this.sab, this.sab.byteLength);
      this.i32 = new Int32Array(this.sab, 0, this.sab.byteLength >> 2);
    }
    const u8 = this.u8;
    const i32 = this.i32;
    const hw = base >> 2;

    // Phase 2: build, no lock (target is unreachable by readers, except in none mode).
    u8.fill(0, base + tableOff, base + orderOff);
    const mask = tableCap - 1;
    const tableW = (base + tableOff) >> 2;
    const orderW = (base + orderOff) >> 2;
    let defaultOff = 0;
    let pos = entriesOff;
    const next = new Map<IndexEntryInput, number>();
    for (let k = 0; k < count; k++) {
      const e = sorted[k]!;
      let hash: number;
      if (olds[k]! >= 0) {
        u8.copyWithin(base + pos, olds[k]!, olds[k]! + sizes[k]!);
        hash = i32[((base + pos) >> 2) + kEntNameHash]!;
      } else {
        hash = encodeEntry(u8, i32, base + pos, e, lens, k * kStrCount, sizes[k]!);
      }
      if (!inPlace) next.set(e, pos);
      i32[orderW + k] = pos;
      let b = hash & mask;
      while (i32[tableW + b * kBucketWords + 1] !== 0) b = (b + 1) & mask;
      i32[tableW + b * kBucketWords] = hash;
      i32[tableW + b * kBucketWords + 1] = pos;
      if (e.isDefault && defaultOff === 0) defaultOff = pos;
      pos += sizes[k]!;
    }
    i32[hw + kHdrMagic] = kIndexMagic;
    i32[hw + kHdrGeneration] = generation;
    i32[hw + kHdrEntryCount] = count;
    i32[hw + kHdrTableCapacity] = tableCap;
    i32[hw + kHdrUsedBytes] = used;
    i32[hw + kHdrTableOffset] = tableOff;
    i32[hw + kHdrOrderOffset] = orderOff;
    i32[hw + kHdrEntriesOffset] = entriesOff;
    i32[hw + kHdrDefaultOffset] = defaultOff;
    i32[hw + kHdrChecksum] = headerChecksum(i32, hw);

    // Replay what was written before anyone can see it (the writer's own verifier): the header
    // and every entry's checksum, found through the order array, so an encoder bug fails here
    // instead of as torn reads in every reader. Costs a read pass (a few ms for 10,000 entries).
    if (!inPlace) this.verifyBuild(hw, base, orderW, count, olds);

    if (inPlace) {
      this.built.clear();
      this.builtBuffer = -1;
      // none mode: the bytes above went straight into the live buffer. No lock, no flip.
      Atomics.store(head, kGenerationWord, generation);
      Atomics.store(head, kReadyWord, 1);
      Atomics.notify(head, kGenerationWord);
      return { generation, holdNs: 0 };
    }

    // Phase 3: commit. writeLock waits for every reader of the current active buffer to leave;
    // the flip then publishes the build above: its plain stores happen before writeUnlock's
    // release store, hence before the reads of any reader that enters afterwards.
    // The build streamed megabytes through the caches and evicted what the commit touches, its
    // own machine code included: run cold, the flip below held the lock for 0.6 µs (p50, 10,000
    // entries) where a small index's took 0.08. So first fetch the control line (plain loads)
    // and rehearse the flip on a private array, outside the lock; then the lock is held only
    // while warm code runs (0.08 µs p50 for both sizes; measured on the 2-core bench machine).
    void (Atomics.load(head, kActiveBufferWord) + Atomics.load(head, kGenerationWord) + Atomics.load(head, kReadyWord));
    flip(null, this.rehearsal, target, generation);
    const holdNs = flip(this.lock, head, target, generation);
    this.built = next;
    this.builtBuffer = target;
    // Phase 4: pairs with the Atomics.waitAsync in IndexReader.waitForGeneration, which sleeps
    // only while the word still equals the generation it saw (checked atomically), so a waiter
    // either sees the new generation or is queued before this notify.
    Atomics.notify(head, kGenerationWord);
    return { generation, holdNs };
  }

  /**
   * The header and every entry encoded by this build; a copied entry (olds[k] >= 0) was checked
   * where it was copied from (intactEntryBytes), and the copy is a memmove.
   */
  private verifyBuild(hw: number, base: number, orderW: number, count: number, olds: Int32Array): void {
    const i32 = this.i32;
    if (i32[hw + kHdrChecksum] !== headerChecksum(i32, hw)) throw new Error('index: built header failed verification (encoder bug)');
    for (let k = 0; k < count; k++) {
      if (olds[k]! >= 0) continue;
      const w = (base + i32[orderW + k]!) >> 2;
      const len = i32[w + kEntBytes]!;
      if (!entryChecksumsHold(i32, w, len)) throw new Error(`index: built entry ${k} failed verification (encoder bug)`);
    }
  }
}

/**
 * The size of the entry the last build wrote for `e` at `old` (bytes from the buffer start `from`,
 * which holds `capacity` bytes), if it is still intact there: its length word in bounds, its id
 * and generation those of `e`, and both checksums right. 0 when not: it is then encoded anew.
 * The checksum pass is what encoding would have cost to verify anyway, without the UTF-8
 * measuring and writing.
 */
function intactEntryBytes(i32: Int32Array, from: number, capacity: number, old: number, e: IndexEntryInput): number {
  const w = (from + old) >> 2;
  const len = i32[w + kEntBytes]!;
  if (len < kEntHeaderBytes || (len & 3) !== 0 || old + len > capacity) return 0;
  if (i32[w + kEntId] !== e.id || i32[w + kEntGeneration] !== e.generation) return 0;
  if (headEndWord(w, headStrBytes(i32, w)) > w + (len >> 2)) return 0;
  return entryChecksumsHold(i32, w, len) ? len : 0;
}

/** Makes a published entry immutable (publish's contract), groups and client included. */
function freezeEntry(e: IndexEntryInput): void {
  Object.freeze(e);
  Object.freeze(e.client);
  if (e.groups) Object.freeze(e.groups);
}

/** Per-entry checks; duplicate names are found after sorting (publish). */
function validateInput(entries: readonly IndexEntryInput[]): void {
  for (const e of entries) {
    if (typeof e.name !== 'string' || e.name.length === 0) throw new IndexInputError('index: entry name must be a non-empty string');
    if (!Number.isInteger(e.id) || e.id <= 0 || e.id > 0x7fff_ffff) {
      throw new IndexInputError(`index: entry "${e.name}" has invalid id ${e.id}`);
    }
    if (!Number.isInteger(e.generation) || e.generation < -0x8000_0000 || e.generation > 0x7fff_ffff) {
      throw new IndexInputError(`index: entry "${e.name}" has invalid generation ${e.generation}`);
    }
    if (kStateCodes.indexOf(e.state) <= 0) throw new IndexInputError(`index: entry "${e.name}" has invalid state "${e.state}"`);
    if (e.client === null || typeof e.client !== 'object') throw new IndexInputError(`index: entry "${e.name}" has no client config`);
    if (e.groups !== undefined && (!Array.isArray(e.groups) || e.groups.some((g) => typeof g !== 'string' || g === '' || g.includes(kGroupSeparator)))) {
      throw new IndexInputError(`index: entry "${e.name}" has invalid groups (non-empty names without "${kGroupSeparator}")`);
    }
  }
}
