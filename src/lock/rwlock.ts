/**
 * RwLock: the Atomics reader-writer lock over the shared region (words: src/shm/layout.ts,
 * writer line and reader slots; read that table first).
 *
 * ## Algorithm (mode `rw`)
 * Each thread claims a reader slot on its own 64-byte line; a reader writes only its own slot.
 *   reader:  Atomics.add(slot, 1); if Atomics.load(writerPending) == 0 → inside.
 *            else back out (sub 1, notify the slot if it became 0), wait until pending == 0, retry.
 *   unlock:  Atomics.sub(slot, 1); if it became 0 and Atomics.load(writerPending) != 0 → notify(slot).
 *   writer:  take the writer mutex (futex, 3 states); Atomics.store(writerPending, 1); then for
 *            every slot wait until Atomics.load(slot) == 0 (spin a few µs, then Atomics.wait).
 *   unlock:  Atomics.store(writerPending, 0); release the mutex; notify(writerPending, all).
 * Exclusion is the Dekker argument: the reader stores its slot then loads pending; the writer
 * stores pending then loads the slot. All four are sequentially consistent Atomics, so in the one
 * total order at least one side sees the other's store: either the reader sees pending == 1 and
 * backs out, or the writer sees the slot != 0 and waits for it. They cannot both miss.
 *
 * ## Contract (happens-before)
 * - writeUnlock's Atomics.store(writerPending, 0) is the release: every plain write made while
 *   holding the write lock (and before it: the sync worker's build of the inactive buffer)
 *   happens before any readLock whose Atomics.load(writerPending) observes that 0 or a later
 *   value, hence before the plain reads that reader makes under the lock.
 * - readUnlock's Atomics.sub(slot) is the reader's release: plain reads made under the read lock
 *   happen before the writer's Atomics.load(slot) that observes the slot idle, so a writer never
 *   overwrites bytes a reader is still reading (this is what makes reusing the old index buffer
 *   safe after the flip).
 * - Mode `mutex` gives the same edges through the mutex word (exchange on unlock, CAS on lock).
 * - Mode `none` gives none. It exists to demonstrate the race.
 *
 * ## Policy
 * - Writer preference, as Go's sync.RWMutex: once a writer is pending, new readers wait, so a
 *   stream of readers can never starve the sync worker. Writers are serialised by the mutex.
 * - No recursive read locks: a second blocking readLock in a thread that holds one throws (it
 *   deadlocks as soon as a writer is pending between the two). readLockAsync / tryReadLock may
 *   stack (an async waiter yields instead of blocking, so it cannot deadlock), but see below.
 * - Never hold a read lock across an await. Copy what you need out of shared memory, unlock,
 *   then do I/O (the copy-out accessors of src/index do exactly that).
 * - readLock / writeLock use Atomics.wait, which blocks the thread's event loop while it waits.
 *   fleetgate's own threads all use them, on purpose: a reader waits at most for one flip (a few
 *   stores) and a writer for the copy-outs in progress (µs), less than the promise and microtask
 *   a waitAsync costs, and the index's copy-out accessors are synchronous so that no read lock
 *   can be held across an await. readLockAsync / writeLockAsync (Atomics.waitAsync) are for a
 *   thread whose event loop must keep turning while a writer holds the lock for long: none of
 *   fleetgate's does, since its write hold is one flip; the lock offers them because a thread
 *   that embeds it may, and the tests hold them to the same contract. The quick path of both is
 *   the same few Atomics and never waits.
 * - Alternatives considered: a seqlock (readers retry on a version change) makes readers retry
 *   copies of multi-KB entries and cannot protect a buffer that is being reused; a single shared
 *   reader counter (bench/baseline-rwlock.ts) bounces one cache line between every core on every
 *   read; double buffering alone (no lock) cannot tell when the last reader left the old buffer.
 *   The per-slot lock plus double buffering keeps reads scalable and the write hold to one flip.
 *
 * Every Atomics operation on the lock words goes through `this.at` (src/lock/atomics.ts): the
 * global Atomics unless attach was given another implementation, as the teaching demo's step
 * mode does to let a scheduler release one operation at a time and replay an interleaving.
 *
 * Timeouts throw LockTimeoutError and leave the lock as it was. Misuse throws LockMisuseError
 * with a fixed message (kMisuse). Statistics go to this slot's stats line (src/lock/stats.ts).
 */
