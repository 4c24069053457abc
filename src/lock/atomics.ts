/**
 * The Atomics operations RwLock performs, behind an interface so that a stepping scheduler can
 * stand between the lock and memory: the teaching demo (src/demo) gives each browser thread an
 * implementation that waits on the thread's own gate word before every operation, then performs
 * the real one. The default is the global Atomics object itself, so the server's lock calls the
 * same built-ins as before through one constant property (bench:lock measures the difference).
 *
 * Only Int32Array operations, the only kind the lock uses.
 */
export interface LockAtomics {
  load(a: Int32Array, i: number): number;
  store(a: Int32Array, i: number, v: number): number;
  add(a: Int32Array, i: number, v: number): number;
  sub(a: Int32Array, i: number, v: number): number;
  exchange(a: Int32Array, i: number, v: number): number;
  compareExchange(a: Int32Array, i: number, expected: number, replacement: number): number;
  wait(a: Int32Array, i: number, v: number, timeoutMs?: number): 'ok' | 'not-equal' | 'timed-out';
  waitAsync(
    a: Int32Array,
    i: number,
    v: number,
    timeoutMs?: number,
  ): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
  notify(a: Int32Array, i: number, count?: number): number;
}

/** The real thing. */
export const realAtomics: LockAtomics = Atomics;
