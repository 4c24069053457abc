/**
 * The layout of fleetgate's one SharedArrayBuffer. Every thread imports its offsets from here;
 * `createSharedRegion` is the one factory that sizes and initialises the buffer.
 *
 * Byte offsets. "word" = Int32 (4 bytes, index = byte offset / 4); "line" = 64 bytes, the unit
 * of cache-line padding. Every region starts on a line boundary.
 *
 * | offset (bytes)            | width            | name / meaning                                   | writer                  | valid values                                   |
 * |---------------------------|------------------|--------------------------------------------------|-------------------------|------------------------------------------------|
 * | 0   (control line)        | word             | kMagicWord: region magic                         | factory                 | kRegionMagic ('FLGT')                          |
 * | 4                         | word             | kLayoutVersionWord                               | factory                 | kLayoutVersion                                 |
 * | 8                         | word             | kLockModeWord: lock mode, fixed for the buffer   | factory                 | kModeRw 0, kModeMutex 1, kModeNone 2           |
 * | 12                        | word             | kMaxThreadsWord: usable reader slots             | factory                 | 1..kMaxThreads                                 |
 * | 16                        | word             | kActiveBufferWord: which index buffer is live    | sync worker, under write lock (rw/mutex) | 0 = A, 1 = B          |
 * | 20                        | word             | kGenerationWord: index generation                | sync worker, under write lock; notified | 0 = nothing committed, then +1 per commit |
 * | 24                        | word             | kReadyWord: first commit done                    | sync worker, once       | 0, 1                                           |
 * | 28                        | word             | kCanaryWordA: canary                             | factory                 | kCanary (checkCanaries)                        |
 * | 32 + 8*b  (b = 0 A, 1 B)  | word             | kBufferOffsetWord(b): byte offset of buffer b     | sync worker (inactive b only, except none mode) | >= kIndexRegionOffset, 64-aligned |
 * | 36 + 8*b                  | word             | kBufferCapacityWord(b): byte capacity of buffer b | sync worker, same rule  | multiple of 64                                 |
 * | 64  (sync line)           | word             | kSyncRequestWord: sync-request counter (ticket)  | anyone (Atomics.add), notified | monotonic, wraps at 2^31                |
 * | 68                        | word             | kSyncServedWord: highest ticket a sync served    | sync worker, notified   | <= kSyncRequestWord                            |
 * | 128 (writer line)         | word             | kWriterMutexWord: serialises writers (futex)     | lock holders            | 0 free, 1 held, 2 held + maybe waiters         |
 * | 132                       | word             | kWriterPendingWord: writer waiting or inside     | writer mutex holder     | 0, 1                                           |
 * | 136                       | word             | kWriterOwnerWord: thread holding the mutex        | writer mutex holder, recovery | 0 none, threadId + 1                     |
 * | kReaderSlotsOffset + 64*i | line per slot    | reader slot i (i < kMaxThreads):                 |                         |                                                |
 * |   + 0                     | word             |   kSlotStateOffset: reads held by the owner      | owner only; recovery    | 0 = none, n > 0                                |
 * |   + 4                     | word             |   kSlotOwnerOffset: who claimed the slot         | attach / release (CAS), recovery | 0 free, threadId + 1                  |
 * | kStatsOffset + 64*i       | line per slot    | lock stats of slot i, 8 Float64 (kStat*)          | owner of slot i only (plain stores) | counters, monotonic               |
 * | kSyncStatsOffset          | kSyncStatsRegionBytes | reserved: sync stats, inner layout owned by src/sync/stats.ts (it uses kSyncStatsUsedBytes of it) | sync worker | — |
 * | kCanaryOffset             | line             | kCanaryWordB: canary, rest of line zero          | factory                 | kCanary                                        |
 * | kIndexRegionOffset        | rest             | index buffers A and B (layout: src/index/encoding.ts), placed by the control words above | sync worker | — |
 *
 * The head (everything below kIndexRegionOffset) never moves and never changes size, so threads
 * view it through fixed-length typed arrays (`headInt32`), which V8 optimises; only the index
 * region grows (SharedArrayBuffer.prototype.grow) and moves.
 */

/** Lock modes, as stored in kLockModeWord. */
export type LockMode = 'rw' | 'mutex' | 'none';

export const kModeRw = 0;
export const kModeMutex = 1;
export const kModeNone = 2;
export const kLockModes: readonly LockMode[] = ['rw', 'mutex', 'none'];

export const kRegionMagic = 0x54474c46; // 'FLGT' little-endian
/** 2: index entries carry the cluster's groups (src/index/encoding.ts). */
export const kLayoutVersion = 2;
export const kCanary = 0x5a5a_c0de;

