/** The audit log's queue: batched writes off the caller's path, bounded memory, counted drops. */
import { describe, expect, it } from 'vitest';
import { AuditLog, type AuditRecord } from '../../src/audit/log.js';

const rec = (i: number) => ({
  kind: 'refused' as const, tokenId: null, tokenName: '', method: 'GET', route: `/api/v1/clusters/${i}`, cluster: '',
  namespace: '', pod: '', container: '', status: 401, outcome: 'invalid or revoked token', client: '127.0.0.1',
});

describe('AuditLog', () => {
  it('writes nothing on record(); one batch on flush', async () => {
    const batches: AuditRecord[][] = [];
    const log = new AuditLog({ store: { append: (b) => void batches.push([...b]), prune: () => 0 }, flushMs: 60_000 });
    for (let i = 0; i < 5; i++) log.record(rec(i));
    expect(batches).toEqual([]);
    await log.flush();
    expect(batches.map((b) => b.length)).toEqual([5]);
    expect(log.stats()).toEqual({ queued: 0, written: 5, dropped: 0 });
  });

  it('a burst beyond the queue is dropped and counted, and the log says so in a record of its own', async () => {
    const batches: AuditRecord[][] = [];
    const log = new AuditLog({ store: { append: (b) => void batches.push([...b]), prune: () => 0 }, maxQueue: 100, flushMs: 60_000 });
    for (let i = 0; i < 10_000; i++) log.record({ ...rec(i), outcome: 'x'.repeat(10_000) });
    expect(log.stats()).toMatchObject({ queued: 100, dropped: 9_900 });
    await log.flush();
    const [batch] = batches;
    expect(batch!.length).toBe(101);
    expect(batch![0]!.outcome.length).toBeLessThanOrEqual(512);
    expect(batch![100]).toMatchObject({ kind: 'dropped', outcome: '9900 audit records dropped: the queue was full' });
  });

  it('a failing store loses the batch, counts it and logs why, without throwing at the caller', async () => {
    const lines: string[] = [];
    const log = new AuditLog({ store: { append: () => { throw new Error('disk full'); }, prune: () => 0 }, log: (l) => lines.push(l), flushMs: 60_000 });
    log.record(rec(1));
    await log.flush();
    expect(log.stats().dropped).toBe(1);
    expect(lines[0]).toMatch(/writing 1 audit records failed: disk full/);
  });
});
