import { describe, expect, it } from 'vitest';
import {
  hasWriterWaiting,
  isMutexFree,
  isReadLockable,
  isSlotFree,
  isSlotIdle,
  isValidTimeout,
  mutexHasWaiters,
  ownerWordFor,
  remainingMs,
} from '../../src/lock/predicates.js';
import { kMutexFree, kMutexHeld, kMutexHeldWaiters } from '../../src/shm/layout.js';

describe('lock predicates (pure)', () => {
  it('writer-pending word', () => {
    expect(isReadLockable(0)).toBe(true);
    expect(isReadLockable(1)).toBe(false);
    expect(hasWriterWaiting(0)).toBe(false);
    expect(hasWriterWaiting(1)).toBe(true);
  });
  it('mutex word', () => {
    expect(isMutexFree(kMutexFree)).toBe(true);
    expect(isMutexFree(kMutexHeld)).toBe(false);
    expect(mutexHasWaiters(kMutexHeld)).toBe(false);
    expect(mutexHasWaiters(kMutexHeldWaiters)).toBe(true);
  });
  it('slots and owners', () => {
    expect(isSlotIdle(0)).toBe(true);
    expect(isSlotIdle(2)).toBe(false);
    expect(isSlotFree(0)).toBe(true);
    expect(ownerWordFor(0)).toBe(1);
    expect(ownerWordFor(41)).toBe(42);
    expect(isSlotFree(ownerWordFor(0))).toBe(false);
  });
  it('timeouts', () => {
    expect(remainingMs(10, 4)).toBe(6);
    expect(remainingMs(10, 12)).toBe(0);
    expect(remainingMs(Infinity, 5)).toBe(Infinity);
    expect(isValidTimeout(undefined)).toBe(true);
    expect(isValidTimeout(0)).toBe(true);
    expect(isValidTimeout(Infinity)).toBe(true);
    expect(isValidTimeout(-1)).toBe(false);
    expect(isValidTimeout(NaN)).toBe(false);
  });
});
