/**
 * A test hook, honoured only by workers started with `testHooks` (never from the CLI): take this
 * thread's lock, tell the supervisor, and block on a private gate word until the thread is
 * terminated. It lets a test kill a worker that is provably inside a read lock, or a sync worker
 * provably holding the write lock, and check that the supervisor reclaims the slot.
 */
import type { RwLock } from '../lock/index.js';
import type { MainToWorker, WorkerToMain } from './messages.js';

export function holdLockForTest(lock: RwLock, msg: Extract<MainToWorker, { type: 'test-hold' }>, post: (m: WorkerToMain) => void): never {
  if (msg.mode === 'read') lock.readLock();
  else lock.writeLock();
  post({ type: 'test-holding', mode: msg.mode });
  const gate = new Int32Array(new SharedArrayBuffer(4));
  // Nothing ever notifies this private word: the wait ends only when worker.terminate() stops the
  // thread, which is the point (a thread that dies inside the lock).
  for (;;) Atomics.wait(gate, 0, 0);
}
