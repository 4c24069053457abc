import { describe, expect, it } from 'vitest';
import { createSharedRegion, headInt32, kSyncServedWord } from '../../src/shm/layout.js';
import {
  markSyncServed,
  requestSync,
  syncRequested,
  ticketReached,
  waitSyncRequestAsync,
  waitSyncServed,
} from '../../src/shm/sync-signal.js';

describe('sync-request signals', () => {
  it('tickets, served marks and waits', async () => {
    const sab = createSharedRegion();
    expect(syncRequested(sab)).toBe(0);
    expect(await waitSyncRequestAsync(sab, 0, 10)).toBe('timed-out');
    const t1 = requestSync(sab);
    const t2 = requestSync(sab);
    expect([t1, t2]).toEqual([1, 2]);
    expect(await waitSyncRequestAsync(sab, 0, 1000)).toBe('requested');
    expect(await waitSyncServed(sab, t1, 10)).toBe(false);
    // The wait is registered (waitAsync) before the call returns, so the mark below wakes it.
    const served = waitSyncServed(sab, t2, 10_000);
    markSyncServed(sab, t2);
    expect(await served).toBe(true);
    markSyncServed(sab, t1); // never moves backwards
    expect(Atomics.load(headInt32(sab), kSyncServedWord)).toBe(2);
  });
  it('ticketReached wraps', () => {
    expect(ticketReached(5, 5)).toBe(true);
    expect(ticketReached(4, 5)).toBe(false);
    expect(ticketReached(-0x80000000, 0x7fffffff)).toBe(true);
  });
});
