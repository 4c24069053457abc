/** Starting fixture threads from tests (always the compiled JS under dist/). */
import { Worker } from 'node:worker_threads';
import { distPath } from '../../src/util/paths.js';

export interface Spawned<T> {
  worker: Worker;
  threadId: number;
  /** Resolves with the worker's posted result; rejects on an error or an exit without one. */
  result: Promise<T>;
  exited: Promise<number>;
}

export function spawnLockWorker<T = unknown>(data: Record<string, unknown>): Spawned<T> {
  const worker = new Worker(distPath('test', 'workers', 'lock-worker.js'), { workerData: data });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const result = new Promise<T>((resolve, reject) => {
    worker.once('message', (m: { result: T }) => resolve(m.result));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker ${String(data.role)} exited (${code}) without a result`)));
  });
  result.catch(() => undefined);
  return { worker, threadId: worker.threadId, result, exited };
}

/** Resolves when ctl[word] >= n (waitAsync; the test thread's event loop keeps running). */
export async function waitCtl(ctl: Int32Array, word: number, n: number, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = Atomics.load(ctl, word);
    if (v >= n) return;
    const remaining = deadline - performance.now();
    if (remaining <= 0) throw new Error(`timed out waiting for ctl[${word}] >= ${n} (is ${v})`);
    const r = Atomics.waitAsync(ctl, word, v, Math.min(remaining, 100));
    if (r.async) await r.value;
  }
}
