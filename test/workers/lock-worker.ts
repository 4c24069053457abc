/**
 * Worker fixture for the lock and index suites. workerData: { role, sab, ctl, ...params }.
 * Posts one result object (or { error }) and exits, except roles that block until terminated.
 */
import { parentPort, workerData, threadId } from 'node:worker_threads';
import { RwLock } from '../../src/lock/rwlock.js';
import { IndexReader } from '../../src/index/reader.js';
import { IndexWriter } from '../../src/index/writer.js';
import { kMisuse } from '../../src/lock/errors.js';
import { kCtlActivity, kCtlReady, kCtlStop, makeEntry, rng } from './fixtures.js';

interface Params {
  role: string;
  sab: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  durationMs?: number;
  seed?: number;
  count?: number;
  holdUs?: number;
  timeoutMs?: number;
  entries?: number;
}

const p = workerData as Params;
const ctl = new Int32Array(p.ctl);

function spinUs(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end);
}

function signalReady(): void {
  Atomics.add(ctl, kCtlReady, 1);
  Atomics.notify(ctl, kCtlReady);
}

function blockForever(): never {
  for (;;) Atomics.wait(ctl, kCtlStop, Atomics.load(ctl, kCtlStop));
}

const roles: Record<string, () => unknown> = {
  /** Reader: invariant on every acquisition, then a checked lookup (head or whole) or list. */
  hammerReader() {
    const lock = RwLock.attach(p.sab, { threadId });
    const reader = new IndexReader(p.sab, lock, { cacheEntries: 0 });
    const rand = rng(p.seed!);
    const n = p.entries!;
    let ops = 0;
    let violations = 0;
    let tornErrors = 0;
    let lookups = 0;
    const firstViolations: string[] = [];
    const note = (s: string) => {
      violations++;
      if (firstViolations.length < 5) firstViolations.push(s);
    };
    const check = (tag: string, gen: number, what: string) => {
      if (tag !== `tag:${gen}`) note(`${what}: description ${JSON.stringify(tag.slice(0, 40))} in index generation ${gen}`);
    };
    while (Atomics.load(ctl, kCtlStop) === 0) {
      lock.readLock();
      const v = Atomics.add(ctl, kCtlActivity, 1) + 1;
      if (v >= 10000) note(`reader saw activity ${v} (writer inside)`);
      // Stay inside a little (as a copy-out would) and look again: a writer must not enter.
      spinUs(2);
      const v2 = Atomics.load(ctl, kCtlActivity);
      if (v2 >= 10000) note(`reader saw activity ${v2} (writer entered while reading)`);
      Atomics.sub(ctl, kCtlActivity, 1);
      lock.readUnlock();
      ops++;
      try {
        const r = rand();
        if (r < 0.2) {
          const all = reader.list();
          lookups += all.length;
          for (const e of all) check(e.description, e.indexGeneration, 'list');
          for (let i = 1; i < all.length; i++) if (!(all[i - 1]!.name < all[i]!.name)) note('list not sorted');
        } else {
          const name = `cluster-${String(Math.floor(rand() * n)).padStart(5, '0')}`;
          // Half the lookups copy the head only (the per-request path), half the whole entry.
          const e = r < 0.6 ? reader.lookupHead(name) : reader.lookup(name);
          lookups++;
          if (e !== undefined) {
            check(e.description, e.indexGeneration, 'lookup');
            if (e.name !== name) note(`lookup ${name} returned ${e.name}`);
          }
        }
      } catch (err) {
        if ((err as Error).name === 'TornReadError') tornErrors++;
        else throw err;
      }
    }
    lock.release();
    return { ops, lookups, violations, tornErrors, firstViolations };
  },

  /** Writer: publish continuously (entry sizes vary per commit), plus a checked write lock. */
  hammerWriter() {
    const lock = RwLock.attach(p.sab, { threadId });
    const writer = new IndexWriter(p.sab, lock);
    const rand = rng(p.seed!);
    const n = p.entries!;
    const end = performance.now() + p.durationMs!;
    let commits = 0;
    let violations = 0;
    const reader = new IndexReader(p.sab, lock);
    while (performance.now() < end) {
      const gen = reader.generation() + 1;
      const size = 50 + Math.floor(rand() * 400);
      const entries = [];
      for (let i = 0; i < n; i++) entries.push(makeEntry(i, String(gen), size + ((i * 37) % 100)));
      const r = writer.publish(entries);
      if (r.generation !== gen) violations++;
      commits++;
      lock.writeLock();
      const v = Atomics.add(ctl, kCtlActivity, 10000) + 10000;
      if (v !== 10000) violations++;
      // Hold for a while and look again: no reader (or writer) may have entered meanwhile.
      spinUs(20);
      if (Atomics.load(ctl, kCtlActivity) !== 10000) violations++;
      Atomics.sub(ctl, kCtlActivity, 10000);
      lock.writeUnlock();
    }
    lock.release();
    return { commits, violations };
  },

  /** Reader that never pauses: hold ~holdUs, release, immediately again, until stopped. */
  spinReader() {
    const lock = RwLock.attach(p.sab, { threadId });
    let ops = 0;
    signalReady();
    while (Atomics.load(ctl, kCtlStop) === 0) {
      lock.readLock();
      spinUs(p.holdUs ?? 20);
      lock.readUnlock();
      ops++;
    }
    lock.release();
    return { ops };
  },

  /** Writer taking `count` write locks with a timeout each; reports how many it got. */
  countWriter() {
    const lock = RwLock.attach(p.sab, { threadId });
    let acquired = 0;
    let maxWaitMs = 0;
    for (let i = 0; i < p.count!; i++) {
      const t0 = performance.now();
      lock.writeLock(p.timeoutMs);
      maxWaitMs = Math.max(maxWaitMs, performance.now() - t0);
      acquired++;
      lock.writeUnlock();
      spinUs(200);
    }
    lock.release();
    return { acquired, maxWaitMs };
  },

  /** Take a read lock, signal, block until terminated. */
  holdRead() {
    const lock = RwLock.attach(p.sab, { threadId });
    lock.readLock();
    signalReady();
    blockForever();
  },

  /** Take a read lock, signal, hold it until ctl[kCtlStop] != 0, then release and report. */
  holdReadUntilStop() {
    const lock = RwLock.attach(p.sab, { threadId });
    lock.readLock();
    signalReady();
    // Pairs with the test's Atomics.notify(ctl, kCtlStop) after its store of 1: wait re-checks
    // the word against 0, so a store that lands before this wait makes it return at once.
    while (Atomics.load(ctl, kCtlStop) === 0) Atomics.wait(ctl, kCtlStop, 0);
    lock.readUnlock();
    lock.release();
    return { released: true };
  },

  /** Take the write lock, signal, block until terminated. */
  holdWrite() {
    const lock = RwLock.attach(p.sab, { threadId });
    lock.writeLock();
    signalReady();
    blockForever();
  },

  /** Publish one index (blocks in writeLock while a reader holds its slot). */
  publishOnce() {
    const lock = RwLock.attach(p.sab, { threadId });
    const writer = new IndexWriter(p.sab, lock);
    const entries = [];
    for (let i = 0; i < (p.entries ?? 3); i++) entries.push(makeEntry(i, 'published'));
    signalReady();
    const r = writer.publish(entries);
    lock.release();
    return r;
  },

  /** Look a name up from another thread (growth visibility). */
  lookupOnce() {
    const lock = RwLock.attach(p.sab, { threadId });
    const reader = new IndexReader(p.sab, lock);
    const e = reader.lookup(`cluster-${String(p.count!).padStart(5, '0')}`);
    const all = reader.listSummary();
    lock.release();
    return { name: e?.name, caBytes: e?.client.caData.length, listed: all.length, generation: reader.generation() };
  },

  /** Every misuse, each caught; returns [case, name, message]. */
  misuse() {
    const out: [string, string, string][] = [];
    const run = (c: string, f: () => void) => {
      try {
        f();
        out.push([c, 'none', '']);
      } catch (e) {
        out.push([c, (e as Error).name, (e as Error).message]);
      }
    };
    const lock = RwLock.attach(p.sab, { threadId });
    run('readUnlockWithoutLock', () => lock.readUnlock());
    run('writeUnlockWithoutLock', () => lock.writeUnlock());
    run('recursiveReadLock', () => {
      lock.readLock();
      try {
        lock.readLock();
      } finally {
        lock.readUnlock();
      }
    });
    run('writeWhileReading', () => {
      lock.readLock();
      try {
        lock.writeLock();
      } finally {
        lock.readUnlock();
      }
    });
    run('recursiveWriteLock', () => {
      lock.writeLock();
      try {
        lock.writeLock();
      } finally {
        lock.writeUnlock();
      }
    });
    run('readWhileWriting', () => {
      lock.writeLock();
      try {
        lock.readLock();
      } finally {
        lock.writeUnlock();
      }
    });
    run('badTimeout', () => lock.readLock(-1));
    run('releaseWhileHeld', () => {
      lock.readLock();
      try {
        lock.release();
      } finally {
        lock.readUnlock();
      }
    });
    lock.release();
    run('released', () => lock.readLock());
    run('releasedWrite', () => lock.writeLock());
    return { results: out, expected: kMisuse };
  },
};

const role = roles[p.role];
if (!role) throw new Error(`lock-worker: unknown role ${p.role}`);
parentPort!.postMessage({ threadId, result: role() });
