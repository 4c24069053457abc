/**
 * The audit log table: admin writes, connection upgrades, refused requests (401/403), and a
 * `dropped` record when a worker's queue overflowed. Rows are written in batches by the HTTP
 * workers' AuditLog (src/audit/log.ts), never on the request path, and pruned by age.
 *
 * A record holds the token's id and name, never the token; the route is a path without its query.
 */
import type Database from 'better-sqlite3';
import { StoreError, toStoreError } from './errors.js';

export type AuditKind = 'admin' | 'upgrade' | 'refused' | 'dropped';

export interface AuditRecord {
  /** Epoch milliseconds. */
  at: number;
  kind: AuditKind;
  /** null when the caller had no valid token. */
  tokenId: number | null;
  tokenName: string;
  method: string;
  route: string;
  cluster: string;
  namespace: string;
  pod: string;
  container: string;
  /** HTTP status answered (101 for an upgrade that switched protocols). */
  status: number;
  /** What happened, in words: "ok", the refusal message, "42 records dropped". */
  outcome: string;
  /** The caller's address. */
  client: string;
}

export interface AuditRow extends AuditRecord {
  id: number;
}

export interface AuditQuery {
  /** Epoch ms: records at or after. */
  since?: number;
  cluster?: string;
  /** A token id, or a token name. */
  token?: number | string;
  /** Cursor: records with an id above this (the previous page's `next`). */
  after?: number;
  /** Page size, 1..kMaxAuditPage. */
  limit?: number;
}

export const kDefaultAuditPage = 100;
export const kMaxAuditPage = 1000;

/**
 * The audit table's columns with the AuditRecord field each holds, in insert order: the one list
 * both backends build their INSERT and SELECT from (a new field is one line here and a migration).
 */
const kAuditColumns = [
  ['at', 'at'],
  ['kind', 'kind'],
  ['token_id', 'tokenId'],
  ['token_name', 'tokenName'],
  ['method', 'method'],
  ['route', 'route'],
  ['cluster', 'cluster'],
  ['namespace', 'namespace'],
  ['pod', 'pod'],
  ['container', 'container'],
  ['status', 'status'],
  ['outcome', 'outcome'],
  ['client', 'client'],
] as const satisfies ReadonlyArray<readonly [string, keyof AuditRecord]>;

/** `INSERT INTO audit (…) VALUES ` without the value tuples. */
export const kAuditInsert = `INSERT INTO audit (${kAuditColumns.map(([c]) => c).join(', ')}) VALUES `;
/** How many values one record binds. */
export const kAuditArity = kAuditColumns.length;

/** A record's values, in kAuditInsert's column order. */
export function auditValues(r: AuditRecord): unknown[] {
  return kAuditColumns.map(([, f]) => r[f]);
}

/**
 * The SELECT of one page: ids above the cursor, the filters, oldest first, one row more than the
 * page so the caller knows whether another follows (auditPage). Columns are aliased to the
 * AuditRow fields, so rows come back as AuditRows. `param(n)` spells the n-th placeholder
 * (SQLite `?`, PostgreSQL `$n`). Throws StoreError('invalid') for a bad page size.
 */
export function auditPageQuery(q: AuditQuery, param: (n: number) => string): { sql: string; args: unknown[]; limit: number } {
  const limit = auditPageLimit(q.limit);
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (cond: string, v: unknown) => {
    args.push(v);
    where.push(`${cond} ${param(args.length)}`);
  };
  add('id >', q.after ?? 0);
  if (q.since !== undefined) add('at >=', q.since);
  if (q.cluster !== undefined) add('cluster =', q.cluster);
  if (typeof q.token === 'number') add('token_id =', q.token);
  else if (typeof q.token === 'string') add('token_name =', q.token);
  args.push(limit + 1);
  const columns = kAuditColumns.map(([c, f]) => (c === f ? c : `${c} AS "${f}"`)).join(', ');
  return { sql: `SELECT id, ${columns} FROM audit WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${param(args.length)}`, args, limit };
}

/** auditPageQuery's rows as a page: at most `limit` items, and the next page's cursor (null at the end). */
export function auditPage(rows: AuditRow[], limit: number): { items: AuditRow[]; next: number | null } {
  const more = rows.length > limit;
  if (more) rows.length = limit;
  return { items: rows, next: more ? rows[rows.length - 1]!.id : null };
}

/** A page size asked for, checked. */
function auditPageLimit(limit: number | undefined): number {
  const n = limit ?? kDefaultAuditPage;
  if (!Number.isInteger(n) || n < 1 || n > kMaxAuditPage) throw new StoreError('invalid', `limit must be 1 to ${kMaxAuditPage}`);
  return n;
}

export class AuditRepo {
  private readonly ins: Database.Statement<unknown[]>;

  constructor(private readonly db: Database.Database) {
    this.ins = db.prepare(`${kAuditInsert}(${Array(kAuditArity).fill('?').join(', ')})`);
  }

  /** Writes a batch in one transaction. */
  append(records: readonly AuditRecord[]): void {
    if (records.length === 0) return;
    try {
      this.db.transaction(() => {
        for (const r of records) {
          this.ins.run(...auditValues(r));
        }
      }).immediate();
    } catch (err) {
      throw toStoreError(err, 'writing audit records');
    }
  }

  /** One page, oldest first; `next` is the cursor of the following page, null at the end. */
  query(q: AuditQuery = {}): { items: AuditRow[]; next: number | null } {
    const { sql, args, limit } = auditPageQuery(q, () => '?');
    try {
      return auditPage(this.db.prepare(sql).all(...args) as AuditRow[], limit);
    } catch (err) {
      throw toStoreError(err, 'reading the audit log');
    }
  }

  /** Deletes records older than `before` (epoch ms); returns how many. */
  prune(before: number): number {
    try {
      return this.db.prepare('DELETE FROM audit WHERE at < ?').run(before).changes;
    } catch (err) {
      throw toStoreError(err, 'pruning the audit log');
    }
  }
}
