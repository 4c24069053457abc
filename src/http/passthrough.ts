/**
 * `/k8s/:cluster/*`: the raw Kubernetes API of one cluster, so kubectl can use fleetgate as its
 * server (`kubectl --server http://HOST:PORT/k8s/NAME --token TOKEN ...`).
 *
 * Streamed both ways: the request body is piped up and the response piped down, nothing is
 * buffered, so watches and log follows work. The caller's Authorization and cookies are never
 * forwarded; the cluster's own credentials are added (bearer token header, or the client
 * certificate held by the cached agent). Viewers may only read (GET, HEAD, OPTIONS) and may not
 * impersonate.
 *
 * Not supported: connection upgrades (exec, attach, port-forward), which arrive on the server's
 * 'upgrade' event and never reach Express.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { callerOf, canSee } from './auth.js';
import type { UpstreamClientCache } from './client-cache.js';
import type { ClusterDirectory } from './deps.js';
import { HttpError, mapError, sendError } from './errors.js';
import type { HttpMetrics } from './metrics.js';
import { namedCluster } from './select.js';
import { callUpstream, kHopByHop, responseHeaders } from './upstream.js';

export const kPassthroughRoute = '/k8s/:cluster/*';

const kReadVerbs = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface PassthroughDeps {
  directory: ClusterDirectory;
  cache: UpstreamClientCache;
  metrics: HttpMetrics;
  timeoutMs: number;
}

/** Request headers to send upstream. */
export function upstreamRequestHeaders(h: IncomingHttpHeaders, isAdmin: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || kHopByHop.has(k)) continue;
    if (k === 'authorization' || k === 'cookie' || k === 'x-cluster-name') continue;
    // Front-proxy identity headers are only meaningful to an API server from its own proxy.
    if (k.startsWith('x-remote-')) continue;
    if (!isAdmin && k.startsWith('impersonate-')) continue;
    out[k] = v;
  }
  // Transfer-Encoding is hop-by-hop, but a chunked body must stay chunked on the way up (Node
  // would not chunk a DELETE body by default).
  if (h['transfer-encoding'] !== undefined && h['content-length'] === undefined) out['transfer-encoding'] = 'chunked';
  return out;
}

function isStream(req: Request): boolean {
  const q = req.url.indexOf('?');
  if (q < 0) return false;
  const p = new URLSearchParams(req.url.slice(q + 1));
  const on = (k: string) => {
    const v = p.get(k);
    return v !== null && v !== 'false' && v !== '0';
  };
  return on('watch') || on('follow');
}

/** Mounted with app.use('/k8s/:cluster', ...): req.url is the rest of the path with its query. */
export function passthrough(d: PassthroughDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    res.locals.route = kPassthroughRoute;
    const caller = callerOf(res);
    const name = String(req.params.cluster ?? '');
    const isAdmin = caller.record.role === 'admin';
    if (!isAdmin && !kReadVerbs.has(req.method)) {
      throw new HttpError(403, `token "${caller.record.name}" is a viewer: ${req.method} through /k8s is not allowed`);
    }
    if (!canSee(caller, name)) throw new HttpError(403, `token "${caller.record.name}" may not use cluster "${name}"`);
    const entry = namedCluster(d.directory, caller, name);
    const client = d.cache.acquire(entry);
    const streaming = isStream(req);
    const { req: up, response } = callUpstream(
      d.cache,
      client,
      { method: req.method, path: req.url, headers: upstreamRequestHeaders(req.headers, isAdmin), timeoutMs: d.timeoutMs, streaming },
      d.metrics,
    );

    // Caller gone: abandon the upstream exchange too.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.on('error', () => up.destroy());
    req.pipe(up);

    let upRes;
    try {
      upRes = await response;
    } catch (err) {
      req.unpipe(up);
      const m = mapError(err);
      sendError(res, m.status, m.message, m.headers);
      return;
    }
    res.writeHead(upRes.statusCode ?? 502, responseHeaders(upRes.headers));
    if (streaming) res.flushHeaders();
    upRes.on('error', () => res.destroy());
    upRes.on('aborted', () => res.destroy());
    upRes.pipe(res);
  };
}