import {
  assertRegion,
  kLineBytes,
  kLockModes,
  kLockModeWord,
  kMaxThreadsWord,
  kModeMutex,
  kModeNone,
  kModeRw,
  kMutexFree,
  kMutexHeld,
  kMutexHeldWaiters,
  kStatAcquisitions,
  kStatContended,
  kStatThreadId,
  kStatTornReads,
  kStatWaitNs,
  kStatWriteHoldMaxNs,
  kStatWriteHoldTotalNs,
  kStatWriteLocks,
  kWordBytes,
  kWriterMutexWord,
  kWriterOwnerWord,
  kWriterPendingWord,
  slotOwnerWord,
  slotStateWord,
  type LockMode,
} from '../shm/layout.js';
import { realAtomics, type LockAtomics } from './atomics.js';
import { LockError, LockMisuseError, LockTimeoutError, kMisuse } from './errors.js';
import { hasWriterWaiting, isMutexFree, isReadLockable, isSlotIdle, isValidTimeout, mutexHasWaiters, ownerWordFor, remainingMs } from './predicates.js';
import { statsLine } from './stats.js';

/**
 * How long a writer spins on a busy reader slot before Atomics.wait (ms). A running reader
 * leaves within a copy-out (ns to a few µs), so a short spin usually avoids the futex round trip.
 * Spinning longer hurts when the slot's owner was preempted (likely with more threads than
 * cores): the spinning writer then occupies the very core the reader needs to finish, whereas
 * sleeping yields it. Measured on 2 cores with 2 nonstop readers: 5 µs gave writer-acquisition
 * p99 ~25-36 µs, 50 µs gave ~75-105 µs.
 */
const kWriterSpinMs = 0.005;
/** Spins on the writer-pending word before a backed-out reader sleeps (the write hold is a flip). */
const kReaderSpins = 200;
/** Spins on the writer mutex before sleeping. */
const kMutexSpins = 200;
const kSlotStrideWords = kLineBytes / kWordBytes;

export interface AttachOptions {
  /**
   * Thread identity recorded in the slot (worker_threads.threadId in Node; the teaching demo
   * numbers its Web Workers). Passed in, so this module imports nothing from Node.
   */
  threadId: number;
  /**
   * The Atomics the lock performs (src/lock/atomics.ts); default the real ones. The demo's step
   * mode passes gated ones. Slot claiming in attach always uses the real Atomics.
   */
  atomics?: LockAtomics;
}

export class RwLock {
  /** The region this handle locks. */
  readonly sab: SharedArrayBuffer;
  readonly threadId: number;
  /** Claimed reader slot (also the index of this handle's stats line). */
  readonly slot: number;
  readonly mode: LockMode;

  private readonly i32: Int32Array;
  private readonly at: LockAtomics;
  private readonly stats: Float64Array;
  private readonly modeCode: number;
  private readonly slotWord: number;
  private readonly ownerWord: number;
  private readonly maxThreads: number;
  private readonly slot0Word: number;
  private readHeld = 0;
  private writing = false;
  private released = false;
  private writeStart = 0;

  private constructor(sab: SharedArrayBuffer, i32: Int32Array, threadId: number, slot: number, at: LockAtomics) {
    this.sab = sab;
    this.at = at;
    this.i32 = i32;
    this.threadId = threadId;
    this.slot = slot;
    this.modeCode = Atomics.load(i32, kLockModeWord);
    const mode = kLockModes[this.modeCode];
    if (mode === undefined) throw new LockError('rwlock: corrupt lock mode word');
    this.mode = mode;
    this.slotWord = slotStateWord(slot);
    this.ownerWord = ownerWordFor(threadId);
    this.maxThreads = Atomics.load(i32, kMaxThreadsWord);
    this.slot0Word = slotStateWord(0);
    this.stats = statsLine(sab, slot);
    this.stats[kStatThreadId] = threadId;
  }

