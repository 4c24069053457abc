/**
 * Backend choice: `--database URL` / FLEETGATE_DATABASE_URL. A postgres:// (or postgresql://)
 * URL opens PostgreSQL; no URL opens SQLite in the data directory, the embedded default. Any
 * other URL is refused with a clear message rather than silently falling back to SQLite.
 */
import { StoreError } from './errors.js';
import type { StoreBackend } from './backend.js';
import { openStore } from './store.js';
import { isPostgresUrl, openPgStore, redactUrl } from './postgres/store.js';

export const kDatabaseEnv = 'FLEETGATE_DATABASE_URL';

export interface BackendOptions {
  dataDir: string;
  /** postgres://… for PostgreSQL; undefined or '' for SQLite in dataDir. */
  databaseUrl?: string;
  key?: Buffer | string;
  env?: NodeJS.ProcessEnv;
  /** PostgreSQL pool size per thread. */
  poolMax?: number;
}

export async function openBackend(opts: BackendOptions): Promise<StoreBackend> {
  const url = opts.databaseUrl;
  if (url === undefined || url === '') return openStore({ dataDir: opts.dataDir, key: opts.key, env: opts.env });
  if (!isPostgresUrl(url)) {
    throw new StoreError('invalid', `--database must be a postgres:// or postgresql:// URL (got ${redactUrl(url)}); omit it to use SQLite in the data directory`);
  }
  return openPgStore({ url, dataDir: opts.dataDir, key: opts.key, env: opts.env, poolMax: opts.poolMax });
}
