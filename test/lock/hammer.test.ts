/**
 * Hammer (Go's HammerRWMutex, with the index): >= 4 reader threads and one writer committing
 * continuously. Readers check the activity invariant (readers add 1, the writer adds 10000) on
 * every acquisition, and every entry they copy out of the index: checksum (torn reads) and
 * consistency (each entry's description names the index generation it was read from).
 *
 * rw and mutex: zero violations, zero torn reads. none: torn reads > 0 in the same run length.
 * FLEETGATE_HAMMER_MS (default 2000) sets the run length; FLEETGATE_SEED replays a seed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { tornReads } from '../../src/lock/index.js';
import { createSharedRegion, type LockMode } from '../../src/shm/layout.js';
import { kCtlStop, newCtl, seedFromEnv } from '../workers/fixtures.js';
import { spawnLockWorker } from '../workers/spawn.js';

const kReaders = 4;
const kEntries = 64;
const durationMs = Number(process.env.FLEETGATE_HAMMER_MS ?? 2000);

interface ReaderResult {
  ops: number;
  lookups: number;
  violations: number;
  tornErrors: number;
  firstViolations: string[];
}
interface WriterResult {
  commits: number;
  violations: number;
}

const started: Worker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.terminate()));
});

async function hammer(mode: LockMode, seed: number) {
  const sab = createSharedRegion({ mode, initialIndexBytes: 4096 });
  const ctl = newCtl();
  const common = { sab, ctl: ctl.buffer, entries: kEntries };
  const readers = Array.from({ length: kReaders }, (_, i) => spawnLockWorker<ReaderResult>({ ...common, role: 'hammerReader', seed: seed + i + 1 }));
  const writer = spawnLockWorker<WriterResult>({ ...common, role: 'hammerWriter', seed, durationMs });
  started.push(writer.worker, ...readers.map((r) => r.worker));
  let w: WriterResult;
  try {
    w = await writer.result;
  } finally {
    Atomics.store(ctl, kCtlStop, 1);
  }
  const rs = await Promise.all(readers.map((r) => r.result));
  const sum = (f: (r: ReaderResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  return {
    commits: w.commits,
    writerViolations: w.violations,
    readerViolations: sum((r) => r.violations),
    tornErrors: sum((r) => r.tornErrors),
    torn: tornReads(sab),
    ops: sum((r) => r.ops),
    lookups: sum((r) => r.lookups),
    firstViolations: rs.flatMap((r) => r.firstViolations).slice(0, 5),
  };
}

describe('hammer: readers and a committing writer', () => {
  it.each(['rw', 'mutex'] as const)('%s: zero violations, zero torn reads', async (mode) => {
    const seed = seedFromEnv();
    const r = await hammer(mode, seed);
    const msg = `mode=${mode} seed=${seed} (replay: FLEETGATE_SEED=${seed}) ${JSON.stringify(r)}`;
    console.log(`hammer ${mode}: commits=${r.commits} ops=${r.ops} entries read=${r.lookups} torn=${r.torn}`);
    expect(r.commits, msg).toBeGreaterThan(10);
    expect(r.lookups, msg).toBeGreaterThan(100);
    expect(r.writerViolations, msg).toBe(0);
    expect(r.readerViolations, msg).toBe(0);
    expect(r.torn, msg).toBe(0);
    expect(r.tornErrors, msg).toBe(0);
  }, 60_000);

  it('none: the race is real, torn reads are detected', async () => {
    const seed = seedFromEnv();
    const r = await hammer('none', seed);
    const msg = `mode=none seed=${seed} (replay: FLEETGATE_SEED=${seed}) ${JSON.stringify(r)}`;
    console.log(`hammer none: commits=${r.commits} ops=${r.ops} entries read=${r.lookups} torn=${r.torn} violations=${r.readerViolations + r.writerViolations}`);
    expect(r.commits, msg).toBeGreaterThan(10);
    expect(r.torn, msg).toBeGreaterThan(0);
    expect(r.tornErrors, msg).toBe(0); // none mode counts, never throws
  }, 60_000);
});
