import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { thrown } from '../helpers/thrown.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { StoreError, openBackend, openStore, type Store, type StoreBackend, type StoreOptions } from '../../src/store/index.js';

/** A fresh temporary data dir per call; all removed after the file's tests. */
const dirs: string[] = [];
const opened: Store[] = [];
afterAll(() => {
  for (const s of opened) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fg-store-'));
  dirs.push(d);
  return d;
}

/** Opens a store with an empty env (no FLEETGATE_ENCRYPTION_KEY from the outside). */
export function open(opts: Partial<StoreOptions> & { dataDir?: string } = {}): Store {
  const s = openStore({ env: {}, ...opts, dataDir: opts.dataDir ?? tempDir() });
  opened.push(s);
  return s;
}

/** Runs fn, which must throw a StoreError, and returns it. */
export const storeError = (fn: () => unknown): StoreError => thrown(fn, StoreError);

/** Runs fn (SQLite throws synchronously, PostgreSQL rejects) and returns the StoreError. */
export async function rejection(fn: () => unknown): Promise<StoreError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return err as StoreError;
  }
  throw new Error('expected a StoreError, nothing was thrown');
}

export type Backend = 'sqlite' | 'postgres';

/** A backend's database: SQLite in dataDir, or PostgreSQL at databaseUrl (key file in dataDir). */
export interface Where {
  dataDir: string;
  databaseUrl?: string;
}

/**
 * For a file whose cases run on both backends: a throwaway PostgreSQL (test/helpers/postgres.ts)
 * started before the file's tests and stopped after them, once every store opened is closed.
 * fresh(backend) is a new database (PostgreSQL ones named `${dbPrefix}_N`); openAt(where, key)
 * opens it with only FLEETGATE_ENCRYPTION_KEY in the environment; opening the same `where` twice
 * is a second replica or thread.
 */
export function bothBackends(dbPrefix: string, defaultKey: string): { fresh(backend: Backend): Where; openAt(where: Where, key?: string): Promise<StoreBackend> } {
  let server: PgServer | undefined;
  let dbSeq = 0;
  const stores: StoreBackend[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    server?.stop();
  });
  return {
    fresh: (backend) => (backend === 'sqlite' ? { dataDir: tempDir() } : { dataDir: tempDir(), databaseUrl: server!.createDatabase(`${dbPrefix}_${++dbSeq}`) }),
    openAt: async (where, key = defaultKey) => {
      const s = await openBackend({ ...where, env: { FLEETGATE_ENCRYPTION_KEY: key } });
      stores.push(s);
      return s;
    },
  };
}