export const kWordBytes = Int32Array.BYTES_PER_ELEMENT;
export const kLineBytes = 64;

/** Reader slots (and stats lines) reserved; a region may use fewer (kMaxThreadsWord). */
export const kMaxThreads = 128;
export const kDefaultMaxThreads = 64;

// ---- control line (line 0) -------------------------------------------------------------------
const kControlOffset = 0;
export const kMagicWord = kControlOffset / kWordBytes + 0;
export const kLayoutVersionWord = kMagicWord + 1;
export const kLockModeWord = kMagicWord + 2;
export const kMaxThreadsWord = kMagicWord + 3;
export const kActiveBufferWord = kMagicWord + 4;
export const kGenerationWord = kMagicWord + 5;
export const kReadyWord = kMagicWord + 6;
export const kCanaryWordA = kMagicWord + 7;
const kBufferWordsBase = kMagicWord + 8;
/** Word holding the byte offset of index buffer `b` (0 = A, 1 = B). */
export function kBufferOffsetWord(b: number): number {
  return kBufferWordsBase + 2 * b;
}
/** Word holding the byte capacity of index buffer `b`. */
export function kBufferCapacityWord(b: number): number {
  return kBufferWordsBase + 2 * b + 1;
}

// ---- sync line (line 1) ----------------------------------------------------------------------
const kSyncLineOffset = kControlOffset + kLineBytes;
export const kSyncRequestWord = kSyncLineOffset / kWordBytes + 0;
export const kSyncServedWord = kSyncRequestWord + 1;

// ---- writer line (line 2) --------------------------------------------------------------------
const kWriterLineOffset = kSyncLineOffset + kLineBytes;
export const kWriterMutexWord = kWriterLineOffset / kWordBytes + 0;
export const kWriterPendingWord = kWriterMutexWord + 1;
export const kWriterOwnerWord = kWriterMutexWord + 2;

/** Values of kWriterMutexWord (Drepper's three-state futex mutex). */
export const kMutexFree = 0;
export const kMutexHeld = 1;
export const kMutexHeldWaiters = 2;

// ---- reader slots: one line each -------------------------------------------------------------
export const kSlotBytes = kLineBytes;
export const kReaderSlotsOffset = kWriterLineOffset + kLineBytes;
export const kSlotStateOffset = 0;
export const kSlotOwnerOffset = kWordBytes;
/** Word index of reader slot `i`'s state (reads held). */
export function slotStateWord(i: number): number {
  return (kReaderSlotsOffset + i * kSlotBytes + kSlotStateOffset) / kWordBytes;
}
/** Word index of reader slot `i`'s owner (threadId + 1, 0 = free). */
export function slotOwnerWord(i: number): number {
  return (kReaderSlotsOffset + i * kSlotBytes + kSlotOwnerOffset) / kWordBytes;
}

// ---- per-slot lock stats: one line each, 8 Float64 -------------------------------------------
export const kStatsLineBytes = kLineBytes;
export const kStatsOffset = kReaderSlotsOffset + kMaxThreads * kSlotBytes;
export const kStatThreadId = 0; // threadId of the current / last owner of the slot
export const kStatAcquisitions = 1; // read + write acquisitions
export const kStatContended = 2; // acquisitions that had to wait
export const kStatWaitNs = 3; // total time spent waiting
export const kStatWriteLocks = 4; // write-lock acquisitions (= commits for the sync worker)
export const kStatWriteHoldTotalNs = 5;
export const kStatWriteHoldMaxNs = 6;
export const kStatTornReads = 7; // index checksum mismatches seen by this slot's reader
export const kStatFields = kStatsLineBytes / Float64Array.BYTES_PER_ELEMENT;
/** Byte offset of slot `i`'s stats line. */
export function statsLineOffset(i: number): number {
  return kStatsOffset + i * kStatsLineBytes;
}

// ---- reserved sync stats block (owned by src/sync/stats.ts) -----------------------------------
/** Bytes reserved for the sync stats; src/sync/stats.ts checks at load that what it uses fits. */
export const kSyncStatsRegionBytes = 1024;
export const kSyncStatsOffset = kStatsOffset + kMaxThreads * kStatsLineBytes;

// ---- canary line, then the index region ------------------------------------------------------
export const kCanaryOffset = kSyncStatsOffset + kSyncStatsRegionBytes;
export const kCanaryWordB = kCanaryOffset / kWordBytes;
/** Everything below this offset is the fixed head; index buffers live at or above it. */
export const kIndexRegionOffset = kCanaryOffset + kLineBytes;
export const kHeadBytes = kIndexRegionOffset;
export const kHeadWords = kHeadBytes / kWordBytes;

