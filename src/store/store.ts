/**
 * openStore: one better-sqlite3 connection (each thread opens its own), WAL, busy timeout,
 * foreign keys, migrations, and the encryption key checked against the `meta` key-check value
 * before any row is read or written.
 *
 * Key policy: if the database holds sealed data (a key check or a kubeconfig) and the key is
 * missing or different, openStore throws StoreError('key') and writes nothing: no new key file,
 * no new key check. A fresh database gets a key file (unless FLEETGATE_ENCRYPTION_KEY is set)
 * and a key check on first open.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterRepo } from './clusters.js';
import { kKeyCheckText, seal } from './crypto.js';
import { keyForOpen, verifyKey } from './key-check.js';
import { StoreError, toStoreError } from './errors.js';
import { kKeyEnv, kKeyFileName } from './key.js';
import { checkSchema, migrate } from './migrations.js';
import { TokenRepo } from './tokens.js';
import { GroupRepo } from './groups.js';
import { AuditRepo } from './audit.js';

export const kDbFileName = 'fleetgate.db';
export const kBusyTimeoutMs = 5000;

export interface StoreOptions {
  dataDir: string;
  /** The encryption key (32 bytes, or its hex/base64 text); default: resolveKey(dataDir, env). */
  key?: Buffer | string;
  /** Open read-only: no migrations, no key file creation, writes fail with StoreError('io'). */
  readonly?: boolean;
  /** Environment for FLEETGATE_ENCRYPTION_KEY; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface Store {
  readonly kind: 'sqlite';
  readonly dataDir: string;
  /** Path of the SQLite file. */
  readonly path: string;
  readonly clusters: ClusterRepo;
  readonly tokens: TokenRepo;
  readonly groups: GroupRepo;
  readonly audit: AuditRepo;
  /** Non-fatal problems found at open (e.g. key file permissions); print them. */
  readonly warnings: readonly string[];
  /** Where the key came from ("FLEETGATE_ENCRYPTION_KEY", "key file …"), '' when none was needed. */
  readonly keySource: string;
  /** True when this open generated DATA/encryption.key. */
  readonly keyCreated: boolean;
  /**
   * A copy of the 32-byte encryption key (secret), e.g. for the supervisor to hand to the threads
   * it starts so they open the store with `key` instead of resolving it again. Throws
   * StoreError('key') when the store has no key (read-only open of a fresh database).
   */
  encryptionKey(): Buffer;
  /** The raw connection, for diagnostics and tests. Don't write tables behind the repos' backs. */
  readonly db: Database.Database;
  /**
   * PRAGMA data_version: changes when another connection (thread or process) commits to the
   * database; this connection's own commits do not change it. Poll it to notice outside writes.
   */
  dataVersion(): number;
  /**
   * Bumped (by triggers, in the writing transaction) by every change to what the index is built
   * from: clusters, groups, membership. Other writes (audit records, token last use) leave it.
   */
  indexRevision(): number;
  close(): void;
}

function hasSealedData(db: Database.Database): { check: Buffer | undefined; sample: { id: number; name: string; config: Buffer } | undefined } {
  const check = (db.prepare("SELECT value FROM meta WHERE key = 'key_check'").get() as { value: Buffer } | undefined)?.value;
  const sample = db.prepare('SELECT id, name, config FROM clusters WHERE config IS NOT NULL AND length(config) > 0 LIMIT 1').get() as
    | { id: number; name: string; config: Buffer }
    | undefined;
  return { check, sample };
}

/**
 * The database holds sealed kubeconfigs and token hashes: its file, and the WAL and shared-memory
 * files next to it, are for this user only (0600). A new database file is created with that mode
 * before SQLite opens it; SQLite creates -wal and -shm with the database file's mode. Files of
 * an older database are tightened. Best effort on file systems without modes.
 */
function restrictDbFiles(path: string): void {
  try {
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600));
  } catch {
    return; // SQLite reports why it cannot open the file
  }
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
    } catch {
      // absent (no WAL yet) or not ours to change
    }
  }
}

export function openStore(opts: StoreOptions): Store {
  const dataDir = opts.dataDir;
  const readonly = opts.readonly === true;
  const env = opts.env ?? process.env;
  const path = join(dataDir, kDbFileName);
  if (!readonly) {
    try {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new StoreError('io', `cannot create the data directory ${dataDir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (!readonly) restrictDbFiles(path);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly, timeout: kBusyTimeoutMs });
  } catch (err) {
    throw new StoreError('io', `cannot open ${path}: ${(err as Error).message}`);
  }
  try {
    db.pragma(`busy_timeout = ${kBusyTimeoutMs}`);
    db.pragma('foreign_keys = ON');
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      migrate(db);
    } else {
      checkSchema(db);
    }

    const sealed = hasSealedData(db);
    const { key, source: keySource, created: keyCreated, warnings } = keyForOpen(sealed, {
      given: opts.key,
      opener: 'openStore',
      dataDir,
      env,
      readonly,
      missing: (why) => new StoreError('key', `cannot decrypt stored kubeconfigs: no encryption key (${why}); restore the key they were written with`),
    });
    if (key) {
      verifyKey(sealed, key, keySource);
      if (sealed.check === undefined && !readonly) {
        // First open (or a database from before the key check): record it. INSERT OR IGNORE and
        // re-read, so two first starts with different keys cannot both win.
        db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('key_check', ?)").run(seal(key, 'key-check', kKeyCheckText));
        verifyKey(hasSealedData(db), key, keySource);
      }
    }

    const keyFn = (): Buffer => {
      if (!key) throw new StoreError('key', `no encryption key: set ${kKeyEnv} or open the store read-write once to create ${kKeyFileName}`);
      return key;
    };
    const clusters = new ClusterRepo(db, keyFn);
    if (key && !readonly) {
      const resealed = clusters.resealLegacy();
      if (resealed > 0) warnings.push(`re-sealed ${resealed} kubeconfig(s) so each is bound to its row`);
    }
    const tokens = new TokenRepo(db, dataDir);
    const dv = db.prepare('PRAGMA data_version').pluck();
    const rev = db.prepare("SELECT value FROM meta WHERE key = 'index_rev'").pluck();
    return {
      kind: 'sqlite',
      dataDir,
      path,
      clusters,
      tokens,
      groups: new GroupRepo(db),
      audit: new AuditRepo(db),
      warnings,
      keySource,
      keyCreated,
      db,
      dataVersion: () => dv.get() as number,
      indexRevision: () => Number(rev.get() ?? 0),
      encryptionKey: () => Buffer.from(keyFn()),
      close: () => {
        if (db.open) db.close();
      },
    };
  } catch (err) {
    db.close();
    throw toStoreError(err, `opening ${path}`);
  }
}
