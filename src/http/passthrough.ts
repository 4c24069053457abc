/**
 * `/k8s/:cluster/*`: the raw Kubernetes API of one cluster, so kubectl can use fleetgate as its
 * server (`kubectl --server http://HOST:PORT/k8s/NAME --token TOKEN ...`).
 *
 * Streamed both ways (relay.ts): the request body goes up and the response down as they come,
 * nothing is buffered, so watches and log follows work. The caller's Authorization and cookies
 * are never forwarded; the cluster's own credentials are added (bearer token header, or the
 * client certificate held by the cluster's pool). Viewers get what Kubernetes' `view` role grants
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
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { callerOf, type Caller } from './auth.js';
import type { UpstreamClientCache } from '../upstream/client-cache.js';
import type { ClusterDirectory } from './deps.js';
import { HttpError } from '../util/http-error.js';
import type { HttpMetrics } from './metrics.js';
import { k8sAccess } from './k8s-request.js';
import type { StreamRegistry } from './streams.js';
import { namedCluster } from './select.js';
import { relayUpstream } from './relay.js';
import { kHopByHop } from '../upstream/call.js';
import { describeAccess, viewAllows } from '../access/view-role.js';

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
    // 100-continue is this hop's business: node:http answers the caller's Expect itself, and
    // the body then goes up like any other (a body without Content-Length goes up chunked).
    if (k === 'expect') continue;
    out[k] = v;
  }
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
  const entry = namedCluster(d.directory, caller, name); // 404 unknown, 403 outside the scope, 503 unusable
  const streaming = isStream(path);
  if (streaming && d.streams) {
    // A revoked token's stream ends: closing the caller's response makes the relay abort the
    // upstream call too.
    const done = d.streams.open(caller, () => res.destroy());
    res.once('close', done);
  }
  const headers = upstreamRequestHeaders(req.headers, isAdmin);
  const client = d.cache.acquire(entry);
  // Without a body the caller stream is left alone; the server dumps it when the response ends.
  const body = hasBody(req.headers) ? req : null;
  relayUpstream(d.cache, client, headers, body, res, { method, path, timeoutMs: d.timeoutMs, streaming }, d.metrics);
}

/** Mounted with app.use('/k8s/:cluster', ...): req.url is the rest of the path with its query. */
export function passthrough(d: PassthroughDeps): RequestHandler {
  return (req: Request, res: Response) => {
    res.locals.route = kPassthroughRoute;
    proxyToCluster(d, req, res, callerOf(res), String(req.params.cluster ?? ''), req.url);
  };
}
