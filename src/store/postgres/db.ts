/**
 * Connections and transactions. Every write runs in one transaction that also bumps the single
 * `revision` row and sends NOTIFY on kChangeChannel: PostgreSQL delivers the notification only
 * if, and when, that transaction commits, so a replica that hears it reads the committed rows.
 */
import pg from 'pg';
import { pgToStoreError } from './errors.js';

export const kChangeChannel = 'fleetgate_changes';
/** What a write changed, as the NOTIFY payload says ("clusters:42"); the listener resyncs on any. */
export type ChangeKind = 'clusters' | 'tokens' | 'probes' | 'groups';

/** bigint (int8) as a JavaScript number: epoch milliseconds and revisions stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export interface PoolOptions {
  max?: number;
  /** How long a query waits for a connection before failing as unreachable (default 2000 ms). */
  connectTimeoutMs?: number;
}

/** A pool whose idle-connection errors (the server went away) are absorbed, not fatal. */
export function createPool(url: string, opts: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 4,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 2000,
    idleTimeoutMillis: 30_000,
    query_timeout: 15_000,
    types,
    application_name: 'fleetgate',
  });
  // An idle client whose server restarted emits 'error' on the pool; without a listener that is
  // an uncaught exception. The pool drops the client; the next query connects afresh.
  pool.on('error', () => undefined);
  // A checked-out client whose server goes away between two queries of a transaction emits
  // 'error' outside any query; with no listener that too would be uncaught. The failing query
  // (or the next one) rejects and inTransaction releases the client as broken.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** A client for one long-lived session (LISTEN, advisory lock), with the same type parsing. */
export function createClient(url: string, connectTimeoutMs = 2000): pg.Client {
  return new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs, types, application_name: 'fleetgate' });
}

/** Bumps the revision and notifies, inside the caller's transaction. */
export async function bumpRevision(client: pg.PoolClient, kind: ChangeKind): Promise<number> {
  const r = await client.query<{ value: number }>('UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value');
  const rev = r.rows[0]!.value;
  await client.query('SELECT pg_notify($1, $2)', [kChangeChannel, `${kind}:${rev}`]);
  return rev;
}

/**
 * Runs fn in a transaction; `kind` set: a write, which bumps the revision and notifies before
 * COMMIT. Errors roll back and come out as StoreErrors (pgToStoreError).
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  action: string,
  kind: ChangeKind | undefined,
  fn: (c: pg.PoolClient) => Promise<T>,
  mapError: (err: unknown) => Error = (err) => pgToStoreError(err, action),
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw mapError(err);
  }
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    if (kind) await bumpRevision(client, kind);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw mapError(err);
  } finally {
    client.release(broken);
  }
}

/** One query outside a transaction, errors mapped. */
export async function query<R extends pg.QueryResultRow>(pool: pg.Pool, action: string, text: string, values: unknown[] = []): Promise<R[]> {
  try {
    return (await pool.query<R>(text, values)).rows;
  } catch (err) {
    throw pgToStoreError(err, action);
  }
}
