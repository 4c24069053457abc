/**
 * Admin routes: clusters (list, create, update, delete, import) and tokens.
 *
 * Read-your-writes: a cluster write goes to the store, then awaits syncBarrier (a sync that
 * began after the write has committed), then reads the cluster back from the index, so the
 * response carries its new state, version and error. If the barrier times out the write still
 * stands and the answer is 202 with a note (a bounded wait, never a fixed sleep).
 *
 * Responses never carry a kubeconfig or any part of a client config.
 */
import type { Express, Request } from 'express';
import type { ClusterState, IndexSummary } from '../../index/types.js';
import { requireAdmin, type TokenVerifier } from '../auth.js';
import type { ClusterDirectory, ClusterInput, ClusterRow, Role, StoreLike, TokenRecord } from '../deps.js';
import { K8sConfigError } from '../../k8s/errors.js';
import { fileReferences } from '../../k8s/kubeconfig.js';
import { HttpError } from '../../util/http-error.js';
import type { StreamRegistry } from '../streams.js';
import { parseDuration } from '../../util/duration.js';
import { parseTime } from './access.js';

/** A cluster as admin responses show it: the row without its config, plus its index state. */
export interface ClusterView extends Omit<ClusterRow, 'config'> {
  /** 'pending' when the committed index does not hold the cluster (yet). */
  state: ClusterState | 'pending';
  version: string;
  error: string;
  /** The groups the committed index has it in. */
  groups: readonly string[];
}

export function clusterView(row: ClusterRow, entry: IndexSummary | undefined): ClusterView {
  const live = entry && entry.id === row.id ? entry : undefined;
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    prometheusUrl: row.prometheusUrl,
    inCluster: row.inCluster,
    isDefault: row.isDefault,
    enabled: row.enabled,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    state: live ? live.state : 'pending',
    version: live ? live.version : '',
    error: live ? live.error : '',
    groups: live?.groups ?? [],
  };
}

export function tokenView(r: TokenRecord): TokenRecord {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    clusters: r.clusters ?? null,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt ?? null,
    lastUsedAt: r.lastUsedAt ?? null,
  };
}

/** Shortest ttl accepted: anything shorter expires before a client could use it. */
const kMinTtlMs = 1000;

/**
 * A token's expiry from a create body: `expiresAt` (ISO 8601 or epoch ms) or `ttl` (a duration
 * such as 90s, 24h, 30d), not both; null when neither. 400 for a time in the past.
 */
export function expiryOf(b: Record<string, unknown>, now = Date.now()): number | null {
  const hasAt = b.expiresAt !== undefined && b.expiresAt !== null;
  const hasTtl = b.ttl !== undefined && b.ttl !== null;
  if (hasAt && hasTtl) throw new HttpError(400, 'give expiresAt or ttl, not both');
  if (hasTtl) {
    let ms: number;
    try {
      if (typeof b.ttl !== 'string') throw new Error('not a string');
      ms = parseDuration(b.ttl);
    } catch {
      throw new HttpError(400, 'ttl must be a duration such as 90s, 15m, 24h or 30d');
    }
    if (ms < kMinTtlMs) throw new HttpError(400, 'ttl must be at least 1s');
    return now + ms;
  }
  if (!hasAt) return null;
  const at = parseTime(b.expiresAt, 'expiresAt')!;
  if (at <= now) throw new HttpError(400, `expiresAt ${new Date(at).toISOString()} is in the past`);
  return at;
}

export interface AdminRouteDeps {
  directory: ClusterDirectory;
  store: StoreLike;
  syncBarrier: (timeoutMs: number) => Promise<boolean>;
  requestSync: () => void;
  syncWaitMs: number;
  verifier: TokenVerifier;
  allowExec: boolean;
  /** Open streams by token: a deleted token's are cut at once on this worker. */
  streams?: StreamRegistry;
}

function objectBody(req: Request): Record<string, unknown> {
  const b: unknown = req.body;
  if (b === undefined || b === null || typeof b !== 'object' || Array.isArray(b)) {
    throw new HttpError(400, 'expected a JSON object body (Content-Type: application/json)');
  }
  return b as Record<string, unknown>;
}

function optString(b: Record<string, unknown>, key: string, alias?: string): string | undefined {
  const v = b[key] ?? (alias ? b[alias] : undefined);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `${key} must be a string`);
  return v;
}

function optBool(b: Record<string, unknown>, key: string): boolean | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new HttpError(400, `${key} must be true or false`);
  return v;
}

