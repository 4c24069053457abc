/**
 * node-postgres errors as StoreErrors. A server that cannot be reached (refused, reset, shut
 * down, timed out) is 'unavailable': the transaction did not commit, the caller may retry.
 * Messages name the action and the class of failure, never a connection string.
 */
import { StoreError, kRetryAfterSeconds } from '../errors.js';

const kNetCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

function pgCode(err: unknown): string {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : '';
}

export function isPgUniqueViolation(err: unknown): boolean {
  return pgCode(err) === '23505';
}

/** True when the error means the server is gone or unreachable rather than that the query is wrong. */
export function isUnreachable(err: unknown): boolean {
  const code = pgCode(err);
  if (kNetCodes.has(code)) return true;
  // Class 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now.
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
  const msg = err instanceof Error ? err.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(msg);
}

export function unavailable(action: string): StoreError {
  return new StoreError('unavailable', `${action} failed: the database is unreachable; nothing was changed, retry in ${kRetryAfterSeconds} s`);
}

export function pgToStoreError(err: unknown, action: string): Error {
  if (err instanceof StoreError) return err;
  if (isUnreachable(err)) return unavailable(action);
  const code = pgCode(err);
  if (code === '53100') return new StoreError('io', `${action} failed: the database server's disk is full; nothing was changed`);
  if (code === '25006') return new StoreError('io', `${action} failed: the database is read-only; nothing was changed`);
  if (code === '40001' || code === '40P01') return new StoreError('io', `${action} failed: a concurrent write conflicted; nothing was changed, try again`);
  return err instanceof Error ? err : new Error(String(err));
}
