/**
 * Numbered schema migrations, tracked in SQLite's `PRAGMA user_version`. Each runs in its own
 * BEGIN IMMEDIATE transaction that re-reads the version first, so several threads or processes
 * starting at once apply each migration exactly once. Append only: never edit a released one.
 *
 * Conventions: timestamps are INTEGER epoch milliseconds; booleans are INTEGER 0/1 with a CHECK.
 */
import type Database from 'better-sqlite3';
import { StoreError } from './errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'clusters and meta',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
      );
      CREATE TABLE clusters (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        name           TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
        description    TEXT    NOT NULL DEFAULT '',
        config         BLOB,   -- AES-256-GCM sealed kubeconfig (see crypto.ts); NULL for in-cluster
        prometheus_url TEXT    NOT NULL DEFAULT '',
        in_cluster     INTEGER NOT NULL DEFAULT 0 CHECK (in_cluster IN (0, 1)),
        is_default     INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
        enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL,
        CHECK (in_cluster = 1 OR config IS NOT NULL)
      );
      -- At most one default cluster, enforced by the database itself.
      CREATE UNIQUE INDEX clusters_one_default ON clusters (is_default) WHERE is_default = 1;
    `,
  },
  {
    version: 2,
    name: 'api tokens',
    sql: `
      CREATE TABLE tokens (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        role       TEXT    NOT NULL CHECK (role IN ('admin', 'viewer')),
        clusters   TEXT,   -- JSON array of cluster names; NULL = all clusters
        hash       BLOB    NOT NULL UNIQUE,  -- SHA-256 of the secret
        lookup     TEXT    NOT NULL,         -- first 16 hex digits of hash, for the index
        source     TEXT    NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'generated', 'env')),
        created_at INTEGER NOT NULL
      );
      CREATE INDEX tokens_lookup ON tokens (lookup);
    `,
  },
  {
    version: 3,
    name: 'cluster groups, token expiry and last use, audit log',
    sql: `
      CREATE TABLE cluster_groups (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        name        TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
        description TEXT    NOT NULL DEFAULT '',
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      );
      CREATE TABLE cluster_group_members (
        group_id   INTEGER NOT NULL REFERENCES cluster_groups (id) ON DELETE CASCADE,
        cluster_id INTEGER NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, cluster_id)
      ) WITHOUT ROWID;
      CREATE INDEX cluster_group_members_cluster ON cluster_group_members (cluster_id);
      ALTER TABLE tokens ADD COLUMN expires_at   INTEGER;  -- epoch ms; NULL = never
      ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;  -- epoch ms, coarse (at most one write a minute)
      -- clusters is now a list of scope rules where NULL meant "all clusters": say so explicitly.
      UPDATE tokens SET clusters = '["*"]' WHERE role = 'viewer' AND clusters IS NULL;
      CREATE TABLE audit (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        at         INTEGER NOT NULL,                -- epoch ms
        kind       TEXT    NOT NULL CHECK (kind IN ('admin', 'upgrade', 'refused', 'dropped')),
        token_id   INTEGER,                         -- NULL when the caller had no valid token
        token_name TEXT    NOT NULL DEFAULT '',
        method     TEXT    NOT NULL DEFAULT '',
        route      TEXT    NOT NULL DEFAULT '',     -- the path, never the query (no secrets)
        cluster    TEXT    NOT NULL DEFAULT '',
        namespace  TEXT    NOT NULL DEFAULT '',
        pod        TEXT    NOT NULL DEFAULT '',
        container  TEXT    NOT NULL DEFAULT '',
        status     INTEGER NOT NULL DEFAULT 0,
        outcome    TEXT    NOT NULL DEFAULT '',
        client     TEXT    NOT NULL DEFAULT ''      -- the caller's address
      );
      CREATE INDEX audit_at ON audit (at);
      -- What the index is built from changed: the sync worker resyncs on this, not on every write
      -- (audit records and token last use change the database but not the index).
      INSERT OR IGNORE INTO meta (key, value) VALUES ('index_rev', 0);
      CREATE TRIGGER clusters_rev_ins AFTER INSERT ON clusters BEGIN UPDATE meta SET value = value + 1 WHERE key = 'index_rev'; END;
      CREATE TRIGGER clusters_rev_upd AFTER UPDATE ON clusters BEGIN UPDATE meta SET value = value + 1 WHERE key = 'index_rev'; END;
      CREATE TRIGGER clusters_rev_del AFTER DELETE ON clusters BEGIN UPDATE meta SET value = value + 1 WHERE key = 'index_rev'; END;
      CREATE TRIGGER groups_rev_ins AFTER INSERT ON cluster_groups BEGIN UPDATE meta SET value = value + 1 WHERE key = 'index_rev'; END;
      CREATE TRIGGER groups_rev_upd AFTER UPDATE ON cluster_groups BEGIN UPDATE meta SET value = value + 1 WHERE key = 'index_rev'; END;
      CREATE TRIGGER groups_rev_del AFTER DELETE ON cluster_groups BEGIN UPDATE meta SET value = value + 1 WHERE key = 'index_rev'; END;
      CREATE TRIGGER members_rev_ins AFTER INSERT ON cluster_group_members BEGIN UPDATE meta SET value = value + 1 WHERE key = 'index_rev'; END;
      CREATE TRIGGER members_rev_del AFTER DELETE ON cluster_group_members BEGIN UPDATE meta SET value = value + 1 WHERE key = 'index_rev'; END;
    `,
  },
];

export const kSchemaVersion = migrations[migrations.length - 1]!.version;

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies pending migrations; returns how many ran. */
export function migrate(db: Database.Database): number {
  const have = userVersion(db);
  if (have > kSchemaVersion) {
    throw new StoreError('io', `database schema version ${have} is newer than this fleetgate understands (${kSchemaVersion}); upgrade fleetgate`);
  }
  let ran = 0;
  for (const m of migrations) {
    if (m.version <= have) continue;
    const apply = db.transaction(() => {
      if (userVersion(db) >= m.version) return false; // another connection got there first
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
      return true;
    });
    if (apply.immediate()) ran++;
  }
  return ran;
}

/** For read-only connections: the schema must already be current. */
export function checkSchema(db: Database.Database): void {
  const have = userVersion(db);
  if (have !== kSchemaVersion) {
    throw new StoreError('io', `database schema version is ${have}, expected ${kSchemaVersion}; open it read-write once to migrate`);
  }
}
