/**
 * Admin routes of access control: cluster groups (what `group:NAME` scope rules name) and the
 * audit log.
 *
 *   GET    /api/v1/admin/groups              every group with its member clusters
 *   POST   /api/v1/admin/groups              {name, description?, clusters?}
 *   GET    /api/v1/admin/groups/:ref         by id or name
 *   PUT    /api/v1/admin/groups/:ref         {name?, description?, clusters?, addClusters?, removeClusters?}
 *   DELETE /api/v1/admin/groups/:ref         refused while a token's scope names the group
 *   GET    /api/v1/admin/audit?since=&cluster=&token=&limit=&after=
 *
 * Group writes answer after the index generation holding them is committed (read-your-writes,
 * as cluster writes): from then on every worker's scope checks see the new membership.
 */
import type { Express, Request } from 'express';
import type { AuditLog } from '../../audit/log.js';
import { requireAdmin } from '../auth.js';
import type { GroupRecord, StoreLike } from '../deps.js';
import { HttpError } from '../../util/http-error.js';

export interface AccessRouteDeps {
  store: StoreLike;
  syncBarrier: (timeoutMs: number) => Promise<boolean>;
  syncWaitMs: number;
  audit: AuditLog;
}

function body(req: Request): Record<string, unknown> {
  const b: unknown = req.body;
  if (b === undefined || b === null || typeof b !== 'object' || Array.isArray(b)) {
    throw new HttpError(400, 'expected a JSON object body (Content-Type: application/json)');
  }
  return b as Record<string, unknown>;
}

/** A time given as an ISO 8601 string or epoch milliseconds; undefined when absent. */
export function parseTime(raw: unknown, what: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) return raw;
  if (typeof raw === 'string') {
    if (/^\d{1,15}$/.test(raw)) return Number(raw);
    // Date.parse accepts much that is not ISO; ask for a date at least.
    const t = /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
    if (Number.isFinite(t)) return t;
  }
  throw new HttpError(400, `${what} must be an ISO 8601 time (e.g. 2026-01-31T12:00:00Z) or epoch milliseconds`);
}

function queryString(req: Request, key: string): string | undefined {
  const v = req.query[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `${key} must be given once`);
  return v;
}

export function registerAccessRoutes(app: Express, d: AccessRouteDeps): void {
  const admin = requireAdmin;
  const groups = () => {
    if (!d.store.groups) throw new HttpError(501, 'this store has no cluster groups');
    return d.store.groups;
  };
  const audit = () => {
    if (!d.store.audit) throw new HttpError(501, 'this store keeps no audit log');
    return d.store.audit;
  };
  /** A group by id (digits) or name; 404 when there is none. */
  const find = async (ref: string): Promise<GroupRecord> => {
    const g = /^[1-9]\d{0,15}$/.test(ref) ? await groups().get(Number(ref)) : await groups().getByName(ref);
    if (!g) throw new HttpError(404, `group "${ref}" not found`);
    return g;
  };
  const settle = async (): Promise<{ status?: number; note?: string }> => {
    if (await d.syncBarrier(d.syncWaitMs)) return {};
    return { status: 202, note: `accepted; the index did not commit a sync within ${d.syncWaitMs} ms, so access may not follow yet` };
  };

  app.get('/api/v1/admin/groups', admin, async (_req, res) => {
    res.json(await groups().list());
  });

  app.get('/api/v1/admin/groups/:ref', admin, async (req, res) => {
    res.json(await find(String(req.params.ref)));
  });

  app.post('/api/v1/admin/groups', admin, async (req, res) => {
    const b = body(req);
    const g = await groups().create({ name: b.name as string, description: b.description as string | undefined, clusters: b.clusters as string[] | undefined });
    res.locals.auditOutcome = `created group "${g.name}"`;
    const { status, note } = await settle();
    res.status(status ?? 201).json({ ...g, ...(note ? { note } : {}) });
  });

  app.put('/api/v1/admin/groups/:ref', admin, async (req, res) => {
    const b = body(req);
    const cur = await find(String(req.params.ref));
    const g = await groups().update(cur.id, {
      name: b.name as string | undefined,
      description: b.description as string | undefined,
      clusters: b.clusters as string[] | undefined,
      addClusters: b.addClusters as string[] | undefined,
      removeClusters: b.removeClusters as string[] | undefined,
    });
    res.locals.auditOutcome = `updated group "${g.name}"${g.name !== cur.name ? ` (was "${cur.name}")` : ''}: ${g.clusters.length} clusters`;
    const { status, note } = await settle();
    res.status(status ?? 200).json({ ...g, ...(note ? { note } : {}) });
  });

  app.delete('/api/v1/admin/groups/:ref', admin, async (req, res) => {
    const cur = await find(String(req.params.ref));
    await groups().delete(cur.id);
    res.locals.auditOutcome = `deleted group "${cur.name}"`;
    const { status, note } = await settle();
    res.status(status ?? 200).json({ id: cur.id, name: cur.name, deleted: true, ...(note ? { note } : {}) });
  });

  app.get('/api/v1/admin/audit', admin, async (req, res) => {
    const since = parseTime(queryString(req, 'since'), 'since');
    const cluster = queryString(req, 'cluster');
    const tokenRaw = queryString(req, 'token');
    const limitRaw = queryString(req, 'limit');
    const afterRaw = queryString(req, 'after');
    if (limitRaw !== undefined && !/^\d{1,6}$/.test(limitRaw)) throw new HttpError(400, 'limit must be a whole number');
    if (afterRaw !== undefined && !/^\d{1,15}$/.test(afterRaw)) throw new HttpError(400, 'after must be the `next` of a previous page');
    const token = tokenRaw === undefined || tokenRaw === '' ? undefined : /^\d{1,15}$/.test(tokenRaw) ? Number(tokenRaw) : tokenRaw;
    const page = await audit().query({
      since,
      cluster: cluster === '' ? undefined : cluster,
      token,
      limit: limitRaw === undefined ? undefined : Number(limitRaw),
      after: afterRaw === undefined ? undefined : Number(afterRaw),
    });
    // What this worker could not keep (its queue overflowed or the store failed), as a hint; the
    // log holds a `dropped` record for each such gap.
    res.json({ ...page, dropped: d.audit.stats().dropped });
  });
}
