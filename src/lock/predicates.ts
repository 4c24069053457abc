/**
 * Small pure predicates over the lock's state words (values as read with Atomics.load). Kept
 * apart from the Atomics code so they are unit-tested without threads; see src/shm/layout.ts
 * for the words and their valid values.
 */
import { kMutexFree, kMutexHeldWaiters } from '../shm/layout.js';

/** A reader may enter when no writer is pending (writer preference: pending blocks new readers). */
export function isReadLockable(writerPending: number): boolean {
  return writerPending === 0;
}

/** A writer holds the writer mutex and is waiting for readers to drain, or is inside. */
export function hasWriterWaiting(writerPending: number): boolean {
  return writerPending !== 0;
}

/** The writer mutex word is free. */
export function isMutexFree(mutexWord: number): boolean {
  return mutexWord === kMutexFree;
}

/** Unlocking a mutex that was in this state must notify a waiter. */
export function mutexHasWaiters(mutexWord: number): boolean {
  return mutexWord === kMutexHeldWaiters;
}

/** A reader slot holds no read lock. */
export function isSlotIdle(slotState: number): boolean {
  return slotState === 0;
}

/** A reader slot is unclaimed. */
export function isSlotFree(slotOwner: number): boolean {
  return slotOwner === 0;
}

/** Owner-word encoding of a thread id (0 is reserved for "free", so threadId 0 is stored as 1). */
export function ownerWordFor(threadId: number): number {
  return threadId + 1;
}

/** Milliseconds left until `deadline` (performance.now() time base), never negative. */
export function remainingMs(deadline: number, now: number): number {
  return deadline > now ? deadline - now : 0;
}

/** A timeout argument is acceptable: undefined (wait forever), or a number >= 0 (may be Infinity). */
export function isValidTimeout(timeoutMs: number | undefined): boolean {
  return timeoutMs === undefined || (typeof timeoutMs === 'number' && timeoutMs >= 0);
}
