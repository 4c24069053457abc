/**
 * The clusters table on PostgreSQL: the same rules and messages as the SQLite ClusterRepo (the
 * validation and the row-bound sealing are shared: normaliseCluster, mergePatch, importInputs,
 * sealClusterConfig, and the row mapping clusterRowOf), asynchronous, and every write bumps the revision and
 * notifies in its transaction (db.ts).
 */
import type pg from 'pg';
import {
  clusterRowOf,
  importInputs,
  mergePatch,
  normaliseCluster,
  resealedConfig,
  sealClusterConfig,
  type ClusterInput,
  type ClusterRow,
  type ImportOptions,
  type ImportResult,
  type Normalised,
  type StoredCluster,
  type WriteOptions,
} from '../clusters.js';
import { StoreError } from '../errors.js';
import type { ClusterRepoApi } from '../backend.js';
import { inTransaction, query } from './db.js';
import { isPgUniqueViolation, pgToStoreError } from './errors.js';
import { kMigrationLock } from './migrations.js';

export class PgClusterRepo implements ClusterRepoApi {
  constructor(
    private readonly pool: pg.Pool,
    private readonly key: () => Buffer,
  ) {}

  private toRow(r: StoredCluster): ClusterRow {
    return clusterRowOf(this.key, r);
  }

