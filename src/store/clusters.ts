/**
 * The `clusters` table: Kite's cluster registry. Kubeconfigs are sealed with AES-256-GCM before
 * they reach SQLite and opened when a row is read. Timestamps are epoch milliseconds.
 */
import type Database from 'better-sqlite3';
import { inspect } from 'node:util';
import { kScopeNameRe } from '../access/scope.js';
import { K8sConfigError } from '../k8s/errors.js';
import { splitContexts, validateClusterKubeconfig } from '../k8s/kubeconfig.js';
import { openRow, sealRow, type RowBinding } from './crypto.js';
import { StoreError, isUniqueViolation, toStoreError } from './errors.js';

export interface ClusterRow {
  id: number;
  name: string;
  description: string;
  /** The decrypted one-context kubeconfig; '' for in-cluster rows. Secret: never log or send it. */
  config: string;
  prometheusUrl: string;
  inCluster: boolean;
  isDefault: boolean;
  enabled: boolean;
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
}

export interface ClusterInput {
  name: string;
  description?: string;
  /** Kubeconfig text with exactly one context; required unless inCluster. */
  config?: string;
  prometheusUrl?: string;
  inCluster?: boolean;
  isDefault?: boolean;
  enabled?: boolean;
}

export interface WriteOptions {
  /**
   * Accept users that run an exec plugin or an auth-provider (default true: they are stored and
   * the sync refuses them with a per-cluster error). The admin API passes the operator's setting.
   */
  allowExec?: boolean;
}

export interface ImportOptions extends WriteOptions {
  /** Make the file's current context the default even if another cluster is the default. */
  setDefault?: boolean;
  /** Folder of the kubeconfig file: relative certificate/key/token paths are resolved against it. */
  baseDir?: string;
  /** Skip contexts that cannot stand alone (dangling cluster/user) instead of failing the import. */
  skipInvalid?: boolean;
}

export interface ImportResult {
  rows: ClusterRow[];
  skipped: Array<{ context: string; reason: string }>;
}

const kNameRe = kScopeNameRe;
const kMaxConfigBytes = 1 << 20;
const kMaxDescription = 4096;

export const kNameRule = 'name must be 1 to 100 characters: letters, digits, "-", "_" and "."';

/** A clusters row with its flags as booleans: PostgreSQL's as read, SQLite's once its 0/1 flags are mapped (ClusterRepo.toRow). */
export interface StoredCluster {
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

/** SQLite's clusters row: the flags are 0/1 integers. */
type DbRow = Omit<StoredCluster, 'in_cluster' | 'is_default' | 'enabled'> & { in_cluster: number; is_default: number; enabled: number };

/**
 * A row as handed out: plain data, but console.log/inspect masks `config` and JSON.stringify
 * leaves it out (API responses never carry a kubeconfig). Spreads and structuredClone keep it.
 */
export function protectRow(row: ClusterRow): ClusterRow {
  Object.defineProperty(row, inspect.custom, {
    enumerable: false,
    value(this: ClusterRow, depth: number, options: object) {
      return inspect({ ...this, config: this.config === '' ? '' : `[redacted ${this.config.length} chars]` }, { ...options, depth });
    },
  });
  Object.defineProperty(row, 'toJSON', {
    enumerable: false,
    value(this: ClusterRow) {
      const { config: _config, ...rest } = this;
      return rest;
    },
  });
  return row;
}

/** The row both backends hand out; `key` is asked only when the row has a kubeconfig to open. */
export function clusterRowOf(key: () => Buffer, r: StoredCluster): ClusterRow {
  let config = '';
  if (r.config !== null) config = openClusterConfig(key(), { id: r.id, name: r.name, config: r.config }).plaintext;
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

/** A context name made into a valid cluster name: other characters become "-" (EKS ARNs, user@cluster). */
export function clusterNameFromContext(context: string): string {
  return context.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100);
}

function checkBool(v: unknown, field: string): void {
  if (v !== undefined && typeof v !== 'boolean') throw new StoreError('invalid', `${field} must be true or false`);
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !kNameRe.test(name)) throw new StoreError('invalid', kNameRule);
  return name;
}

function checkPrometheusUrl(u: unknown): string {
  if (u === undefined || u === '') return '';
  if (typeof u !== 'string') throw new StoreError('invalid', 'prometheusUrl must be a string');
  try {
    const p = new URL(u);
    if (p.protocol === 'http:' || p.protocol === 'https:') return u;
  } catch {
    /* falls through to the error below */
  }
  throw new StoreError('invalid', 'prometheusUrl must be an http or https URL');
}