  /**
   * Claims a free reader slot for this thread (CAS of the slot's owner word from 0 to
   * threadId + 1) and returns the handle. Throws LockError when every slot is claimed.
   */
  static attach(sab: SharedArrayBuffer, opts: AttachOptions): RwLock {
    const i32 = assertRegion(sab);
    const threadId = opts?.threadId;
    if (!Number.isInteger(threadId) || threadId < 0 || threadId >= 0x7fff_ffff) {
      throw new LockError(`rwlock: threadId must be an integer in 0..2^31-2, got ${threadId}`);
    }
    const owner = ownerWordFor(threadId);
    const max = Atomics.load(i32, kMaxThreadsWord);
    for (let slot = 0; slot < max; slot++) {
      if (Atomics.compareExchange(i32, slotOwnerWord(slot), 0, owner) === 0) return new RwLock(sab, i32, threadId, slot, opts.atomics ?? realAtomics);
    }
    throw new LockError(`rwlock: no free reader slot (all ${max} are claimed)`);
  }

  /** This handle holds a read lock (possibly stacked by async acquisitions). */
  get holdsRead(): boolean {
    return this.readHeld !== 0;
  }

  get holdsWrite(): boolean {
    return this.writing;
  }

  // ---- read side --------------------------------------------------------------------------

  /** Blocking read acquisition (Atomics.wait when contended). */
  readLock(timeoutMs?: number): void {
    if (this.readHeld !== 0 || this.writing || this.released || !isValidTimeout(timeoutMs)) this.throwReadMisuse(true, timeoutMs);
    const m = this.modeCode;
    if (m === kModeRw) {
      // Dekker, reader side: publish our read in our own slot, then look for a writer.
      this.at.add(this.i32, this.slotWord, 1);
      if (!isReadLockable(this.at.load(this.i32, kWriterPendingWord))) this.readLockContended(timeoutMs);
    } else if (m === kModeMutex) {
      if (this.at.compareExchange(this.i32, kWriterMutexWord, kMutexFree, kMutexHeld) !== kMutexFree) {
        this.mutexLockContended('readLock', timeoutMs);
      }
      this.at.store(this.i32, kWriterOwnerWord, this.ownerWord);
    }
    this.readHeld = 1;
    this.stats[kStatAcquisitions]!++;
  }

  /** Slow path of readLock: a writer is pending; our slot is incremented on entry and on return. */
  private readLockContended(timeoutMs: number | undefined): void {
    const i32 = this.i32;
    const t0 = performance.now();
    const deadline = timeoutMs === undefined ? Infinity : t0 + timeoutMs;
    for (;;) {
      this.backOutRead();
      let spins = kReaderSpins;
      while (spins-- > 0 && hasWriterWaiting(this.at.load(i32, kWriterPendingWord)));
      if (hasWriterWaiting(this.at.load(i32, kWriterPendingWord))) {
        const remaining = remainingMs(deadline, performance.now());
        if (remaining === 0) {
          this.recordWait(t0);
          throw new LockTimeoutError('readLock', timeoutMs!);
        }
        // Pairs with the Atomics.notify(kWriterPendingWord) in writeUnlock / abandonWrite /
        // recoverThread, each of which stores pending = 0 before notifying. Atomics.wait
        // compares the word with 1 and enqueues us atomically with respect to notify: if the
        // store came first we get 'not-equal', otherwise we are queued before the notify runs.
        this.at.wait(i32, kWriterPendingWord, 1, remaining);
      }
      this.at.add(i32, this.slotWord, 1);
      if (isReadLockable(this.at.load(i32, kWriterPendingWord))) break;
    }
    this.recordWait(t0);
  }

