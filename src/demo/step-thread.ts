/**
 * Step mode's threads: fleetgate's real RwLock with gated Atomics (src/demo/gated-atomics.ts),
 * guarding a two-field record in the control memory. The writer stores one generation into field
 * a, then into field b, under the write lock; a reader loads a, then b, under the read lock, and
 * counts a torn read when they differ. Every lock operation and every field access is one step.
 */
import { RwLock } from '../lock/rwlock.js';
import { Gate, gatedAtomics } from './gated-atomics.js';
import {
  kReaderAcquiring,
  kReaderIdle,
  kReaderReading,
  kStepFieldAWord,
  kStepFieldBWord,
  kThOps,
  kThState,
  kThTorn,
  kWriterBuilding,
  kWriterCommitting,
  kWriterIdle,
  thWord,
} from './layout.js';
import type { ThreadInit, WorkerMessage } from './thread-init.js';

/**
 * The lock bounds one spin by time (the writer's kWriterSpinMs), so on a real clock the number of
 * loads a step run makes would depend on how fast the learner clicks. A step thread's clock is
 * therefore virtual: one millisecond per operation it has performed. Then the interleaving
 * depends on the step list alone, and a link replays it exactly.
 */
function attach(init: ThreadInit, gate: Gate): RwLock {
  Object.defineProperty(globalThis.performance, 'now', { value: () => gate.operations, configurable: true });
  return RwLock.attach(init.sab, { threadId: init.t + 1, atomics: gatedAtomics(gate) });
}

export function runStepReader(init: ThreadInit, post: (m: WorkerMessage) => void): void {
  const c = new Int32Array(init.ctl);
  const gate = new Gate(c, init.t);
  const lock = attach(init, gate);
  post({ type: 'started', t: init.t, slot: lock.slot });
  const state = thWord(init.t, kThState);
  for (let reads = 1, torn = 0; ; reads++) {
    Atomics.store(c, state, kReaderAcquiring);
    lock.readLock();
    Atomics.store(c, state, kReaderReading);
    gate.pass('load', 1, kStepFieldAWord);
    const a = Atomics.load(c, kStepFieldAWord);
    gate.pass('load', 1, kStepFieldBWord);
    const b = Atomics.load(c, kStepFieldBWord);
    lock.readUnlock();
    Atomics.store(c, state, kReaderIdle);
    if (a !== b) {
      Atomics.store(c, thWord(init.t, kThTorn), ++torn);
      post({ type: 'race', reader: init.t, entry: 'record', fields: { a, b }, genBefore: Math.min(a, b), genAfter: Math.max(a, b), read: reads });
    }
    Atomics.store(c, thWord(init.t, kThOps), reads);
  }
}

export function runStepWriter(init: ThreadInit, post: (m: WorkerMessage) => void): void {
  const c = new Int32Array(init.ctl);
  const gate = new Gate(c, init.t);
  const lock = attach(init, gate);
  post({ type: 'started', t: init.t, slot: lock.slot });
  const state = thWord(init.t, kThState);
  for (let gen = 1; ; gen++) {
    Atomics.store(c, state, kWriterBuilding);
    lock.writeLock();
    Atomics.store(c, state, kWriterCommitting);
    gate.pass('store', 1, kStepFieldAWord);
    Atomics.store(c, kStepFieldAWord, gen);
    gate.pass('store', 1, kStepFieldBWord);
    Atomics.store(c, kStepFieldBWord, gen);
    lock.writeUnlock();
    Atomics.store(c, state, kWriterIdle);
    Atomics.store(c, thWord(init.t, kThOps), gen);
  }
}
