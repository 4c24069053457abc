/**
 * The audit table on PostgreSQL: the SQLite AuditRepo's queries. Appends need no NOTIFY: the
 * audit log is never in the index; each replica's workers write their own batches.
 */
import type pg from 'pg';
import type { AuditRepoApi } from '../backend.js';
import { auditPageLimit, auditRow, type AuditQuery, type AuditRecord, type AuditRow } from '../audit.js';
import { query } from './db.js';
import { pgToStoreError } from './errors.js';

const kColumns = ['at', 'kind', 'token_id', 'token_name', 'method', 'route', 'cluster', 'namespace', 'pod', 'container', 'status', 'outcome', 'client'] as const;

export class PgAuditRepo implements AuditRepoApi {
  constructor(private readonly pool: pg.Pool) {}

  async append(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    const values: unknown[] = [];
    const rows = records.map((r, i) => {
      values.push(r.at, r.kind, r.tokenId, r.tokenName, r.method, r.route, r.cluster, r.namespace, r.pod, r.container, r.status, r.outcome, r.client);
      return '(' + kColumns.map((_, k) => `$${i * kColumns.length + k + 1}`).join(', ') + ')';
    });
    try {
      await this.pool.query(`INSERT INTO audit (${kColumns.join(', ')}) VALUES ${rows.join(', ')}`, values);
    } catch (err) {
      throw pgToStoreError(err, 'writing audit records');
    }
  }

  async query(q: AuditQuery = {}): Promise<{ items: AuditRow[]; next: number | null }> {
    const limit = auditPageLimit(q.limit);
    const where = ['id > $1'];
    const args: unknown[] = [q.after ?? 0];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (q.since !== undefined) add('at >= ?', q.since);
    if (q.cluster !== undefined) add('cluster = ?', q.cluster);
    if (typeof q.token === 'number') add('token_id = ?', q.token);
    else if (typeof q.token === 'string') add('token_name = ?', q.token);
    args.push(limit + 1);
    const rows = (await query<Parameters<typeof auditRow>[0]>(this.pool, 'reading the audit log', `SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY id LIMIT $${args.length}`, args)).map(auditRow);
    const more = rows.length > limit;
    if (more) rows.length = limit;
    return { items: rows, next: more ? rows[rows.length - 1]!.id : null };
  }

  async prune(before: number): Promise<number> {
    try {
      return (await this.pool.query('DELETE FROM audit WHERE at < $1', [before])).rowCount ?? 0;
    } catch (err) {
      throw pgToStoreError(err, 'pruning the audit log');
    }
  }
}
