import { redact } from '../k8s/redact.js';

/**
 * - conflict:  a unique name is taken (HTTP 409)
 * - not_found: no row with that id (HTTP 404)
 * - invalid:   bad input, or a rule such as "cannot delete the default cluster" (HTTP 400)
 * - key:       the encryption key is missing, malformed or does not match the stored rows
 * - io:        the database cannot be read or written (disk full, read-only, locked, corrupt);
 *              the transaction was rolled back, nothing was changed
 * - unavailable: the database server (PostgreSQL) cannot be reached; nothing was changed, the
 *              caller may retry (HTTP 503 with Retry-After)
 */
export type StoreErrorCode = 'conflict' | 'not_found' | 'invalid' | 'key' | 'io' | 'unavailable';

/** Seconds a client is told to wait before retrying a write the database could not take. */
export const kRetryAfterSeconds = 5;

/** Every error the store throws on purpose. Messages never contain secrets (passed through redact). */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(redact(message));
  }
}

/** better-sqlite3's SqliteError carries the extended result code as a string. */
function sqliteCode(err: unknown): string {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : '';
}

export function isUniqueViolation(err: unknown): boolean {
  return sqliteCode(err) === 'SQLITE_CONSTRAINT_UNIQUE' || sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Turns an I/O-class SQLite error into StoreError('io') with a message saying what failed and that
 * nothing was changed; StoreErrors pass through; anything else is rethrown unchanged (a bug).
 */
export function toStoreError(err: unknown, action: string): Error {
  if (err instanceof StoreError) return err;
  const code = sqliteCode(err);
  const base = `${action} failed`;
  if (code === 'SQLITE_FULL') return new StoreError('io', `${base}: the database or disk is full; nothing was changed`);
  if (code.startsWith('SQLITE_READONLY')) return new StoreError('io', `${base}: the database is read-only; nothing was changed`);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError('io', `${base}: the database is locked by another connection; nothing was changed, try again`);
  }
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || code === 'SQLITE_PERM') {
    return new StoreError('io', `${base}: ${code} (${(err as Error).message}); nothing was changed`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
