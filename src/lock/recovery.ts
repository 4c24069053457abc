/**
 * Recovery for the supervisor (main thread; it needs no reader slot). Call only after the dead
 * thread's Worker emitted 'exit': clearing the slot of a live thread would break exclusion.
 */
import {
  assertRegion,
  kMaxThreadsWord,
  kModeRw,
  kLockModeWord,
  kWriterMutexWord,
  kWriterOwnerWord,
  kWriterPendingWord,
  slotOwnerWord,
  slotStateWord,
} from '../shm/layout.js';
import { ownerWordFor } from './predicates.js';

export interface RecoverResult {
  /** A read the dead thread held was cleared (a writer waiting on it may now proceed). */
  readerCleared: boolean;
  /** The dead thread held the writer mutex (write lock, or a read lock in mutex mode); released. */
  writerReleased: boolean;
}

/**
 * Zeroes and frees every reader slot owned by `threadId`, releases the write lock / writer mutex
 * if that thread held it, and wakes whoever waits on what was released.
 *
 * The flip is one store, so a writer that died holding the write lock left the index either
 * flipped or not, never half-committed; releasing is always safe.
 */
export function recoverThread(sab: SharedArrayBuffer, threadId: number): RecoverResult {
  const i32 = assertRegion(sab);
  const owner = ownerWordFor(threadId);
  const max = Atomics.load(i32, kMaxThreadsWord);
  let readerCleared = false;
  for (let slot = 0; slot < max; slot++) {
    if (Atomics.load(i32, slotOwnerWord(slot)) !== owner) continue;
    if (Atomics.exchange(i32, slotStateWord(slot), 0) !== 0) {
      readerCleared = true;
      // Pairs with the writer's Atomics.wait on this slot (RwLock.writeLockContended): the slot
      // is 0 before the notify, and the writer's wait compares atomically, so it either sees 0
      // or is queued and woken here.
      Atomics.notify(i32, slotStateWord(slot));
    }
    Atomics.compareExchange(i32, slotOwnerWord(slot), owner, 0);
  }
  let writerReleased = false;
  if (Atomics.compareExchange(i32, kWriterOwnerWord, owner, 0) === owner) {
    writerReleased = true;
    if (Atomics.load(i32, kLockModeWord) === kModeRw) {
      Atomics.store(i32, kWriterPendingWord, 0);
      // Pairs with readers asleep on pending (RwLock.readLockContended), as in writeUnlock.
      Atomics.notify(i32, kWriterPendingWord);
    }
    Atomics.store(i32, kWriterMutexWord, 0);
    // Pairs with waiters on the mutex word (RwLock.mutexLockContended): we do not know whether
    // any marked the word 2, so wake one unconditionally; it re-marks the word if others remain.
    Atomics.notify(i32, kWriterMutexWord, 1);
  }
  return { readerCleared, writerReleased };
}
