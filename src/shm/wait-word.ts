/**
 * The one loop behind every "wait until this shared word says so": the sync-request and served
 * tickets (sync-signal.ts) and the index generation (src/index/reader.ts). Bounded by a timeout,
 * and event-loop friendly: it sleeps with Atomics.waitAsync, so the calling thread keeps serving.
 *
 * Why no wake-up is lost, whoever the notifier is: a notifier stores the word before it notifies
 * it. Each round loads the word, tests it, and sleeps with waitAsync(word, value just tested),
 * which compares atomically with enqueueing; a store between the load and the wait makes the wait
 * return 'not-equal' at once instead of sleeping through the notify. Each caller names the
 * notify its wait pairs with.
 */

/** Resolves true once `done(word)` holds, false once `timeoutMs` has passed first. */
export async function waitWord(i32: Int32Array, index: number, done: (value: number) => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const seen = Atomics.load(i32, index);
    if (done(seen)) return true;
    const remaining = deadline - performance.now();
    if (remaining <= 0) return false;
    const r = Atomics.waitAsync(i32, index, seen, remaining);
    if (r.async) await r.value;
  }
}
