/**
 * The clusters table on PostgreSQL: the same rules and messages as the SQLite ClusterRepo (the
 * validation is shared: normaliseCluster, mergePatch, importInputs), asynchronous, and every
 * write bumps the revision and notifies in its transaction (db.ts).
 */
import type pg from 'pg';
import {
  importInputs,
  mergePatch,
  normaliseCluster,
  protectRow,
  type ClusterInput,
  type ClusterRow,
  type ImportOptions,
  type ImportResult,
  type Normalised,
  type WriteOptions,
} from '../clusters.js';
import { openRow, seal } from '../crypto.js';
import { StoreError } from '../errors.js';
import type { ClusterRepoApi } from '../backend.js';
import { inTransaction, query } from './db.js';
import { isPgUniqueViolation, pgToStoreError } from './errors.js';

interface PgRow {
  id: number;
  name: string;
  description: string;
  config: Buffer | null;
  prometheus_url: string;
  in_cluster: boolean;
  is_default: boolean;
  enabled: boolean;
  created_at: number;
  updated_at: number;
}

export class PgClusterRepo implements ClusterRepoApi {
  constructor(
    private readonly pool: pg.Pool,
    private readonly key: () => Buffer,
  ) {}

  private toRow(r: PgRow): ClusterRow {
    let config = '';
    if (r.config !== null) {
      // openRow: values sealed for the row (SQLite's format) open too, should a database be copied over.
      const opened = openRow(this.key(), 'cluster-config', r, r.config);
      if (opened === undefined) {
        throw new StoreError('key', `cannot decrypt the kubeconfig of cluster "${r.name}": the encryption key does not match the key it was written with, or the value was altered`);
      }
      config = opened.plaintext;
    }
    return protectRow({
      id: r.id,
      name: r.name,
      description: r.description,
      config,
      prometheusUrl: r.prometheus_url,
      inCluster: r.in_cluster,
      isDefault: r.is_default,
      enabled: r.enabled,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    });
  }

  async list(): Promise<ClusterRow[]> {
    return (await query<PgRow>(this.pool, 'listing clusters', 'SELECT * FROM clusters ORDER BY name COLLATE "C"')).map((r) => this.toRow(r));
  }

  async listForSync(): Promise<Array<ClusterRow & { configError?: string }>> {
    return (await query<PgRow>(this.pool, 'listing clusters', 'SELECT * FROM clusters ORDER BY name COLLATE "C"')).map((r) => {
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
    const [r] = await query<PgRow>(this.pool, 'reading a cluster', 'SELECT * FROM clusters WHERE id = $1', [id]);
    return r ? this.toRow(r) : undefined;
  }

  async getByName(name: string): Promise<ClusterRow | undefined> {
    const [r] = await query<PgRow>(this.pool, 'reading a cluster', 'SELECT * FROM clusters WHERE name = $1', [name]);
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
    const sealed = n.inCluster ? null : seal(this.key(), 'cluster-config', n.config);
    const r = await c.query<{ id: number }>(
      `INSERT INTO clusters (name, description, config, prometheus_url, in_cluster, is_default, enabled, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
      [n.name, n.description, sealed, n.prometheusUrl, n.inCluster, n.isDefault, n.enabled, now],
    );
    return r.rows[0]!.id;
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
      const sealed = n.inCluster ? null : seal(this.key(), 'cluster-config', n.config);
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
