/**
 * Single-thread semantics with several handles (distinct slots) in the test thread: try-acquire,
 * timeouts, waitAsync acquisition, stats, slot exhaustion. Cross-thread behaviour: threads.test.ts
 * and hammer.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { LockError, LockTimeoutError, RwLock, readLockStats } from '../../src/lock/index.js';
import { createSharedRegion, headInt32, kWriterMutexWord, kWriterOwnerWord, kWriterPendingWord, type LockMode } from '../../src/shm/layout.js';

function pair(mode: LockMode = 'rw') {
  const sab = createSharedRegion({ mode, maxThreads: 8 });
  return { sab, a: RwLock.attach(sab, { threadId: 100 }), b: RwLock.attach(sab, { threadId: 101 }) };
}

function expectIdle(sab: SharedArrayBuffer) {
  const i32 = headInt32(sab);
  expect(i32[kWriterPendingWord]).toBe(0);
  expect(i32[kWriterMutexWord]).toBe(0);
  expect(i32[kWriterOwnerWord]).toBe(0);
}

describe('RwLock, one thread, several slots', () => {
  it('try-acquire', () => {
    const { sab, a, b } = pair();
    a.readLock();
    expect(b.tryReadLock()).toBe(true);
    b.readUnlock();
    expect(b.tryWriteLock()).toBe(false);
    expectIdle(sab);
    a.readUnlock();
    expect(b.tryWriteLock()).toBe(true);
    expect(a.tryReadLock()).toBe(false);
    expect(a.tryWriteLock()).toBe(false);
    b.writeUnlock();
    expectIdle(sab);
    expect(a.tryReadLock()).toBe(true);
    a.readUnlock();
  });

  it.each(['rw', 'mutex'] as const)('timeouts throw LockTimeoutError and leave the lock usable (%s)', (mode) => {
    const { sab, a, b } = pair(mode);
    a.readLock();
    const t0 = performance.now();
    let err: unknown;
    try {
      b.writeLock(30);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as Error).message).toBe('rwlock: writeLock timed out after 30 ms');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    a.readUnlock();
    if (mode === 'rw') expectIdle(sab);
    b.writeLock(1000);
    expect(() => a.readLock(20)).toThrow(LockTimeoutError);
    expect(() => a.readLock(20)).toThrow('rwlock: readLock timed out after 20 ms');
    b.writeUnlock();
    expectIdle(sab);
    a.readLock(1000);
    a.readUnlock();
    b.writeLock(0);
    b.writeUnlock();
  });

  it('mutex mode: readers exclude each other', () => {
    const { a, b } = pair('mutex');
    a.readLock();
    expect(b.tryReadLock()).toBe(false);
    expect(() => b.readLock(10)).toThrow(LockTimeoutError);
    a.readUnlock();
    expect(b.tryReadLock()).toBe(true);
    b.readUnlock();
  });

  it('none mode: nothing excludes, everything still counts', () => {
    const { sab, a, b } = pair('none');
    a.writeLock();
    expect(b.tryWriteLock()).toBe(true);
    b.writeUnlock();
    expect(b.tryReadLock()).toBe(true);
    b.readUnlock();
    a.writeUnlock();
    expect(readLockStats(sab).totals.writeLocks).toBe(2);
    expect(readLockStats(sab).totals.acquisitions).toBe(3);
  });

  it('readLockAsync lets a timer of the same thread run while it waits', async () => {
    const { a, b } = pair();
    b.writeLock();
    let timerFired = false;
    // The writer is released by a timer of this very thread: if readLockAsync blocked the event
    // loop, the timer could never fire and the acquisition would time out instead.
    setTimeout(() => {
      timerFired = true;
      b.writeUnlock();
    }, 30);
    await a.readLockAsync(10_000);
    expect(timerFired).toBe(true);
    expect(a.holdsRead).toBe(true);
    a.readUnlock();
  });

  it('writeLockAsync waits for a reader released by a timer; async timeouts reject', async () => {
    const { sab, a, b } = pair();
    a.readLock();
    setTimeout(() => a.readUnlock(), 30);
    await b.writeLockAsync(10_000);
    expect(b.holdsWrite).toBe(true);
    await expect(a.readLockAsync(20)).rejects.toThrow(LockTimeoutError);
    b.writeUnlock();
    a.readLock();
    await expect(b.writeLockAsync(20)).rejects.toThrow('rwlock: writeLock timed out after 20 ms');
    a.readUnlock();
    expectIdle(sab);
  });

  it('async readers may stack (count) without deadlock', async () => {
    const { a, b } = pair();
    await a.readLockAsync();
    await a.readLockAsync();
    expect(b.tryWriteLock()).toBe(false);
    a.readUnlock();
    expect(b.tryWriteLock()).toBe(false);
    a.readUnlock();
    expect(b.tryWriteLock()).toBe(true);
    b.writeUnlock();
  });

  it('stats count acquisitions, contention and write holds per slot', () => {
    const { sab, a, b } = pair();
    for (let i = 0; i < 10; i++) {
      a.readLock();
      a.readUnlock();
    }
    a.readLock();
    expect(() => b.writeLock(5)).toThrow(LockTimeoutError);
    a.readUnlock();
    b.writeLock();
    b.writeUnlock();
    const s = readLockStats(sab);
    const sa = s.perThread.find((t) => t.threadId === 100)!;
    const sb = s.perThread.find((t) => t.threadId === 101)!;
    expect(sa.acquisitions).toBe(11);
    expect(sb.writeLocks).toBe(1);
    expect(sb.acquisitions).toBe(1);
    expect(sb.writeHoldMaxNs).toBeGreaterThan(0);
    expect(sb.writeHoldTotalNs).toBeGreaterThanOrEqual(sb.writeHoldMaxNs);
    expect(s.totals.acquisitions).toBe(12);
    expect(s.totals.writeLocks).toBe(1);
    expect(sa.claimed).toBe(true);
  });

  it('attach claims distinct slots, throws LockError when none is free, release frees one', () => {
    const sab = createSharedRegion({ maxThreads: 2 });
    const x = RwLock.attach(sab, { threadId: 1 });
    const y = RwLock.attach(sab, { threadId: 2 });
    expect(x.slot).not.toBe(y.slot);
    expect(() => RwLock.attach(sab, { threadId: 3 })).toThrow(LockError);
    expect(() => RwLock.attach(sab, { threadId: 3 })).toThrow('rwlock: no free reader slot (all 2 are claimed)');
    y.release();
    expect(RwLock.attach(sab, { threadId: 3 }).slot).toBe(y.slot);
  });
});
