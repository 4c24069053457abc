/**
 * The audit table on PostgreSQL: the SQLite AuditRepo's queries. Appends need no NOTIFY: the
 * audit log is never in the index; each replica's workers write their own batches.
 */
import type pg from 'pg';
import type { AuditRepoApi } from '../backend.js';
import { auditPage, auditPageQuery, auditValues, kAuditArity, kAuditInsert, type AuditQuery, type AuditRecord, type AuditRow } from '../audit.js';
import { query } from './db.js';
import { pgToStoreError } from './errors.js';

export class PgAuditRepo implements AuditRepoApi {
  constructor(private readonly pool: pg.Pool) {}

  async append(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    const values: unknown[] = [];
    const rows = records.map((r, i) => {
      values.push(...auditValues(r));
      return '(' + Array.from({ length: kAuditArity }, (_, k) => `$${i * kAuditArity + k + 1}`).join(', ') + ')';
    });
    try {
      await this.pool.query(kAuditInsert + rows.join(', '), values);
    } catch (err) {
      throw pgToStoreError(err, 'writing audit records');
    }
  }

  async query(q: AuditQuery = {}): Promise<{ items: AuditRow[]; next: number | null }> {
    const { sql, args, limit } = auditPageQuery(q, (n) => `$${n}`);
    return auditPage(await query<AuditRow>(this.pool, 'reading the audit log', sql, args), limit);
  }

  async prune(before: number): Promise<number> {
    try {
      return (await this.pool.query('DELETE FROM audit WHERE at < $1', [before])).rowCount ?? 0;
    } catch (err) {
      throw pgToStoreError(err, 'pruning the audit log');
    }
  }
}