  /** Drops our slot by one; wakes a writer waiting on it if that made it idle. */
  private backOutRead(): void {
    if (this.at.sub(this.i32, this.slotWord, 1) === 1) {
      // Pairs with the writer's Atomics.wait on this slot in writeLockContended: the writer
      // stored pending = 1 before loading the slot, and we saw pending != 0 after our add, so
      // a writer may be asleep on the old value; it is queued before this notify or its wait's
      // atomic compare sees 0 ('not-equal').
      this.at.notify(this.i32, this.slotWord);
    }
  }

  /** Releases one read acquisition. */
  readUnlock(): void {
    if (this.readHeld === 0) throw new LockMisuseError(kMisuse.readUnlockWithoutLock);
    this.readHeld--;
    const m = this.modeCode;
    if (m === kModeRw) {
      const i32 = this.i32;
      if (this.at.sub(i32, this.slotWord, 1) === 1 && hasWriterWaiting(this.at.load(i32, kWriterPendingWord))) {
        // Pairs with the writer's Atomics.wait on this slot. Dekker again: our sub precedes our
        // load of pending; the writer's store of pending precedes its load of the slot. If the
        // writer saw our slot busy and may sleep, it stored pending first, so we see it and
        // notify; its wait re-checks the slot atomically, so the wake-up cannot be lost.
        this.at.notify(i32, this.slotWord);
      }
    } else if (m === kModeMutex) {
      this.releaseMutex();
    }
  }

  /** Never waits: true if the read lock was taken. */
  tryReadLock(): boolean {
    if (this.writing || this.released) this.throwReadMisuse(false, undefined);
    const m = this.modeCode;
    if (m === kModeRw) {
      this.at.add(this.i32, this.slotWord, 1);
      if (!isReadLockable(this.at.load(this.i32, kWriterPendingWord))) {
        this.backOutRead();
        return false;
      }
    } else if (m === kModeMutex) {
      if (this.at.compareExchange(this.i32, kWriterMutexWord, kMutexFree, kMutexHeld) !== kMutexFree) return false;
      this.at.store(this.i32, kWriterOwnerWord, this.ownerWord);
    }
    this.readHeld++;
    this.stats[kStatAcquisitions]!++;
    return true;
  }

  /**
   * Event-loop-friendly read acquisition: waits with Atomics.waitAsync, so other tasks of the
   * thread (timers, sockets) run meanwhile. Resolve → the read lock is held; release it with
   * readUnlock before the next await.
   */
  async readLockAsync(timeoutMs?: number): Promise<void> {
    if (this.writing || this.released || !isValidTimeout(timeoutMs)) this.throwReadMisuse(false, timeoutMs);
    const m = this.modeCode;
    if (m === kModeRw) {
      this.at.add(this.i32, this.slotWord, 1);
      if (!isReadLockable(this.at.load(this.i32, kWriterPendingWord))) await this.readLockContendedAsync(timeoutMs);
    } else if (m === kModeMutex) {
      if (this.at.compareExchange(this.i32, kWriterMutexWord, kMutexFree, kMutexHeld) !== kMutexFree) {
        await this.mutexLockContendedAsync('readLock', timeoutMs);
      }
      this.at.store(this.i32, kWriterOwnerWord, this.ownerWord);
    }
    this.readHeld++;
    this.stats[kStatAcquisitions]!++;
  }

  private async readLockContendedAsync(timeoutMs: number | undefined): Promise<void> {
    const i32 = this.i32;
    const t0 = performance.now();
    const deadline = timeoutMs === undefined ? Infinity : t0 + timeoutMs;
    for (;;) {
      this.backOutRead();
      if (hasWriterWaiting(this.at.load(i32, kWriterPendingWord))) {
        const remaining = remainingMs(deadline, performance.now());
        if (remaining === 0) {
          this.recordWait(t0);
          throw new LockTimeoutError('readLock', timeoutMs!);
        }
        // Same pairing as the Atomics.wait in readLockContended (writeUnlock's notify).
        const r = this.at.waitAsync(i32, kWriterPendingWord, 1, remaining);
        if (r.async) await r.value;
      }
      this.at.add(i32, this.slotWord, 1);
      if (isReadLockable(this.at.load(i32, kWriterPendingWord))) break;
    }
    this.recordWait(t0);
  }