/** The fields of a cluster create or update body (Kite's `prometheusURL` accepted too). */
export function clusterFields(b: Record<string, unknown>): Partial<ClusterInput> {
  const out: Partial<ClusterInput> = {};
  const name = optString(b, 'name');
  if (name !== undefined) {
    if (name.trim() === '' || name.length > 100) throw new HttpError(400, 'name must be 1 to 100 characters');
    out.name = name;
  }
  const description = optString(b, 'description');
  if (description !== undefined) out.description = description;
  const config = optString(b, 'config');
  if (config !== undefined) out.config = config;
  const prometheusUrl = optString(b, 'prometheusUrl', 'prometheusURL');
  if (prometheusUrl !== undefined) out.prometheusUrl = prometheusUrl;
  for (const k of ['inCluster', 'isDefault', 'enabled'] as const) {
    const v = optBool(b, k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * 400 for a kubeconfig that names files: sent over the API it must carry its data inline, or
 * fleetgate would read files on its own host (its encryption key, a FIFO, /dev/zero) at sync
 * time and send them to whatever server the kubeconfig names.
 */
export function refuseFileReferences(text: string | undefined): void {
  if (typeof text !== 'string' || text.trim() === '') return;
  let refs: string[];
  try {
    refs = fileReferences(text);
  } catch (err) {
    // Not a kubeconfig this parser reads: the store's own validation answers it.
    if (err instanceof K8sConfigError) return;
    throw err;
  }
  if (refs.length > 0) {
    throw new HttpError(
      400,
      `kubeconfig: ${refs.join(', ')} ${refs.length === 1 ? 'names a file' : 'name files'} on the fleetgate host; send the data inline (certificate-authority-data, client-certificate-data, client-key-data, token)`,
    );
  }
}

function parseId(raw: string): number {
  if (!/^[1-9]\d{0,15}$/.test(raw)) throw new HttpError(400, `invalid cluster id "${raw}"`);
  return Number(raw);
}

/** The rows an importKubeconfig result carries (an array, or an object holding one). */
function importedRows(result: unknown): { rows: ClusterRow[]; skipped: { name: string; reason: string }[] } {
  const skipped: { name: string; reason: string }[] = [];
  let rows: unknown = result;
  if (result && typeof result === 'object' && !Array.isArray(result)) {
    const r = result as Record<string, unknown>;
    rows = r.rows ?? r.created ?? r.clusters ?? r.imported ?? [];
    if (Array.isArray(r.skipped)) {
      for (const s of r.skipped) {
        if (typeof s === 'string') skipped.push({ name: s, reason: '' });
        else if (s && typeof s === 'object') {
          const o = s as Record<string, unknown>;
          skipped.push({ name: String(o.name ?? o.context ?? ''), reason: String(o.reason ?? o.error ?? '') });
        }
      }
    }
  }
  return { rows: Array.isArray(rows) ? (rows as ClusterRow[]) : [], skipped };
}

export function registerAdminRoutes(app: Express, d: AdminRouteDeps): void {
  const admin = requireAdmin;
  const lookup = (name: string) => d.directory.lookupHead(name);

  /** Waits for read-your-writes; returns the status to answer with and an optional note. */
  const settle = async (okStatus: number): Promise<{ status: number; note?: string }> => {
    const committed = await d.syncBarrier(d.syncWaitMs);
    if (committed) return { status: okStatus };
    return { status: 202, note: `accepted; the index did not commit a sync within ${d.syncWaitMs} ms, so state may be stale` };
  };

  // Kite's syncNow: ask the sync worker for a pass. Without ?wait it never blocks the caller (the
  // load suite drives commits with it); with ?wait=true it answers once a pass that began after
  // the request has committed.
  app.post('/api/v1/admin/sync', admin, async (req, res) => {
    if (req.query.wait === 'true' || req.query.wait === '1') {
      const { status, note } = await settle(200);
      res.status(status).json({ committed: status === 200, generation: d.directory.generation(), ...(note ? { note } : {}) });
      return;
    }
    d.requestSync();
    res.status(202).json({ requested: true });
  });

  app.get('/api/v1/admin/clusters', admin, async (_req, res) => {
    // One row that cannot be decrypted must not hide the others (or itself) from the admin who
    // has to fix it; its index entry carries the reason.
    const rows = await (d.store.clusters.listForSync ? d.store.clusters.listForSync() : d.store.clusters.list());
    const byName = new Map(d.directory.listSummary().map((e) => [e.name, e]));
    res.json(rows.map((r) => clusterView(r, byName.get(r.name))));
  });

  app.post('/api/v1/admin/clusters', admin, async (req, res) => {
    const fields = clusterFields(objectBody(req));
    if (fields.name === undefined) throw new HttpError(400, 'name is required');
    if (!fields.inCluster && !fields.config) throw new HttpError(400, 'config (a kubeconfig) is required unless inCluster is true');
    refuseFileReferences(fields.config);
    if (await d.store.clusters.getByName(fields.name)) throw new HttpError(409, `cluster "${fields.name}" already exists`);
    res.locals.auditCluster = fields.name;
    const row = await d.store.clusters.create(fields as ClusterInput, { allowExec: d.allowExec });
    const { status, note } = await settle(201);
    res.status(status).json({ ...clusterView(row, lookup(row.name)), ...(note ? { note } : {}) });
  });

  app.put('/api/v1/admin/clusters/:id', admin, async (req, res) => {
    const id = parseId(req.params.id as string);
    const patch = clusterFields(objectBody(req));
    refuseFileReferences(patch.config);
    const before = await d.store.clusters.get(id);
    if (!before) throw new HttpError(404, `cluster ${id} not found`);
    res.locals.auditCluster = before.name;
    if (patch.name !== undefined && patch.name !== before.name && (await d.store.clusters.getByName(patch.name))) {
      throw new HttpError(409, `cluster "${patch.name}" already exists`);
    }
    const row = await d.store.clusters.update(id, patch, { allowExec: d.allowExec });
    const { status, note } = await settle(200);
    res.status(status).json({ ...clusterView(row, lookup(row.name)), ...(note ? { note } : {}) });
  });

  app.delete('/api/v1/admin/clusters/:id', admin, async (req, res) => {
    const id = parseId(req.params.id as string);
    const row = await d.store.clusters.get(id);
    if (!row) throw new HttpError(404, `cluster ${id} not found`);
    res.locals.auditCluster = row.name;
    if (row.isDefault) throw new HttpError(400, `cluster "${row.name}" is the default; make another cluster the default first`);
    await d.store.clusters.delete(id);
    const { status, note } = await settle(200);
    const stillListed = lookup(row.name)?.id === id;
    res.status(status).json({ id, name: row.name, deleted: true, inIndex: stillListed, ...(note ? { note } : {}) });
  });

  app.post('/api/v1/admin/clusters/import', admin, async (req, res) => {
    let text: string;
    if (typeof req.body === 'string') text = req.body;
    else if (req.body && typeof req.body === 'object' && typeof (req.body as { config?: unknown }).config === 'string') {
      text = (req.body as { config: string }).config;
    } else throw new HttpError(400, 'send a kubeconfig as the body (Content-Type: application/yaml) or JSON {"config": "..."}');
    if (text.trim() === '') throw new HttpError(400, 'empty kubeconfig');
    refuseFileReferences(text);
    const result = await d.store.clusters.importKubeconfig(text, { allowExec: d.allowExec });
    const { rows, skipped } = importedRows(result);
    res.locals.auditOutcome = `imported ${rows.length} clusters${rows.length ? ': ' + rows.map((r) => r.name).join(', ') : ''}`;
    const { status, note } = await settle(201);
    res.status(status).json({
      clusters: rows.map((r) => clusterView(r, lookup(r.name))),
      ...(skipped.length ? { skipped } : {}),
      ...(note ? { note } : {}),
    });
  });

  app.get('/api/v1/admin/tokens', admin, async (_req, res) => {
    res.json((await d.store.tokens.list()).map(tokenView));
  });

  app.post('/api/v1/admin/tokens', admin, async (req, res) => {
    const b = objectBody(req);
    const name = b.name;
    if (typeof name !== 'string' || name.trim() === '' || name.length > 100) throw new HttpError(400, 'name must be a string of 1 to 100 characters');
    const role = b.role ?? 'viewer';
    if (role !== 'admin' && role !== 'viewer') throw new HttpError(400, 'role must be "admin" or "viewer"');
    let clusters: string[] | null = null;
    if (b.clusters !== undefined && b.clusters !== null) {
      if (!Array.isArray(b.clusters) || !b.clusters.every((c) => typeof c === 'string' && c !== '')) {
        throw new HttpError(400, 'clusters must be a list of scope rules: cluster names, globs such as "prod-*", "group:NAME", each optionally preceded by "!"');
      }
      clusters = b.clusters as string[];
    }
    const expiresAt = expiryOf(b);
    // The store checks the rules (malformed rule, unknown group: 400) before anything is written.
    const { token, record } = await d.store.tokens.create({ name, role: role as Role, clusters, expiresAt });
    res.locals.auditOutcome = `created ${record.role} token "${record.name}" (id ${record.id})`;
    res.status(201).json({ ...tokenView(record), token });
  });

  app.delete('/api/v1/admin/tokens/:id', admin, async (req, res) => {
    const raw = req.params.id as string;
    const record = (await d.store.tokens.list()).find((t) => String(t.id) === raw);
    if (!record) throw new HttpError(404, `token ${raw} not found`);
    await d.store.tokens.delete(record.id);
    d.verifier.forget(record.id);
    d.streams?.revoke(record.id);
    res.locals.auditOutcome = `deleted token "${record.name}" (id ${record.id})`;
    res.json({ id: record.id, name: record.name, deleted: true });
  });
}
