/**
 * Cross-thread lock behaviour with real worker threads: misuse messages (in a throwaway worker),
 * no writer starvation, recovery of a terminated reader and of a terminated writer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { RwLock, kMisuse, recoverThread, LockTimeoutError, readLockStats } from '../../src/lock/index.js';
import { IndexReader } from '../../src/index/reader.js';
import { createSharedRegion, headInt32, kWriterPendingWord } from '../../src/shm/layout.js';
import { kCtlReady, kCtlStop, newCtl } from '../workers/fixtures.js';
import { eventually } from '../helpers/server.js';
import { spawnLockWorker, waitCtl } from '../workers/spawn.js';

const started: Worker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.terminate()));
});
function spawn<T>(data: Record<string, unknown>) {
  const s = spawnLockWorker<T>(data);
  started.push(s.worker);
  return s;
}

describe('RwLock across threads', () => {
  it('misuse throws LockMisuseError with its fixed message (throwaway worker)', async () => {
    const sab = createSharedRegion();
    const ctl = newCtl();
    const { result } = spawn<{ results: [string, string, string][]; expected: typeof kMisuse }>({ role: 'misuse', sab, ctl: ctl.buffer });
    const { results } = await result;
    const got = Object.fromEntries(results.map(([c, name, message]) => [c, { name, message }]));
    const expected: Record<string, string> = {
      readUnlockWithoutLock: kMisuse.readUnlockWithoutLock,
      writeUnlockWithoutLock: kMisuse.writeUnlockWithoutLock,
      recursiveReadLock: kMisuse.recursiveReadLock,
      writeWhileReading: kMisuse.writeWhileReading,
      recursiveWriteLock: kMisuse.recursiveWriteLock,
      readWhileWriting: kMisuse.readWhileWriting,
      badTimeout: kMisuse.badTimeout,
      releaseWhileHeld: kMisuse.releaseWhileHeld,
      released: kMisuse.released,
      releasedWrite: kMisuse.released,
    };
    for (const [c, message] of Object.entries(expected)) expect(got[c], c).toEqual({ name: 'LockMisuseError', message });
    expect(kMisuse.readUnlockWithoutLock).toBe('rwlock: readUnlock without readLock');
  });

  it('a writer is not starved by readers that never stop', async () => {
    const sab = createSharedRegion();
    const ctl = newCtl();
    const readers = [0, 1, 2, 3].map(() => spawn<{ ops: number }>({ role: 'spinReader', sab, ctl: ctl.buffer, holdUs: 30 }));
    await waitCtl(ctl, kCtlReady, 4);
    // The writer comes in once every reader has been inside the lock (their stats lines count it).
    await eventually(async () => readLockStats(sab).perThread.filter((t) => t.acquisitions > 0).length === 4, 10_000, 1);
    const writer = spawn<{ acquired: number; maxWaitMs: number }>({ role: 'countWriter', sab, ctl: ctl.buffer, count: 100, timeoutMs: 15_000 });
    const w = await writer.result;
    Atomics.store(ctl, kCtlStop, 1);
    const ops = (await Promise.all(readers.map((r) => r.result))).map((r) => r.ops);
    expect(w.acquired).toBe(100);
    for (const n of ops) expect(n).toBeGreaterThan(0);
  }, 30_000);

  it('a new reader waits behind a pending writer, even while another reader is inside (writer preference)', async () => {
    const sab = createSharedRegion();
    const ctl = newCtl();
    const holder = spawn<{ released: boolean }>({ role: 'holdReadUntilStop', sab, ctl: ctl.buffer });
    await waitCtl(ctl, kCtlReady, 1);
    const writer = spawn<{ acquired: number }>({ role: 'countWriter', sab, ctl: ctl.buffer, count: 1, timeoutMs: 15_000 });
    // The writer is pending once it has set the word; the holder's read lock keeps it from entering.
    await waitCtl(headInt32(sab), kWriterPendingWord, 1);
    const me = RwLock.attach(sab, { threadId: 9997 });
    // A reader-preferring lock would let a second reader join the first; this one refuses it.
    expect(me.tryReadLock()).toBe(false);
    let writeLocksWhenGranted = -1;
    const read = me.readLockAsync(15_000).then(() => {
      writeLocksWhenGranted = readLockStats(sab).totals.writeLocks;
    });
    Atomics.store(ctl, kCtlStop, 1);
    Atomics.notify(ctl, kCtlStop); // pairs with holdReadUntilStop's wait on kCtlStop
    expect((await holder.result).released).toBe(true);
    expect((await writer.result).acquired).toBe(1);
    await read;
    // The waiting reader was let in only after the pending writer had taken (and left) the lock.
    expect(writeLocksWhenGranted).toBe(1);
    me.readUnlock();
  }, 30_000);

  it('a reader terminated while holding its slot is recovered; the waiting writer then commits', async () => {
    const sab = createSharedRegion();
    const ctl = newCtl();
    const holder = spawn({ role: 'holdRead', sab, ctl: ctl.buffer });
    await waitCtl(ctl, kCtlReady, 1);
    const pub = spawn<{ generation: number }>({ role: 'publishOnce', sab, ctl: ctl.buffer, entries: 3 });
    await waitCtl(ctl, kCtlReady, 2);
    const probe = RwLock.attach(sab, { threadId: 9999 });
    const reader = new IndexReader(sab, probe);
    // The publisher is blocked in writeLock behind the holder: nothing commits.
    expect(await reader.waitForGeneration(1, 200)).toBe(false);
    await holder.worker.terminate();
    await holder.exited;
    expect(recoverThread(sab, holder.threadId)).toEqual({ readerCleared: true, writerReleased: false });
    expect((await pub.result).generation).toBe(1);
    expect(await reader.waitForGeneration(1, 10_000)).toBe(true);
    expect(reader.list().map((e) => e.description)).toEqual(['tag:published', 'tag:published', 'tag:published']);
    expect(recoverThread(sab, holder.threadId)).toEqual({ readerCleared: false, writerReleased: false });
  }, 30_000);

  it.each(['rw', 'mutex'] as const)('a writer terminated while holding the write lock is released (%s)', async (mode) => {
    const sab = createSharedRegion({ mode });
    const ctl = newCtl();
    const holder = spawn({ role: 'holdWrite', sab, ctl: ctl.buffer });
    await waitCtl(ctl, kCtlReady, 1);
    const me = RwLock.attach(sab, { threadId: 9998 });
    expect(() => me.readLock(30)).toThrow(LockTimeoutError);
    await holder.worker.terminate();
    await holder.exited;
    expect(recoverThread(sab, holder.threadId)).toEqual({ readerCleared: false, writerReleased: true });
    me.readLock(5_000);
    me.readUnlock();
    me.writeLock(5_000);
    me.writeUnlock();
  }, 30_000);
});
