/**
 * Reader thread for the stall and writer-acquire figures of bench/lock.bench.ts: looks up and
 * copies real entries out of the shared index without pause, as an HTTP worker does, alternating
 * the head (the per-request lookup) and the whole entry (a client-cache miss), names uniformly
 * random. workerData: { sab, ctl, id, names, time }; ctl words as in lock-worker.ts (0 start,
 * 1 stop, 2 ready count). With `time` set, every read-lock acquisition the lookups make is timed
 * (the lock handle's readLock is wrapped on this instance only, so the IndexReader's own calls
 * are the ones measured) and the waits, in µs, are posted back when stopped, together with the
 * waits of the acquisitions that met a pending writer (the lock's own contended counter moved).
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { IndexReader } from '../src/index/reader.js';
import { RwLock } from '../src/lock/rwlock.js';
import { statsLine } from '../src/lock/stats.js';
import { kStatContended } from '../src/shm/layout.js';

const { sab, ctl: ctlBuf, names, time } = workerData as {
  sab: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  id: number;
  names: string[];
  time: boolean;
};
const ctl = new Int32Array(ctlBuf);
const lock = RwLock.attach(sab, { threadId });
const reader = new IndexReader(sab, lock);

let waits = new Float64Array(1 << 20);
let n = 0;
const contended: number[] = [];
if (time) {
  const readLock = lock.readLock.bind(lock);
  const line = statsLine(sab, lock.slot);
  lock.readLock = (timeoutMs?: number) => {
    const c0 = line[kStatContended]!;
    const t0 = performance.now();
    readLock(timeoutMs);
    const w = (performance.now() - t0) * 1000;
    if (n === waits.length) {
      const grown = new Float64Array(waits.length * 2);
      grown.set(waits);
      waits = grown;
    }
    waits[n++] = w;
    if (line[kStatContended] !== c0) contended.push(w);
  };
}

Atomics.add(ctl, 2, 1);
Atomics.notify(ctl, 2);
// Pairs with the main thread's Atomics.notify(ctl, 0) after it stores 1: wait() compares the word
// with 0 atomically, so a start signalled before we sleep is seen as 'not-equal'.
while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0);

let ops = 0;
let sink = 0;
let x = 0x9e3779b9 ^ (workerData as { id: number }).id;
const m = names.length;
while (Atomics.load(ctl, 1) === 0) {
  for (let k = 0; k < 64; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const name = names[x % m]!;
    const e = (k & 1) === 0 ? reader.lookupHead(name) : reader.lookup(name);
    sink += e ? e.id : 0;
  }
  ops += 64;
}
lock.release();
const out = waits.slice(0, n);
parentPort!.postMessage({ ops, sink, waits: out, contended }, [out.buffer]);