function checkConfig(config: unknown, opts: WriteOptions): string {
  if (typeof config !== 'string' || config.trim() === '') {
    throw new StoreError('invalid', 'config (a kubeconfig) is required unless inCluster is true');
  }
  if (Buffer.byteLength(config) > kMaxConfigBytes) throw new StoreError('invalid', 'config is larger than 1 MiB');
  try {
    validateClusterKubeconfig(config, { allowExec: opts.allowExec ?? true });
  } catch (err) {
    if (err instanceof K8sConfigError) throw new StoreError('invalid', err.message);
    throw err;
  }
  return config;
}

/** A validated write: every column but the id and the timestamps. */
export type Normalised = Omit<ClusterRow, 'id' | 'createdAt' | 'updatedAt'>;

/** Validates a create (or a merged update) and fills defaults; throws StoreError('invalid'). */
export function normaliseCluster(input: ClusterInput, opts: WriteOptions, configChanged: boolean): Normalised {
  if (typeof input !== 'object' || input === null) throw new StoreError('invalid', 'cluster must be an object');
  const name = checkName(input.name);
  if (input.description !== undefined && typeof input.description !== 'string') throw new StoreError('invalid', 'description must be a string');
  const description = input.description ?? '';
  if (description.length > kMaxDescription) throw new StoreError('invalid', `description is longer than ${kMaxDescription} characters`);
  checkBool(input.inCluster, 'inCluster');
  checkBool(input.isDefault, 'isDefault');
  checkBool(input.enabled, 'enabled');
  const inCluster = input.inCluster === true;
  let config = '';
  if (inCluster) {
    if (input.config !== undefined && input.config !== '' && configChanged) {
      throw new StoreError('invalid', 'an in-cluster cluster takes no config; leave config empty');
    }
  } else {
    config = configChanged ? checkConfig(input.config, opts) : (input.config ?? '');
  }
  return {
    name,
    description,
    config,
    prometheusUrl: checkPrometheusUrl(input.prometheusUrl),
    inCluster,
    isDefault: input.isDefault === true,
    enabled: input.enabled ?? true,
  };
}

/** The merged input of an update: the patch over the current row (inCluster: true drops the config). */
export function mergePatch(current: ClusterRow, patch: Partial<ClusterInput>): { merged: ClusterInput; configChanged: boolean } {
  if (typeof patch !== 'object' || patch === null) throw new StoreError('invalid', 'patch must be an object');
  const configChanged = patch.config !== undefined || (patch.inCluster === false && current.inCluster);
  const merged: ClusterInput = {
    name: patch.name ?? current.name,
    description: patch.description ?? current.description,
    config: patch.config ?? (patch.inCluster === true ? '' : current.config),
    prometheusUrl: patch.prometheusUrl ?? current.prometheusUrl,
    inCluster: patch.inCluster ?? current.inCluster,
    isDefault: patch.isDefault ?? current.isDefault,
    enabled: patch.enabled ?? current.enabled,
  };
  return { merged, configChanged };
}

/**
 * The validated rows of an import, one per context (see ClusterRepo.importDetailed), before any
 * database work; both backends insert them in one transaction.
 */
export function importInputs(text: string, opts: ImportOptions): { inputs: Normalised[]; skipped: ImportResult['skipped'] } {
  let parts;
  try {
    parts = splitContexts(text, { baseDir: opts.baseDir });
  } catch (err) {
    if (err instanceof K8sConfigError) throw new StoreError('invalid', err.message);
    throw err;
  }
  const skipped: ImportResult['skipped'] = [];
  const inputs: Normalised[] = [];
  const seen = new Set<string>();
  for (const part of parts) {
    const name = clusterNameFromContext(part.name);
    let n: Normalised;
    try {
      if (part.error) throw new StoreError('invalid', part.error);
      n = normaliseCluster(
        {
          name,
          description: name === part.name ? '' : `kubeconfig context "${part.name}"`,
          config: part.kubeconfig,
          isDefault: part.isCurrent,
        },
        opts,
        true,
      );
    } catch (err) {
      if (opts.skipInvalid && err instanceof StoreError) {
        skipped.push({ context: part.name, reason: err.message });
        continue;
      }
      if (err instanceof StoreError) throw new StoreError(err.code, `context "${part.name}": ${err.message}`);
      throw err;
    }
    if (seen.has(name)) throw new StoreError('conflict', `the kubeconfig has two contexts that map to the cluster name "${name}"`);
    seen.add(name);
    inputs.push(n);
  }
  if (inputs.length === 0 && skipped.length === 0) throw new StoreError('invalid', 'kubeconfig has no contexts');
  return { inputs, skipped };
}

/** A kubeconfig sealed for its row (id and name): both backends write only these. */
export function sealClusterConfig(key: Buffer, row: RowBinding, config: string): Buffer {
  return sealRow(key, 'cluster-config', row, config);
}

