/**
 * openPgStore: the PostgreSQL backend (`--database postgres://…`), for several replicas sharing
 * one registry. A pool per thread; migrations under an advisory lock; then the key check, before
 * any row is read or written: a replica whose key does not open the database's key-check value
 * throws StoreError('key') and writes nothing. The first replica of a fresh database records the
 * check (INSERT … ON CONFLICT DO NOTHING, then re-read, so two first starts cannot both win).
 *
 * Key: the same rules as SQLite (FLEETGATE_ENCRYPTION_KEY, else DATA/encryption.key, created only
 * for a database that holds nothing sealed yet). Every replica must be given the same key.
 */
import type pg from 'pg';
import { kKeyCheckText, seal } from '../crypto.js';
import { StoreError } from '../errors.js';
import { keyForOpen, verifyKey, type SealedSample } from '../key-check.js';
import { kKeyEnv, kKeyFileName } from '../key.js';
import type { StoreBackend } from '../backend.js';
import { PgClusterRepo } from './clusters.js';
import { createPool, query } from './db.js';
import { pgToStoreError } from './errors.js';
import { migratePg } from './migrations.js';
import { PgTokenRepo } from './tokens.js';
import { PgGroupRepo } from './groups.js';
import { PgAuditRepo } from './audit.js';

export interface PgStoreOptions {
  /** postgres:// or postgresql:// URL. */
  url: string;
  /** Where the key file (and the generated admin token file) live. */
  dataDir: string;
  key?: Buffer | string;
  env?: NodeJS.ProcessEnv;
  /** Pool size (default 4). */
  poolMax?: number;
}

export interface PgStore extends StoreBackend {
  readonly kind: 'postgres';
  readonly clusters: PgClusterRepo;
  readonly tokens: PgTokenRepo;
  readonly groups: PgGroupRepo;
  readonly audit: PgAuditRepo;
  /** The pool, for the sync worker's probe-result reads and writes and for tests. */
  readonly pool: pg.Pool;
  readonly url: string;
  close(): Promise<void>;
}

export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the database URL';
  }
}

async function sealedSample(pool: pg.Pool): Promise<SealedSample> {
  const [check] = await query<{ value: Buffer }>(pool, 'reading the key check', "SELECT value FROM meta WHERE key = 'key_check'");
  // With its row: values are sealed for their row (id, name).
  const [sample] = await query<{ id: number; name: string; config: Buffer }>(
    pool,
    'reading the key check',
    'SELECT id, name, config FROM clusters WHERE config IS NOT NULL AND length(config) > 0 LIMIT 1',
  );
  return { check: check?.value, sample };
}

export async function openPgStore(opts: PgStoreOptions): Promise<PgStore> {
  const env = opts.env ?? process.env;
  const where = redactUrl(opts.url);
  const pool = createPool(opts.url, { max: opts.poolMax });
  try {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw new StoreError('unavailable', `cannot connect to ${where}: ${(err as { code?: string }).code ?? (err as Error).message}`);
    }
    try {
      await migratePg(client);
    } catch (err) {
      throw pgToStoreError(err, `migrating ${where}`);
    } finally {
      client.release();
    }

    const sealed = await sealedSample(pool);
    const { key, source: keySource, created: keyCreated, warnings } = keyForOpen(sealed, {
      given: opts.key,
      opener: 'openPgStore',
      dataDir: opts.dataDir,
      env,
      missing: (why) =>
        new StoreError('key', `${where} holds sealed kubeconfigs but this replica has no encryption key (${why}); give every replica the key the first replica used`),
    });
    if (key) {
      const replicaHint = (source: string) =>
        new StoreError('key', `the encryption key (${source}) does not match the key check in ${where}: every replica must use the same key; nothing was changed`);
      try {
        verifyKey(sealed, key, keySource);
      } catch {
        throw replicaHint(keySource);
      }
      if (sealed.check === undefined) {
        await query(pool, 'recording the key check', "INSERT INTO meta (key, value) VALUES ('key_check', $1) ON CONFLICT (key) DO NOTHING", [
          seal(key, 'key-check', kKeyCheckText),
        ]);
        try {
          verifyKey(await sealedSample(pool), key, keySource);
        } catch {
          throw replicaHint(keySource);
        }
      }
    }

    const keyFn = (): Buffer => {
      if (!key) throw new StoreError('key', `no encryption key: set ${kKeyEnv} or give this replica ${kKeyFileName}`);
      return key;
    };
    const clusters = new PgClusterRepo(pool, keyFn);
    if (key) {
      const resealed = await clusters.resealLegacy();
      if (resealed > 0) warnings.push(`re-sealed ${resealed} kubeconfig(s) so each is bound to its row`);
    }
    let closed: Promise<void> | undefined;
    return {
      kind: 'postgres',
      dataDir: opts.dataDir,
      url: opts.url,
      pool,
      clusters,
      tokens: new PgTokenRepo(pool, opts.dataDir),
      groups: new PgGroupRepo(pool),
      audit: new PgAuditRepo(pool),
      warnings,
      keySource,
      keyCreated,
      encryptionKey: () => Buffer.from(keyFn()),
      close: () => (closed ??= pool.end()),
    };
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}