  /**
   * Re-seals kubeconfigs written before values were bound to their row (crypto.ts version 1), as
   * SQLite's ClusterRepo.resealLegacy; returns how many it re-sealed. One transaction under the
   * migration advisory lock, so replicas starting together re-seal one after the other and the
   * later ones find nothing left; FOR UPDATE keeps a concurrent cluster write from being
   * overwritten with the value it replaced. The plaintext does not change, so no revision bump.
   */
  async resealLegacy(): Promise<number> {
    return inTransaction(this.pool, 're-sealing kubeconfigs', undefined, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [kMigrationLock]);
      const legacy = await c.query<Pick<StoredCluster, 'id' | 'name'> & { config: Buffer }>(
        "SELECT id, name, config FROM clusters WHERE substring(config FROM 1 FOR 1) = '\\x01'::bytea FOR UPDATE",
      );
      let n = 0;
      for (const r of legacy.rows) {
        const sealed = resealedConfig(this.key(), r);
        if (!sealed) continue;
        await c.query('UPDATE clusters SET config = $1 WHERE id = $2', [sealed, r.id]);
        n++;
      }
      return n;
    });
  }

  async list(): Promise<ClusterRow[]> {
    return (await query<StoredCluster>(this.pool, 'listing clusters', 'SELECT * FROM clusters ORDER BY name COLLATE "C"')).map((r) => this.toRow(r));
  }

  async listForSync(): Promise<Array<ClusterRow & { configError?: string }>> {
    return (await query<StoredCluster>(this.pool, 'listing clusters', 'SELECT * FROM clusters ORDER BY name COLLATE "C"')).map((r) => {
      try {
        return this.toRow(r);
      } catch (err) {
        if (!(err instanceof StoreError)) throw err;
        return { ...this.toRow({ ...r, config: null }), configError: err.message };
      }
    });
  }

  async get(id: number): Promise<ClusterRow | undefined> {
    if (!Number.isSafeInteger(id) || id < 1 || id > 2 ** 31 - 1) return undefined;
    const [r] = await query<StoredCluster>(this.pool, 'reading a cluster', 'SELECT * FROM clusters WHERE id = $1', [id]);
    return r ? this.toRow(r) : undefined;
  }

  async getByName(name: string): Promise<ClusterRow | undefined> {
    const [r] = await query<StoredCluster>(this.pool, 'reading a cluster', 'SELECT * FROM clusters WHERE name = $1', [name]);
    return r ? this.toRow(r) : undefined;
  }

  async count(): Promise<number> {
    const [r] = await query<{ n: number }>(this.pool, 'counting clusters', 'SELECT count(*)::int AS n FROM clusters');
    return r!.n;
  }

  private conflict(name: string): StoreError {
    return new StoreError('conflict', `a cluster named "${name}" already exists`);
  }

  /** `name`: the name a unique violation is reported for (a function when it is known only inside). */
  private write<T>(action: string, name: string | (() => string), fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const conflictName = typeof name === 'function' ? name : () => name;
    return inTransaction(this.pool, action, 'clusters', fn, (err) => (isPgUniqueViolation(err) ? this.conflict(conflictName()) : pgToStoreError(err, action)));
  }

  private async insertLocked(c: pg.PoolClient, n: Normalised, now: number): Promise<number> {
    if ((await c.query('SELECT 1 FROM clusters WHERE name = $1', [n.name])).rowCount) throw this.conflict(n.name);
    if (n.isDefault) await c.query('UPDATE clusters SET is_default = false, updated_at = $1 WHERE is_default', [now]);
    // The sealed value binds the row id: take the id from the identity's sequence first, so the
    // row is inserted once, already sealed for itself.
    const id = (await c.query<{ id: number }>("SELECT nextval(pg_get_serial_sequence('clusters', 'id'))::int AS id")).rows[0]!.id;
    const sealed = n.inCluster ? null : sealClusterConfig(this.key(), { id, name: n.name }, n.config);
    await c.query(
      `INSERT INTO clusters (id, name, description, config, prometheus_url, in_cluster, is_default, enabled, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
      [id, n.name, n.description, sealed, n.prometheusUrl, n.inCluster, n.isDefault, n.enabled, now],
    );
    return id;
  }

  async create(input: ClusterInput, opts: WriteOptions = {}): Promise<ClusterRow> {
    const n = normaliseCluster(input, opts, true);
    const id = await this.write(`creating cluster "${n.name}"`, n.name, (c) => this.insertLocked(c, n, Date.now()));
    return (await this.get(id))!;
  }

  async update(id: number, patch: Partial<ClusterInput>, opts: WriteOptions = {}): Promise<ClusterRow> {
    const current = await this.get(id);
    if (!current) throw new StoreError('not_found', `no cluster with id ${id}`);
    const { merged, configChanged } = mergePatch(current, patch);
    const n = normaliseCluster(merged, opts, configChanged);
    await this.write(`updating cluster "${n.name}"`, n.name, async (c) => {
      const now = Date.now();
      if (!(await c.query('SELECT 1 FROM clusters WHERE id = $1 FOR UPDATE', [id])).rowCount) throw new StoreError('not_found', `no cluster with id ${id}`);
      const other = await c.query<{ id: number }>('SELECT id FROM clusters WHERE name = $1', [n.name]);
      if (other.rows[0] && other.rows[0].id !== id) throw this.conflict(n.name);
      if (n.isDefault) await c.query('UPDATE clusters SET is_default = false, updated_at = $1 WHERE is_default AND id <> $2', [now, id]);
      // Re-sealed on every update: a rename changes the binding too.
      const sealed = n.inCluster ? null : sealClusterConfig(this.key(), { id, name: n.name }, n.config);
      await c.query(
        `UPDATE clusters SET name = $1, description = $2, config = $3, prometheus_url = $4, in_cluster = $5, is_default = $6,
         enabled = $7, updated_at = $8 WHERE id = $9`,
        [n.name, n.description, sealed, n.prometheusUrl, n.inCluster, n.isDefault, n.enabled, now, id],
      );
    });
    return (await this.get(id))!;
  }

  async delete(id: number): Promise<void> {
    await this.write('deleting a cluster', '', async (c) => {
      const r = await c.query<{ is_default: boolean }>('SELECT is_default FROM clusters WHERE id = $1 FOR UPDATE', [id]);
      if (!r.rows[0]) throw new StoreError('not_found', `no cluster with id ${id}`);
      if (r.rows[0].is_default) throw new StoreError('invalid', 'cannot delete the default cluster; make another cluster the default first');
      await c.query('DELETE FROM clusters WHERE id = $1', [id]);
    });
  }

  async importKubeconfig(text: string, opts: ImportOptions = {}): Promise<ClusterRow[]> {
    return (await this.importDetailed(text, opts)).rows;
  }

  async importDetailed(text: string, opts: ImportOptions = {}): Promise<ImportResult> {
    const { inputs, skipped } = importInputs(text, opts);
    let clashing = '';
    const ids = await this.write('importing a kubeconfig', () => clashing, async (c) => {
      const now = Date.now();
      // Serialise imports that decide the default: two first starts must not both set one.
      await c.query('LOCK TABLE clusters IN SHARE ROW EXCLUSIVE MODE');
      const hasDefault = (await c.query('SELECT 1 FROM clusters WHERE is_default')).rowCount! > 0;
      const makeDefault = opts.setDefault === true || !hasDefault;
      const out: number[] = [];
      for (const n of inputs) {
        clashing = n.name;
        out.push(await this.insertLocked(c, { ...n, isDefault: n.isDefault && makeDefault }, now));
      }
      return out;
    });
    const rows: ClusterRow[] = [];
    for (const id of ids) rows.push((await this.get(id))!);
    return { rows, skipped };
  }
}