  // ---- write side -------------------------------------------------------------------------

  /** Blocking write acquisition: writer mutex, then wait for every reader slot to drain. */
  writeLock(timeoutMs?: number): void {
    if (this.writing || this.readHeld !== 0 || this.released || !isValidTimeout(timeoutMs)) this.throwWriteMisuse(timeoutMs);
    const m = this.modeCode;
    const t0 = performance.now();
    let contended = false;
    if (m !== kModeNone) {
      const i32 = this.i32;
      if (this.at.compareExchange(i32, kWriterMutexWord, kMutexFree, kMutexHeld) !== kMutexFree) {
        this.mutexLockContended('writeLock', timeoutMs, t0);
        contended = true;
      }
      this.at.store(i32, kWriterOwnerWord, this.ownerWord);
      if (m === kModeRw) {
        // Dekker, writer side: announce, then look at every slot.
        this.at.store(i32, kWriterPendingWord, 1);
        const busy = this.firstBusySlot(0);
        if (busy >= 0) {
          this.writeLockContended(busy, timeoutMs, t0);
          contended = true;
        }
      }
    }
    this.enterWrite(t0, contended);
  }

  /** Index of the first reader slot >= from that holds a read, or -1. */
  private firstBusySlot(from: number): number {
    const i32 = this.i32;
    for (let i = from, w = this.slot0Word + from * kSlotStrideWords; i < this.maxThreads; i++, w += kSlotStrideWords) {
      if (!isSlotIdle(this.at.load(i32, w))) return i;
    }
    return -1;
  }

  /** Slow path of writeLock: pending is set; wait for slots `from`.. to drain. */
  private writeLockContended(from: number, timeoutMs: number | undefined, t0: number): void {
    const i32 = this.i32;
    const deadline = timeoutMs === undefined ? Infinity : t0 + timeoutMs;
    for (let i = from; i >= 0; i = this.firstBusySlot(i + 1)) {
      const w = this.slot0Word + i * kSlotStrideWords;
      let v = this.at.load(i32, w);
      if (isSlotIdle(v)) continue;
      // Spin first: readers leave within µs, a futex sleep + wake costs tens of µs.
      const spinUntil = performance.now() + kWriterSpinMs;
      while (!isSlotIdle(v) && performance.now() < spinUntil) v = this.at.load(i32, w);
      while (!isSlotIdle(v)) {
        const remaining = remainingMs(deadline, performance.now());
        if (remaining === 0) {
          this.abandonWrite();
          throw new LockTimeoutError('writeLock', timeoutMs!);
        }
        // Pairs with the notify in readUnlock / backOutRead / recoverThread. A reader that
        // takes this slot to 0 then loads pending (seq-cst, after our store of 1), sees it set
        // and notifies this word. Atomics.wait compares with v and enqueues atomically w.r.t.
        // that notify: a decrement before our compare gives 'not-equal', one after finds us
        // queued. Intermediate decrements (stacked async reads) do not notify, but the last one
        // (to 0) does.
        this.at.wait(i32, w, v, remaining);
        v = this.at.load(i32, w);
      }
    }
  }

  /** Never waits: true if the write lock was taken. */
  tryWriteLock(): boolean {
    if (this.writing || this.readHeld !== 0 || this.released) this.throwWriteMisuse(undefined);
    const m = this.modeCode;
    if (m !== kModeNone) {
      const i32 = this.i32;
      if (this.at.compareExchange(i32, kWriterMutexWord, kMutexFree, kMutexHeld) !== kMutexFree) return false;
      this.at.store(i32, kWriterOwnerWord, this.ownerWord);
      if (m === kModeRw) {
        this.at.store(i32, kWriterPendingWord, 1);
        if (this.firstBusySlot(0) >= 0) {
          this.abandonWrite();
          return false;
        }
      }
    }
    this.enterWrite(performance.now(), false);
    return true;
  }