/**
 * The kubeconfig sealed in a row, and whether it predates the row binding (re-seal it); throws
 * StoreError('key') naming the cluster, never the value, when it does not open for this row.
 */
export function openClusterConfig(key: Buffer, row: RowBinding & { config: Buffer }): { plaintext: string; legacy: boolean } {
  const opened = openRow(key, 'cluster-config', row, row.config);
  if (opened === undefined) {
    throw new StoreError('key', `cannot decrypt the kubeconfig of cluster "${row.name}": the encryption key does not match the key it was written with, or the value was altered or moved from another row`);
  }
  return opened;
}

/**
 * The row's kubeconfig re-sealed for its row when it was sealed before the binding (version 1);
 * undefined when it is already bound or does not open (the sync reports that row per cluster).
 */
export function resealedConfig(key: Buffer, row: RowBinding & { config: Buffer }): Buffer | undefined {
  const opened = openRow(key, 'cluster-config', row, row.config);
  return opened?.legacy ? sealClusterConfig(key, row, opened.plaintext) : undefined;
}

export class ClusterRepo {
  private readonly sel: Database.Statement<[], DbRow>;
  private readonly selId: Database.Statement<[number], DbRow>;
  private readonly selName: Database.Statement<[string], DbRow>;
  private readonly clearDefault: Database.Statement<[number, number]>;
  private readonly ins: Database.Statement<unknown[]>;
  private readonly upd: Database.Statement<unknown[]>;
  private readonly del: Database.Statement<[number]>;
  private readonly cnt: Database.Statement<[], { n: number }>;
  private readonly setConfig: Database.Statement<[Buffer, number]>;

