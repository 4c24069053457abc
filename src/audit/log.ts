/**
 * AuditLog: one per HTTP worker. record() is what the request path calls: it pushes a plain
 * object onto a bounded queue and returns; nothing is written, formatted or awaited there. A
 * timer (armed by the first record after a flush) writes the queue in one batch: one store
 * transaction, and with `stdout` one write of JSON lines.
 *
 * Bounded memory: the queue holds at most maxQueue records and every text field is cut to
 * kMaxField characters, so a burst of refusals (a scanner, a client with a revoked token in a
 * loop) costs at most a fixed amount. What does not fit is counted, and the next batch carries a
 * `dropped` record saying how many were lost, so the log itself shows its gaps; the count is also
 * in stats() (and /metrics).
 *
 * Retention: at most once a minute a flush deletes records older than retentionMs.
 */
import type { AuditRecord } from '../store/audit.js';

export type { AuditRecord } from '../store/audit.js';

export interface AuditSinkStore {
  append(records: readonly AuditRecord[]): unknown;
  prune(before: number): unknown;
}

export interface AuditLogOptions {
  /** Where records are kept (the store's audit table); absent = not kept (stdout only, or counted as dropped). */
  store?: AuditSinkStore;
  /** Also write each record as one JSON line here (`--audit-log stdout`). */
  stdout?: (text: string) => void;
  /** Records waiting for a flush before new ones are dropped. Default 10,000. */
  maxQueue?: number;
  /** How long a record may wait for its batch, ms. Default 250. */
  flushMs?: number;
  /** Records older than this are deleted, ms. Default 30 days. */
  retentionMs?: number;
  /** Problems writing the log (never a record's contents). */
  log?: (line: string) => void;
  now?: () => number;
}

export interface AuditStats {
  queued: number;
  written: number;
  dropped: number;
}

export const kDefaultAuditRetentionMs = 30 * 24 * 3_600_000;
const kMaxField = 512;
const kPruneEveryMs = 60_000;

function cut(s: string): string {
  return s.length > kMaxField ? s.slice(0, kMaxField) : s;
}

export class AuditLog {
  private queue: AuditRecord[] = [];
  private droppedSinceFlush = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private lastPrune = 0;
  private readonly maxQueue: number;
  private readonly flushMs: number;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private readonly counts: AuditStats = { queued: 0, written: 0, dropped: 0 };

  constructor(private readonly opts: AuditLogOptions = {}) {
    this.maxQueue = opts.maxQueue ?? 10_000;
    this.flushMs = opts.flushMs ?? 250;
    this.retentionMs = opts.retentionMs ?? kDefaultAuditRetentionMs;
    this.now = opts.now ?? Date.now;
  }

  /** Queues one record (O(1), no I/O). Text fields are cut to a bounded length. */
  record(r: Omit<AuditRecord, 'at'> & { at?: number }): void {
    if (this.queue.length >= this.maxQueue) {
      this.droppedSinceFlush++;
      this.counts.dropped++;
      this.arm();
      return;
    }
    this.queue.push({
      at: r.at ?? this.now(),
      kind: r.kind,
      tokenId: r.tokenId,
      tokenName: cut(r.tokenName),
      method: cut(r.method),
      route: cut(r.route),
      cluster: cut(r.cluster),
      namespace: cut(r.namespace),
      pod: cut(r.pod),
      container: cut(r.container),
      status: r.status,
      outcome: cut(r.outcome),
      client: cut(r.client),
    });
    this.arm();
  }

  stats(): AuditStats {
    return { ...this.counts, queued: this.queue.length };
  }

  private arm(): void {
    if (this.timer !== undefined || this.writing !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
    this.timer.unref?.();
  }

  /** Writes what is queued now (tests and shutdown call it; the timer does otherwise). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing !== undefined) await this.writing;
    if (this.queue.length === 0 && this.droppedSinceFlush === 0) return;
    const batch = this.queue;
    this.queue = [];
    if (this.droppedSinceFlush > 0) {
      const n = this.droppedSinceFlush;
      this.droppedSinceFlush = 0;
      batch.push({
        at: this.now(), kind: 'dropped', tokenId: null, tokenName: '', method: '', route: '', cluster: '',
        namespace: '', pod: '', container: '', status: 0, outcome: `${n} audit records dropped: the queue was full`, client: '',
      });
    }
    this.writing = this.write(batch);
    try {
      await this.writing;
    } finally {
      this.writing = undefined;
      if (this.queue.length > 0 || this.droppedSinceFlush > 0) this.arm();
    }
  }

  private async write(batch: AuditRecord[]): Promise<void> {
    if (this.opts.stdout) {
      try {
        this.opts.stdout(batch.map((r) => JSON.stringify({ ...r, time: new Date(r.at).toISOString() })).join('\n') + '\n');
      } catch (err) {
        this.problem('writing audit records to stdout', err);
      }
    }
    const store = this.opts.store;
    if (!store) return;
    try {
      await store.append(batch);
      this.counts.written += batch.length;
    } catch (err) {
      this.counts.dropped += batch.length;
      this.problem(`writing ${batch.length} audit records`, err);
    }
    const now = this.now();
    if (now - this.lastPrune >= kPruneEveryMs) {
      this.lastPrune = now;
      try {
        await store.prune(now - this.retentionMs);
      } catch (err) {
        this.problem('pruning the audit log', err);
      }
    }
  }

  private problem(what: string, err: unknown): void {
    this.opts.log?.(`audit: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