  /** Event-loop-friendly write acquisition (Atomics.waitAsync for the mutex and the readers). */
  async writeLockAsync(timeoutMs?: number): Promise<void> {
    if (this.writing || this.readHeld !== 0 || this.released || !isValidTimeout(timeoutMs)) this.throwWriteMisuse(timeoutMs);
    const m = this.modeCode;
    const t0 = performance.now();
    let contended = false;
    if (m !== kModeNone) {
      const i32 = this.i32;
      if (this.at.compareExchange(i32, kWriterMutexWord, kMutexFree, kMutexHeld) !== kMutexFree) {
        await this.mutexLockContendedAsync('writeLock', timeoutMs, t0);
        contended = true;
      }
      this.at.store(i32, kWriterOwnerWord, this.ownerWord);
      if (m === kModeRw) {
        this.at.store(i32, kWriterPendingWord, 1);
        const deadline = timeoutMs === undefined ? Infinity : t0 + timeoutMs;
        for (let i = this.firstBusySlot(0); i >= 0; i = this.firstBusySlot(i)) {
          contended = true;
          const w = this.slot0Word + i * kSlotStrideWords;
          const v = this.at.load(i32, w);
          if (isSlotIdle(v)) continue;
          const remaining = remainingMs(deadline, performance.now());
          if (remaining === 0) {
            this.abandonWrite();
            throw new LockTimeoutError('writeLock', timeoutMs!);
          }
          // Same pairing as the Atomics.wait in writeLockContended.
          const r = this.at.waitAsync(i32, w, v, remaining);
          if (r.async) await r.value;
        }
      }
    }
    this.enterWrite(t0, contended);
  }

  private enterWrite(t0: number, contended: boolean): void {
    this.writing = true;
    const s = this.stats;
    s[kStatAcquisitions]!++;
    s[kStatWriteLocks]!++;
    const now = performance.now();
    if (contended) {
      s[kStatContended]!++;
      s[kStatWaitNs]! += (now - t0) * 1e6;
    }
    this.writeStart = now;
  }

  /** Releases the write lock; wakes readers that backed out. */
  writeUnlock(): void {
    if (!this.writing) throw new LockMisuseError(kMisuse.writeUnlockWithoutLock);
    const holdNs = (performance.now() - this.writeStart) * 1e6;
    this.writing = false;
    const m = this.modeCode;
    if (m !== kModeNone) {
      if (m === kModeRw) this.at.store(this.i32, kWriterPendingWord, 0);
      this.releaseMutex();
      // Pairs with the readers' Atomics.wait(kWriterPendingWord, 1) in readLockContended: the
      // store of 0 above precedes this notify, and their wait re-checks the word atomically.
      if (m === kModeRw) this.at.notify(this.i32, kWriterPendingWord);
    }
    const s = this.stats;
    s[kStatWriteHoldTotalNs]! += holdNs;
    if (holdNs > s[kStatWriteHoldMaxNs]!) s[kStatWriteHoldMaxNs] = holdNs;
  }

  /** Undo a half-taken write lock (timeout or failed try): clear pending, wake readers, free the mutex. */
  private abandonWrite(): void {
    this.at.store(this.i32, kWriterPendingWord, 0);
    this.releaseMutex();
    // Same pairing as in writeUnlock.
    this.at.notify(this.i32, kWriterPendingWord);
  }

  // ---- writer mutex (Drepper, "Futexes are tricky", mutex 2) -------------------------------

