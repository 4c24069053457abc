/**
 * GET /api/v1/admin/lock/stream (admin): the server's lock, live, as Server-Sent Events. Every
 * interval one `lock` event carries a sample of what the lock keeps in shared memory (src/shm,
 * src/lock/stats.ts, src/sync/stats.ts): which reader slots hold a read right now, the writer
 * words, and the cumulative counters with their rates since the previous sample. The teaching
 * demo's "running server" panel draws it.
 *
 * Sampling reads only: Atomics.load of the lock words and the stats lines (which their owners
 * write with plain stores; a value may be a few operations old, never torn). It takes no lock,
 * so watching the server never slows it.
 */
import { Router } from 'express';
import { readLockStats } from '../../lock/stats.js';
import {
  headInt32,
  kGenerationWord,
  kMaxThreadsWord,
  kSyncStatsRegionBytes,
  kSyncStatsOffset,
  kWriterMutexWord,
  kWriterOwnerWord,
  kWriterPendingWord,
  readMode,
  slotOwnerWord,
  slotStateWord,
} from '../../shm/layout.js';
import { SyncStats } from '../../sync/stats.js';
import { requireAdmin } from '../auth.js';

export interface LockSample {
  at: number;
  mode: string;
  generation: number;
  /** Claimed reader slots: threadId and reads held at this instant (0 = idle). */
  slots: { slot: number; threadId: number; reads: number }[];
  writerPending: number;
  writerMutex: number;
  writerOwner: number;
  acquisitions: number;
  waits: number;
  waitNs: number;
  writeLocks: number;
  writeHoldMaxNs: number;
  commits: number;
  tornReads: number;
  /** Read-lock acquisitions per second since the previous sample: every request's cluster lookup takes one. */
  readsPerSec: number;
  commitsPerSec: number;
  waitsPerSec: number;
}

export function sampleLock(sab: SharedArrayBuffer, prev: LockSample | undefined, now = Date.now()): LockSample {
  const i32 = headInt32(sab);
  const stats = readLockStats(sab);
  const slots: LockSample['slots'] = [];
  const max = Atomics.load(i32, kMaxThreadsWord);
  for (let s = 0; s < max; s++) {
    const owner = Atomics.load(i32, slotOwnerWord(s));
    if (owner !== 0) slots.push({ slot: s, threadId: owner - 1, reads: Atomics.load(i32, slotStateWord(s)) });
  }
  const t = stats.totals;
  const sample: LockSample = {
    at: now,
    mode: readMode(sab),
    generation: Atomics.load(i32, kGenerationWord),
    slots,
    writerPending: Atomics.load(i32, kWriterPendingWord),
    writerMutex: Atomics.load(i32, kWriterMutexWord),
    writerOwner: Atomics.load(i32, kWriterOwnerWord),
    acquisitions: t.acquisitions,
    waits: t.contended,
    waitNs: t.waitNs,
    writeLocks: t.writeLocks,
    writeHoldMaxNs: t.writeHoldMaxNs,
    commits: new SyncStats(sab, kSyncStatsOffset, kSyncStatsRegionBytes).read().commits,
    tornReads: t.tornReads,
    readsPerSec: 0,
    commitsPerSec: 0,
    waitsPerSec: 0,
  };
  if (prev && now > prev.at) {
    const per = 1000 / (now - prev.at);
    const reads = (x: LockSample) => x.acquisitions - x.writeLocks;
    sample.readsPerSec = Math.max(0, Math.round((reads(sample) - reads(prev)) * per));
    sample.commitsPerSec = Math.max(0, Math.round((sample.commits - prev.commits) * per * 10) / 10);
    sample.waitsPerSec = Math.max(0, Math.round((sample.waits - prev.waits) * per));
  }
  return sample;
}

export interface LockStreamOptions {
  /** Between samples (default 250 ms). */
  intervalMs?: number;
  /** A stream ends after this long (default 10 min); EventSource-style clients reconnect. */
  maxStreamMs?: number;
}

/** Mount at /api/v1/admin/lock (after authentication). */
export function lockStreamRouter(sab: SharedArrayBuffer, opts: LockStreamOptions = {}): Router {
  const intervalMs = opts.intervalMs ?? 250;
  const maxStreamMs = opts.maxStreamMs ?? 600_000;
  const router = Router();
  router.get('/stream', requireAdmin, (req, res) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    let prev: LockSample | undefined;
    const send = () => {
      prev = sampleLock(sab, prev);
      res.write(`event: lock\ndata: ${JSON.stringify(prev)}\n\n`);
    };
    send();
    const timer = setInterval(send, intervalMs);
    const end = setTimeout(() => res.end(), maxStreamMs);
    const stop = () => {
      clearInterval(timer);
      clearTimeout(end);
    };
    req.on('close', stop);
    res.on('close', stop);
  });
  return router;
}
