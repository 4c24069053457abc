/**
 * Thread body for bench/lock.bench.ts. workerData: { kind: 'fleet' | 'baseline', sab, ctl }.
 * ctl words: 0 start flag, 1 stop flag, 2 ready count, 3.. per-thread op counts (index = id).
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { RwLock } from '../src/lock/rwlock.js';
import { BaselineRwLock } from './baseline-rwlock.js';

const { kind, sab, ctl: ctlBuf, baseSab, id } = workerData as {
  kind: 'fleet' | 'baseline';
  sab: SharedArrayBuffer;
  baseSab: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  id: number;
};
const ctl = new Int32Array(ctlBuf);
const data = new Int32Array(sab, 0, 16);

Atomics.add(ctl, 2, 1);
Atomics.notify(ctl, 2);
while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0);

let ops = 0;
let sink = 0;
if (kind === 'fleet') {
  const lock = RwLock.attach(sab, { threadId });
  while (Atomics.load(ctl, 1) === 0) {
    for (let k = 0; k < 256; k++) {
      lock.readLock();
      sink += data[4]!; // the critical section: read a shared word
      lock.readUnlock();
    }
    ops += 256;
  }
  lock.release();
} else {
  const lock = new BaselineRwLock(baseSab, 0);
  while (Atomics.load(ctl, 1) === 0) {
    for (let k = 0; k < 256; k++) {
      lock.readLock();
      sink += data[4]!;
      lock.readUnlock();
    }
    ops += 256;
  }
}
Atomics.store(ctl, 3 + id, ops);
parentPort!.postMessage({ ops, sink });
