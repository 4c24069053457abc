/**
 * The demo's free-running threads: fleetgate's real RwLock, IndexReader and IndexWriter over a
 * real region, in a Web Worker. The writer commits the demo index (src/demo/entries.ts) at the
 * page's commit rate; each reader copies entries out one after another and checks every copy's
 * generation stamps, independently of the lock and of the index's checksums.
 *
 * Counters go to the thread's own line of the control memory with Atomics.store, for the page.
 */
import { IndexReader } from '../index/reader.js';
import { TornReadError } from '../index/errors.js';
import { IndexWriter } from '../index/writer.js';
import { RwLock } from '../lock/rwlock.js';
import { statsLine } from '../lock/stats.js';
import { headInt32, kGenerationWord, kStatContended } from '../shm/layout.js';
import { checkEntry, demoEntries, entryName } from './entries.js';
import {
  kCommitRateWord,
  kEntriesWord,
  kEntryBytesWord,
  kReaderAcquiring,
  kReaderIdle,
  kRunEpochWord,
  kThOps,
  kThState,
  kThTorn,
  kThWaits,
  kWriterBuilding,
  kWriterIdle,
  thWord,
} from './layout.js';
import type { ThreadInit, WorkerMessage } from './thread-init.js';

/** Race reports posted per reader per second at most (every torn read is still counted). */
const kReportsPerSec = 20;

export function runLiveReader(init: ThreadInit, post: (m: WorkerMessage) => void): void {
  const c = new Int32Array(init.ctl);
  const lock = RwLock.attach(init.sab, { threadId: init.t + 1 });
  post({ type: 'started', t: init.t, slot: lock.slot });
  const reader = new IndexReader(init.sab, lock, { cacheEntries: 0 });
  const head = headInt32(init.sab);
  const stats = statsLine(init.sab, lock.slot);
  const state = thWord(init.t, kThState);
  let reads = 0;
  let torn = 0;
  let waits = 0;
  let budget = kReportsPerSec;
  let budgetAt = performance.now();
  for (let i = 0; Atomics.load(c, kRunEpochWord) === init.epoch; i++) {
    const name = entryName(i % Math.max(1, Atomics.load(c, kEntriesWord)));
    Atomics.store(c, state, kReaderAcquiring);
    const genBefore = Atomics.load(head, kGenerationWord);
    let entry;
    try {
      entry = reader.lookup(name);
    } catch (err) {
      // rw / mutex: the index's own checksum caught a torn copy, a lock failure; count it too.
      if (!(err instanceof TornReadError)) throw err;
      entry = undefined;
      torn++;
    }
    const genAfter = Atomics.load(head, kGenerationWord);
    Atomics.store(c, state, kReaderIdle);
    reads++;
    const bad = entry ? checkEntry(entry, name) : null;
    if (bad) {
      torn++;
      const now = performance.now();
      if (now - budgetAt > 1000) {
        budget = kReportsPerSec;
        budgetAt = now;
      }
      if (budget-- > 0) post({ type: 'race', reader: init.t, entry: name, fields: { name: bad.name, ...bad.fields }, genBefore, genAfter, read: reads });
    }
    Atomics.store(c, thWord(init.t, kThOps), reads);
    Atomics.store(c, thWord(init.t, kThTorn), torn);
    if (stats[kStatContended] !== waits) {
      waits = stats[kStatContended]!;
      Atomics.store(c, thWord(init.t, kThWaits), waits);
    }
  }
  lock.release();
}

export function runLiveWriter(init: ThreadInit, post: (m: WorkerMessage) => void): void {
  const c = new Int32Array(init.ctl);
  const lock = RwLock.attach(init.sab, { threadId: init.t + 1 });
  post({ type: 'started', t: init.t, slot: lock.slot });
  const writer = new IndexWriter(init.sab, lock);
  const head = headInt32(init.sab);
  const stats = statsLine(init.sab, lock.slot);
  const state = thWord(init.t, kThState);
  let commits = 0;
  let next = performance.now();
  while (Atomics.load(c, kRunEpochWord) === init.epoch) {
    Atomics.store(c, state, kWriterBuilding);
    const gen = Atomics.load(head, kGenerationWord) + 1;
    writer.publish(demoEntries(Math.max(1, Atomics.load(c, kEntriesWord)), gen, Atomics.load(c, kEntryBytesWord)));
    Atomics.store(c, state, kWriterIdle);
    Atomics.store(c, thWord(init.t, kThOps), ++commits);
    Atomics.store(c, thWord(init.t, kThWaits), stats[kStatContended]!);
    const rate = Atomics.load(c, kCommitRateWord);
    if (rate <= 0) continue;
    next = Math.max(next + 1000 / rate, performance.now() - 1000);
    for (let left = next - performance.now(); left > 0; left = next - performance.now()) {
      // Pairs with the page's Atomics.notify(kCommitRateWord) after it stores a new rate: the
      // wait compares with the rate we read, so a change before it returns 'not-equal' and a
      // change during it wakes us; either way the new rate applies from the next commit.
      if (Atomics.wait(c, kCommitRateWord, rate, left) !== 'timed-out') {
        next = performance.now();
        break;
      }
    }
  }
  lock.release();
}
