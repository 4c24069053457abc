/**
 * Cluster-scoped read routes: the overview and the built-in resource kinds. The cluster comes
 * from selectCluster (header, query, cookie, default). Lists and objects are streamed through
 * from the API server unchanged; upstream errors become `{ "error": ... }` with their status.
 */
import type { Express, Request, Response } from 'express';
import type { IndexHead } from '../../index/types.js';
import { countOverview, type OverviewLists } from '../../k8s/overview.js';
import { callerOf } from '../auth.js';
import type { UpstreamClientCache } from '../../upstream/client-cache.js';
import type { ClusterDirectory } from '../deps.js';
import { HttpError } from '../../util/http-error.js';
import type { HttpMetrics } from '../metrics.js';
import { kAllNamespaces, kPassThroughQuery, resourceKind, resourcePath } from '../../k8s/resources.js';
import { selectCluster } from '../select.js';
import { callUpstream, getJson, readBody, upstreamErrorMessage } from '../../upstream/call.js';
import { roleMayRead } from '../../access/view-role.js';

export interface ResourceRouteDeps {
  directory: ClusterDirectory;
  cache: UpstreamClientCache;
  metrics: HttpMetrics;
  timeoutMs: number;
}

function passThroughQuery(req: Request): string {
  const p = new URLSearchParams();
  for (const k of kPassThroughQuery) {
    const v = req.query[k];
    if (typeof v === 'string' && v !== '') p.set(k, v);
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

/** Upstream 401 means fleetgate's credentials for the cluster were refused, not the caller's. */
function callerStatus(upstream: number): number {
  return upstream === 401 ? 502 : upstream;
}

export function registerResourceRoutes(app: Express, d: ResourceRouteDeps): void {
  app.get('/api/v1/overview', async (req, res) => {
    const caller = callerOf(res);
    const entry = selectCluster(req, d.directory, caller);
    const get = <T>(path: string) => getJson<T>(d.cache, d.cache.acquire(entry), path, d.timeoutMs, { metrics: d.metrics });
    let lists: OverviewLists;
    try {
      lists = (await Promise.all([
        roleMayRead(caller.record.role, '', 'nodes') ? get('/api/v1/nodes') : null,
        get('/api/v1/pods'),
        get('/api/v1/namespaces'),
        get('/api/v1/services'),
      ])) as OverviewLists;
    } catch (err) {
      if (err instanceof HttpError && err.status === 401) throw new HttpError(502, err.message);
      throw err;
    }
    res.json(countOverview(entry, ...lists));
  });

  const serve = async (req: Request, res: Response, namespace: string | undefined, name: string | undefined) => {
    const resource = String(req.params.resource);
    const kind = resourceKind(resource);
    if (!kind) throw new HttpError(404, `unknown resource "${resource}"`);
    const caller = callerOf(res);
    if (!roleMayRead(caller.record.role, kind.group, kind.plural)) {
      throw new HttpError(403, `token "${caller.record.name}" is a viewer: ${resource} are not granted by Kubernetes' view role`);
    }
    let ns = namespace === undefined || namespace === kAllNamespaces ? '' : namespace;
    if (!kind.namespaced) ns = '';
    if (name !== undefined && kind.namespaced && ns === '') {
      throw new HttpError(400, `${resource} are namespaced: use /api/v1/${resource}/NAMESPACE/${name}`);
    }
    const entry = selectCluster(req, d.directory, caller);
    const path = resourcePath(kind, ns, name) + (name === undefined ? passThroughQuery(req) : '');
    const client = d.cache.acquire(entry);
    const { abort, response } = callUpstream(
      d.cache,
      client,
      { method: 'GET', path, headers: { accept: 'application/json' }, timeoutMs: d.timeoutMs },
      d.metrics,
    );
    res.on('close', () => {
      if (!res.writableFinished) abort();
    });
    const upRes = await response;
    const status = upRes.statusCode;
    if (status < 200 || status >= 300) {
      const body = await readBody(upRes.body, 1024 * 1024);
      throw new HttpError(callerStatus(status), upstreamErrorMessage(entry.name, status, body));
    }
    const headers: Record<string, string> = { 'content-type': String(upRes.headers['content-type'] ?? 'application/json') };
    if (upRes.headers['content-length']) headers['content-length'] = String(upRes.headers['content-length']);
    res.writeHead(status, headers);
    upRes.body.on('error', () => res.destroy());
    upRes.body.pipe(res);
  };

  app.get('/api/v1/:resource', (req, res) => serve(req, res, undefined, undefined));
  app.get('/api/v1/:resource/:namespace', (req, res) => serve(req, res, req.params.namespace, undefined));
  app.get('/api/v1/:resource/:namespace/:name', (req, res) => serve(req, res, req.params.namespace, req.params.name));
}