  private mutexLockContended(op: 'readLock' | 'writeLock', timeoutMs: number | undefined, t0 = performance.now()): void {
    const i32 = this.i32;
    for (let s = 0; s < kMutexSpins; s++) {
      if (isMutexFree(this.at.load(i32, kWriterMutexWord)) && this.at.compareExchange(i32, kWriterMutexWord, kMutexFree, kMutexHeld) === kMutexFree) {
        if (op === 'readLock') this.recordWait(t0);
        return;
      }
    }
    const deadline = timeoutMs === undefined ? Infinity : t0 + timeoutMs;
    // Mark the word "held, maybe waiters" (2) and sleep while it stays 2. If the exchange
    // returns 0 the mutex was free and is now ours (in state 2: the unlock will notify once
    // more than needed, which is harmless).
    while (this.at.exchange(i32, kWriterMutexWord, kMutexHeldWaiters) !== kMutexFree) {
      const remaining = remainingMs(deadline, performance.now());
      if (remaining === 0) {
        if (op === 'readLock') this.recordWait(t0);
        throw new LockTimeoutError(op, timeoutMs!);
      }
      // Pairs with the notify in releaseMutex, which runs when the holder's exchange to 0 sees
      // 2. We stored 2 ourselves just now, so the holder's unlock sees 2 (or a later 2) and
      // notifies; the wait compares with 2 atomically, so an unlock before it gives 'not-equal'.
      this.at.wait(i32, kWriterMutexWord, kMutexHeldWaiters, remaining);
    }
    if (op === 'readLock') this.recordWait(t0);
  }

  private async mutexLockContendedAsync(op: 'readLock' | 'writeLock', timeoutMs: number | undefined, t0 = performance.now()): Promise<void> {
    const i32 = this.i32;
    const deadline = timeoutMs === undefined ? Infinity : t0 + timeoutMs;
    while (this.at.exchange(i32, kWriterMutexWord, kMutexHeldWaiters) !== kMutexFree) {
      const remaining = remainingMs(deadline, performance.now());
      if (remaining === 0) {
        if (op === 'readLock') this.recordWait(t0);
        throw new LockTimeoutError(op, timeoutMs!);
      }
      // Same pairing as the Atomics.wait in mutexLockContended.
      const r = this.at.waitAsync(i32, kWriterMutexWord, kMutexHeldWaiters, remaining);
      if (r.async) await r.value;
    }
    if (op === 'readLock') this.recordWait(t0);
  }

  private releaseMutex(): void {
    this.at.store(this.i32, kWriterOwnerWord, 0);
    if (mutexHasWaiters(this.at.exchange(this.i32, kWriterMutexWord, kMutexFree))) {
      // Pairs with the Atomics.wait(kWriterMutexWord, 2) in mutexLockContended(Async).
      this.at.notify(this.i32, kWriterMutexWord, 1);
    }
  }

  // ---- bookkeeping ------------------------------------------------------------------------

  private recordWait(t0: number): void {
    const s = this.stats;
    s[kStatContended]!++;
    s[kStatWaitNs]! += (performance.now() - t0) * 1e6;
  }

  /** @internal Counts an index checksum mismatch against this thread (src/index/reader.ts). */
  countTornRead(): void {
    this.stats[kStatTornReads]!++;
  }

  /** Frees the reader slot. The handle is unusable afterwards. Idempotent. */
  release(): void {
    if (this.released) return;
    if (this.readHeld !== 0 || this.writing) throw new LockMisuseError(kMisuse.releaseWhileHeld);
    this.released = true;
    this.at.compareExchange(this.i32, slotOwnerWord(this.slot), this.ownerWord, 0);
  }

  private throwReadMisuse(blocking: boolean, timeoutMs: number | undefined): never {
    if (this.released) throw new LockMisuseError(kMisuse.released);
    if (this.writing) throw new LockMisuseError(kMisuse.readWhileWriting);
    if (blocking && this.readHeld !== 0) throw new LockMisuseError(kMisuse.recursiveReadLock);
    if (!isValidTimeout(timeoutMs)) throw new LockMisuseError(kMisuse.badTimeout);
    throw new LockMisuseError('rwlock: unexpected state');
  }

  private throwWriteMisuse(timeoutMs: number | undefined): never {
    if (this.released) throw new LockMisuseError(kMisuse.released);
    if (this.writing) throw new LockMisuseError(kMisuse.recursiveWriteLock);
    if (this.readHeld !== 0) throw new LockMisuseError(kMisuse.writeWhileReading);
    if (!isValidTimeout(timeoutMs)) throw new LockMisuseError(kMisuse.badTimeout);
    throw new LockMisuseError('rwlock: unexpected state');
  }
}