/** Default initial capacity of each index buffer. */
export const kDefaultInitialIndexBytes = 64 * 1024;
/**
 * Default maxByteLength: 10,000 entries with 4 KB configs is about 45 MB per buffer; two
 * buffers, 1.5x growth headroom each and the holes relocation leaves fit well inside 512 MiB.
 * Only address space is reserved until the buffer grows.
 */
export const kDefaultMaxByteLength = 512 * 1024 * 1024;

export function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

export interface SharedRegionOptions {
  mode?: LockMode;
  /** Reader slots usable in this region (1..kMaxThreads); default kDefaultMaxThreads. */
  maxThreads?: number;
  /** Initial byte capacity of each index buffer (rounded up to a line). */
  initialIndexBytes?: number;
  /** Upper bound the buffer may grow to. */
  maxByteLength?: number;
}

/**
 * The one factory: allocates the growable SharedArrayBuffer and writes the control words. Both
 * index buffers start unwritten; readers treat the index as empty until kReadyWord is 1 (the
 * first commit). Call on the main thread before starting workers.
 */
export function createSharedRegion(opts: SharedRegionOptions = {}): SharedArrayBuffer {
  const mode = opts.mode ?? 'rw';
  const modeCode = kLockModes.indexOf(mode);
  if (modeCode < 0) throw new RangeError(`shm: unknown lock mode "${String(mode)}" (rw, mutex, none)`);
  const maxThreads = opts.maxThreads ?? kDefaultMaxThreads;
  if (!Number.isInteger(maxThreads) || maxThreads < 1 || maxThreads > kMaxThreads) {
    throw new RangeError(`shm: maxThreads must be an integer in 1..${kMaxThreads}, got ${maxThreads}`);
  }
  const bufBytes = alignUp(Math.max(opts.initialIndexBytes ?? kDefaultInitialIndexBytes, 4 * kLineBytes), kLineBytes);
  const initial = kIndexRegionOffset + 2 * bufBytes;
  const maxByteLength = Math.max(opts.maxByteLength ?? kDefaultMaxByteLength, initial);
  if (maxByteLength > 0x7fff_ffff) throw new RangeError('shm: maxByteLength must stay below 2 GiB (offsets are Int32)');
  const sab = new SharedArrayBuffer(initial, { maxByteLength });
  const i32 = new Int32Array(sab, 0, kHeadWords);
  i32[kLayoutVersionWord] = kLayoutVersion;
  i32[kLockModeWord] = modeCode;
  i32[kMaxThreadsWord] = maxThreads;
  i32[kCanaryWordA] = kCanary;
  i32[kCanaryWordB] = kCanary;
  for (let b = 0; b < 2; b++) {
    const off = kIndexRegionOffset + b * bufBytes;
    i32[kBufferOffsetWord(b)] = off;
    i32[kBufferCapacityWord(b)] = bufBytes;
  }
  // Published last: a thread that sees the magic sees every word above (the SAB is handed to
  // workers by postMessage after this returns, which is itself a happens-before edge).
  Atomics.store(i32, kMagicWord, kRegionMagic);
  return sab;
}

/** Fixed-length Int32 view of the head (fast Atomics; the head never moves). */
export function headInt32(sab: SharedArrayBuffer): Int32Array {
  return new Int32Array(sab, 0, kHeadWords);
}

/** Throws unless `sab` is a fleetgate region of this layout version. */
export function assertRegion(sab: SharedArrayBuffer): Int32Array {
  if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < kHeadBytes) {
    throw new TypeError('shm: not a fleetgate shared region (too small or not a SharedArrayBuffer)');
  }
  const i32 = headInt32(sab);
  if (Atomics.load(i32, kMagicWord) !== kRegionMagic) throw new TypeError('shm: not a fleetgate shared region (bad magic)');
  if (i32[kLayoutVersionWord] !== kLayoutVersion) {
    throw new TypeError(`shm: layout version ${i32[kLayoutVersionWord]} != ${kLayoutVersion}`);
  }
  return i32;
}

export function readModeCode(sab: SharedArrayBuffer): number {
  return Atomics.load(assertRegion(sab), kLockModeWord);
}

/** The lock mode every thread of this region uses. */
export function readMode(sab: SharedArrayBuffer): LockMode {
  const m = kLockModes[readModeCode(sab)];
  if (m === undefined) throw new TypeError('shm: corrupt lock mode word');
  return m;
}

/** True when both canary words are intact (a stray write into the head would break one). */
export function checkCanaries(sab: SharedArrayBuffer): boolean {
  const i32 = headInt32(sab);
  return Atomics.load(i32, kCanaryWordA) === kCanary && Atomics.load(i32, kCanaryWordB) === kCanary;
}
