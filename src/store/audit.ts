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

export interface DbAudit {
  id: number;
  at: number;
  kind: AuditKind;
  token_id: number | null;
  token_name: string;
  method: string;
  route: string;
  cluster: string;
  namespace: string;
  pod: string;
  container: string;
  status: number;
  outcome: string;
  client: string;
}

/** A row of the audit table as handed out (both backends). */
export function auditRow(r: DbAudit): AuditRow {
  return {
    id: r.id,
    at: r.at,
    kind: r.kind,
    tokenId: r.token_id,
    tokenName: r.token_name,
    method: r.method,
    route: r.route,
    cluster: r.cluster,
    namespace: r.namespace,
    pod: r.pod,
    container: r.container,
    status: r.status,
    outcome: r.outcome,
    client: r.client,
  };
}

/** A page size asked for, checked (both backends). */
export function auditPageLimit(limit: number | undefined): number {
  const n = limit ?? kDefaultAuditPage;
  if (!Number.isInteger(n) || n < 1 || n > kMaxAuditPage) throw new StoreError('invalid', `limit must be 1 to ${kMaxAuditPage}`);
  return n;
}

export class AuditRepo {
  private readonly ins: Database.Statement<unknown[]>;

  constructor(private readonly db: Database.Database) {
    this.ins = db.prepare(
      `INSERT INTO audit (at, kind, token_id, token_name, method, route, cluster, namespace, pod, container, status, outcome, client)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /** Writes a batch in one transaction. */
  append(records: readonly AuditRecord[]): void {
    if (records.length === 0) return;
    try {
      this.db.transaction(() => {
        for (const r of records) {
          this.ins.run(r.at, r.kind, r.tokenId, r.tokenName, r.method, r.route, r.cluster, r.namespace, r.pod, r.container, r.status, r.outcome, r.client);
        }
      }).immediate();
    } catch (err) {
      throw toStoreError(err, 'writing audit records');
    }
  }

  /** One page, oldest first; `next` is the cursor of the following page, null at the end. */
  query(q: AuditQuery = {}): { items: AuditRow[]; next: number | null } {
    const limit = auditPageLimit(q.limit);
    const where: string[] = ['id > ?'];
    const args: unknown[] = [q.after ?? 0];
    if (q.since !== undefined) {
      where.push('at >= ?');
      args.push(q.since);
    }
    if (q.cluster !== undefined) {
      where.push('cluster = ?');
      args.push(q.cluster);
    }
    if (typeof q.token === 'number') {
      where.push('token_id = ?');
      args.push(q.token);
    } else if (typeof q.token === 'string') {
      where.push('token_name = ?');
      args.push(q.token);
    }
    const sql = `SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`;
    try {
      const rows = (this.db.prepare(sql).all(...args, limit + 1) as DbAudit[]).map(auditRow);
      const more = rows.length > limit;
      if (more) rows.length = limit;
      return { items: rows, next: more ? rows[rows.length - 1]!.id : null };
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
