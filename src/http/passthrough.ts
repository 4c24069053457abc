/**
 * `/k8s/:cluster/*`: the raw Kubernetes API of one cluster, so kubectl can use fleetgate as its
 * server (`kubectl --server http://HOST:PORT/k8s/NAME --token TOKEN ...`).
 *
 * Streamed both ways: the request body is piped up and the response piped down, nothing is
 * buffered, so watches and log follows work. The caller's Authorization and cookies are never
 * forwarded; the cluster's own credentials are added (bearer token header, or the client
 * certificate held by the cached agent). Viewers get what Kubernetes' `view` role grants
 * (view-role.ts) and may not impersonate; paths that could be read two ways are refused for
 * everyone (k8s-request.ts).
 *
 * proxyToCluster works on plain node:http objects: the worker's /k8s fast path
 * (k8s-fast-path.ts) calls it without entering Express; the Express route below (reached for
 * spellings the fast path leaves alone, e.g. /K8S/...) calls it too, so both behave alike.
 *
 * Connection upgrades (exec, attach, port-forward) arrive on the server's 'upgrade' event and
 * never reach a request listener: upgrade.ts serves them with the same checks.
 */
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { callerOf, canSee, type Caller } from './auth.js';
import type { UpstreamClientCache } from './client-cache.js';
import type { ClusterDirectory } from './deps.js';
import { HttpError, sendRawError } from './errors.js';
import type { HttpMetrics } from './metrics.js';
import { k8sAccess } from './k8s-request.js';
import type { StreamRegistry } from './streams.js';
import { namedCluster } from './select.js';
import { kHopByHop, responseHeaders, startUpstream } from './upstream.js';
import { describeAccess, viewAllows } from './view-role.js';

export const kPassthroughRoute = '/k8s/:cluster/*';

const kReadMethods = new Set(['GET', 'HEAD']);

export interface PassthroughDeps {
  directory: ClusterDirectory;
  cache: UpstreamClientCache;
  metrics: HttpMetrics;
  timeoutMs: number;
  /** Open watches, follows and sessions by token: capped, and cut when the token is revoked. */
  streams?: StreamRegistry;
}

/** Request headers to send upstream. */
export function upstreamRequestHeaders(h: IncomingHttpHeaders, isAdmin: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const k in h) {
    const v = h[k];
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

/** A watch or a log follow (`?watch=1`, `?follow=true`): a long-lived stream. */
export function isStream(url: string): boolean {
  const q = url.indexOf('?');
  if (q < 0) return false;
  // Most queries name neither: skip parsing them.
  if (!url.includes('watch', q) && !url.includes('follow', q)) return false;
  const p = new URLSearchParams(url.slice(q + 1));
  const on = (k: string) => {
    const v = p.get(k);
    return v !== null && v !== 'false' && v !== '0';
  };
  return on('watch') || on('follow');
}

/** Does this request carry a body (RFC 9112 6.3: a request without either header has none)? */
function hasBody(h: IncomingHttpHeaders): boolean {
  if (h['transfer-encoding'] !== undefined) return true;
  const n = h['content-length'];
  return n !== undefined && n !== '0';
}

/**
 * 400 for a path that could be read two ways (any caller); 403 when a viewer asks for more than
 * Kubernetes' `view` role grants. Shared by the passthrough and the upgrade tunnel.
 */
export function refuseBeyondRole(caller: Caller, method: string, path: string): void {
  const access = k8sAccess(method, path);
  if (caller.record.role === 'admin') return;
  if (!kReadMethods.has(method)) {
    throw new HttpError(403, `token "${caller.record.name}" is a viewer: ${method} through /k8s is not allowed`);
  }
  if (!viewAllows(access)) {
    throw new HttpError(403, `token "${caller.record.name}" is a viewer: ${describeAccess(access)} is not granted by Kubernetes' view role`);
  }
}

/**
 * Checks the caller's rights on cluster `name`, then streams `req` to the cluster's API server
 * at `path` (the rest of the URL after /k8s/NAME, with its query, starting with '/') and the
 * answer back. Throws HttpError before any I/O (403, 404, 503); errors after that (502, 504) are
 * sent as a Kubernetes Status, or end the response if it had started.
 */
export function proxyToCluster(d: PassthroughDeps, req: IncomingMessage, res: ServerResponse, caller: Caller, name: string, path: string): void {
  const isAdmin = caller.record.role === 'admin';
  const method = req.method ?? 'GET';
  refuseBeyondRole(caller, method, path);
  if (!canSee(caller, name)) throw new HttpError(403, `token "${caller.record.name}" may not use cluster "${name}"`);
  const entry = namedCluster(d.directory, caller, name);
  const streaming = isStream(path);
  let up: ClientRequest | undefined;
  if (streaming && d.streams) {
    const done = d.streams.open(caller, () => {
      res.destroy();
      up?.destroy();
    });
    res.once('close', done);
  }
  const client = d.cache.acquire(entry);
  const piped = hasBody(req.headers);
  try {
    up = startUpstream(
      d.cache,
      client,
      upstreamRequestHeaders(req.headers, isAdmin),
      { method, path, timeoutMs: d.timeoutMs, streaming },
      d.metrics,
      (err, upRes) => {
        if (err) {
          if (piped) req.unpipe(up!);
          sendRawError(res, err.status, err.message, err.headers, true);
          return;
        }
        res.writeHead(upRes!.statusCode ?? 502, responseHeaders(upRes!.headers));
        if (streaming) res.flushHeaders();
        upRes!.on('error', () => res.destroy());
        upRes!.on('aborted', () => res.destroy());
        upRes!.pipe(res);
      },
    );
  } catch (err) {
    // The request could not even be built: nothing will release the client otherwise.
    d.cache.release(client);
    throw err;
  }

  // Caller gone: abandon the upstream exchange too.
  const upstream = up;
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  if (piped) {
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  } else {
    // No body to stream: end the upstream request now rather than when the (empty) caller
    // stream ends a tick later. The server dumps the caller stream when the response finishes.
    upstream.end();
  }
}

/** Mounted with app.use('/k8s/:cluster', ...): req.url is the rest of the path with its query. */
export function passthrough(d: PassthroughDeps): RequestHandler {
  return (req: Request, res: Response) => {
    res.locals.route = kPassthroughRoute;
    proxyToCluster(d, req, res, callerOf(res), String(req.params.cluster ?? ''), req.url);
  };
}
