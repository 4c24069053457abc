/**
 * Sync requests: Kite's `syncNow` channel over two control words.
 *
 * kSyncRequestWord is a ticket counter: a thread that wants a sync (an admin write) takes a
 * ticket with Atomics.add and notifies. The sync worker waits for the counter to move, runs one
 * sync that covers every ticket issued before it started reading the table, then stores the
 * highest such ticket in kSyncServedWord and notifies. A requester waits until served >= its
 * ticket: read-your-writes without sleeping for a fixed time.
 *
 * Tickets are Int32 and wrap after 2^31 requests; comparisons use wrapping differences.
 */
import { assertRegion, headInt32, kSyncRequestWord, kSyncServedWord } from './layout.js';
import { waitWord } from './wait-word.js';

/** a >= b for wrapping Int32 counters. */
export function ticketReached(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** Asks the sync worker for a sync; returns the ticket to wait for. Never blocks. */
export function requestSync(sab: SharedArrayBuffer): number {
  const i32 = assertRegion(sab);
  const ticket = (Atomics.add(i32, kSyncRequestWord, 1) + 1) | 0;
  // Pairs with the wait in waitSyncRequestAsync. The add happens before this notify, and the
  // waiter's wait atomically re-checks the word against the value it last saw, so a sync worker
  // that read the old value either sees the new one ('not-equal') or is already queued here.
  Atomics.notify(i32, kSyncRequestWord);
  return ticket;
}

/** Current value of the request counter (the sync worker records it before reading the table). */
export function syncRequested(sab: SharedArrayBuffer): number {
  return Atomics.load(headInt32(sab), kSyncRequestWord);
}

/**
 * Sync worker: every ticket up to `ticket` is now reflected in a committed index. Never moves
 * the served mark backwards.
 */
export function markSyncServed(sab: SharedArrayBuffer, ticket: number): void {
  const i32 = headInt32(sab);
  for (;;) {
    const cur = Atomics.load(i32, kSyncServedWord);
    if (ticketReached(cur, ticket)) break;
    if (Atomics.compareExchange(i32, kSyncServedWord, cur, ticket) === cur) break;
  }
  // Pairs with the waitAsync in waitSyncServed: the store above happens before this notify, and
  // waitAsync re-checks the word against the value the waiter saw, so no waiter sleeps through it.
  Atomics.notify(i32, kSyncServedWord);
}

/**
 * Resolves true once served >= ticket, false on timeout. Uses Atomics.waitAsync, so the calling
 * thread's event loop keeps running.
 */
export function waitSyncServed(sab: SharedArrayBuffer, ticket: number, timeoutMs: number): Promise<boolean> {
  // Pairs with the notify in markSyncServed, which stores the word first (wait-word.ts says why
  // that loses no wake-up).
  return waitWord(assertRegion(sab), kSyncServedWord, (served) => ticketReached(served, ticket), timeoutMs);
}

/**
 * Sync worker: resolves once the request counter differs from `lastSeen`, or at the timeout (the
 * periodic resync). Waits with waitAsync, so the worker keeps serving its messages meanwhile.
 */
export async function waitSyncRequestAsync(sab: SharedArrayBuffer, lastSeen: number, timeoutMs: number): Promise<'requested' | 'timed-out'> {
  // Pairs with the notify in requestSync, which adds to the word first.
  const moved = await waitWord(assertRegion(sab), kSyncRequestWord, (requested) => requested !== lastSeen, timeoutMs);
  return moved ? 'requested' : 'timed-out';
}