  constructor(
    private readonly db: Database.Database,
    private readonly key: () => Buffer,
  ) {
    this.sel = db.prepare('SELECT * FROM clusters ORDER BY name');
    this.selId = db.prepare('SELECT * FROM clusters WHERE id = ?');
    this.selName = db.prepare('SELECT * FROM clusters WHERE name = ?');
    this.clearDefault = db.prepare('UPDATE clusters SET is_default = 0, updated_at = ? WHERE is_default = 1 AND id <> ?');
    this.ins = db.prepare(
      `INSERT INTO clusters (name, description, config, prometheus_url, in_cluster, is_default, enabled, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.upd = db.prepare(
      `UPDATE clusters SET name = ?, description = ?, config = ?, prometheus_url = ?, in_cluster = ?, is_default = ?,
       enabled = ?, updated_at = ? WHERE id = ?`,
    );
    this.del = db.prepare('DELETE FROM clusters WHERE id = ?');
    this.cnt = db.prepare('SELECT count(*) AS n FROM clusters');
    this.setConfig = db.prepare('UPDATE clusters SET config = ? WHERE id = ?');
  }

  /**
   * Re-seals kubeconfigs written before values were bound to their row (crypto.ts version 1), so
   * old databases keep working and gain the binding. One transaction; returns how many it re-sealed.
   * Rows that do not open are left as they are (the sync reports them per cluster).
   */
  resealLegacy(): number {
    return this.write('re-sealing kubeconfigs', '', () => {
      let n = 0;
      for (const r of this.db.prepare('SELECT id, name, config FROM clusters WHERE config IS NOT NULL AND substr(config, 1, 1) = ?').all(Buffer.from([1])) as Pick<DbRow, 'id' | 'name' | 'config'>[]) {
        const sealed = resealedConfig(this.key(), { ...r, config: r.config! });
        if (!sealed) continue;
        this.setConfig.run(sealed, r.id);
        n++;
      }
      return n;
    });
  }

  private toRow(r: DbRow): ClusterRow {
    return clusterRowOf(this.key, { ...r, in_cluster: r.in_cluster === 1, is_default: r.is_default === 1, enabled: r.enabled === 1 });
  }

  private read<T>(action: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw toStoreError(err, action);
    }
  }

  /** All clusters, ordered by name. */
  list(): ClusterRow[] {
    return this.read('listing clusters', () => this.sel.all().map((r) => this.toRow(r)));
  }

  /**
   * All clusters for the sync worker, ordered by name: a row whose kubeconfig cannot be
   * decrypted (wrong key, tampered or corrupt value) comes back with `config` '' and the reason
   * in `configError` instead of failing the whole list, so one bad row costs only its cluster.
   */
  listForSync(): Array<ClusterRow & { configError?: string }> {
    return this.read('listing clusters', () =>
      this.sel.all().map((r) => {
        try {
          return this.toRow(r);
        } catch (err) {
          if (!(err instanceof StoreError)) throw err;
          return { ...this.toRow({ ...r, config: null }), configError: err.message };
        }
      }),
    );
  }

  get(id: number): ClusterRow | undefined {
    return this.read('reading a cluster', () => {
      const r = this.selId.get(id);
      return r ? this.toRow(r) : undefined;
    });
  }

  getByName(name: string): ClusterRow | undefined {
    return this.read('reading a cluster', () => {
      const r = this.selName.get(name);
      return r ? this.toRow(r) : undefined;
    });
  }

  count(): number {
    return this.read('counting clusters', () => this.cnt.get()!.n);
  }

  private conflict(name: string): StoreError {
    return new StoreError('conflict', `a cluster named "${name}" already exists`);
  }

  private insertLocked(n: Normalised, now: number): number {
    if (this.selName.get(n.name)) throw this.conflict(n.name);
    if (n.isDefault) this.clearDefault.run(now, -1);
    // The sealed value binds the row id, known only after the insert: a placeholder first, the
    // sealed value in the same transaction.
    const placeholder = n.inCluster ? null : Buffer.alloc(0);
    const info = this.ins.run(n.name, n.description, placeholder, n.prometheusUrl, +n.inCluster, +n.isDefault, +n.enabled, now, now);
    const id = Number(info.lastInsertRowid);
    if (!n.inCluster) this.setConfig.run(sealClusterConfig(this.key(), { id, name: n.name }, n.config), id);
    return id;
  }

  private write<T>(action: string, name: string, fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      if (isUniqueViolation(err)) throw this.conflict(name);
      throw toStoreError(err, action);
    }
  }

  /** Creates a cluster; isDefault clears the previous default in the same transaction. */
  create(input: ClusterInput, opts: WriteOptions = {}): ClusterRow {
    const n = normaliseCluster(input, opts, true);
    const id = this.write(`creating cluster "${n.name}"`, n.name, () => this.insertLocked(n, Date.now()));
    return this.get(id)!;
  }

  /**
   * Changes the given fields. A new config is validated like create's; inCluster: true drops the
   * stored config; isDefault: true moves the default here (one transaction), false just clears it.
   */
  update(id: number, patch: Partial<ClusterInput>, opts: WriteOptions = {}): ClusterRow {
    const current = this.get(id);
    if (!current) throw new StoreError('not_found', `no cluster with id ${id}`);
    const { merged, configChanged } = mergePatch(current, patch);
    const n = normaliseCluster(merged, opts, configChanged);
    this.write(`updating cluster "${n.name}"`, n.name, () => {
      const now = Date.now();
      if (!this.selId.get(id)) throw new StoreError('not_found', `no cluster with id ${id}`);
      const other = this.selName.get(n.name);
      if (other && other.id !== id) throw this.conflict(n.name);
      if (n.isDefault) this.clearDefault.run(now, id);
      // Re-sealed on every update: a rename changes the binding too.
      const sealed = n.inCluster ? null : sealClusterConfig(this.key(), { id, name: n.name }, n.config);
      this.upd.run(n.name, n.description, sealed, n.prometheusUrl, +n.inCluster, +n.isDefault, +n.enabled, now, id);
    });
    return this.get(id)!;
  }

  /** Deletes a cluster; the default cluster cannot be deleted. */
  delete(id: number): void {
    this.write('deleting a cluster', '', () => {
      const r = this.selId.get(id);
      if (!r) throw new StoreError('not_found', `no cluster with id ${id}`);
      if (r.is_default === 1) throw new StoreError('invalid', 'cannot delete the default cluster; make another cluster the default first');
      this.del.run(id);
    });
  }

  /**
   * One row per context of a kubeconfig, each holding a one-context kubeconfig, all in one
   * transaction. Row names are the context names with characters outside [A-Za-z0-9._-] turned
   * into "-" (the description then records the original). The file's current context becomes the
   * default when `setDefault` is set or no cluster is the default yet. A name that is taken (or
   * repeated in the file) fails the whole import with 'conflict'.
   */
  importKubeconfig(text: string, opts: ImportOptions = {}): ClusterRow[] {
    return this.importDetailed(text, opts).rows;
  }

  /** importKubeconfig, also reporting the contexts skipped with `skipInvalid`. */
  importDetailed(text: string, opts: ImportOptions = {}): ImportResult {
    const { inputs, skipped } = importInputs(text, opts);
    const ids = this.write('importing a kubeconfig', inputs.find((n) => this.selName.get(n.name))?.name ?? '', () => {
      const now = Date.now();
      const hasDefault = this.db.prepare('SELECT 1 FROM clusters WHERE is_default = 1').get() !== undefined;
      const makeDefault = opts.setDefault === true || !hasDefault;
      return inputs.map((n) => this.insertLocked({ ...n, isDefault: n.isDefault && makeDefault }, now));
    });
    return { rows: ids.map((id) => this.get(id)!), skipped };
  }
}
