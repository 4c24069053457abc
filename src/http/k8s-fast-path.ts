/**
 * The /k8s passthrough without Express: the worker's request listener hands every request whose
 * URL starts with `/k8s/` here first. Express's per-request work (prototype swaps on req and res,
 * a final handler, walking the middleware stack, path-to-regexp matches, an async auth
 * middleware) cost more than the proxying itself on this path, which needs none of it.
 *
 * The same pieces as the Express route, in the same order: the metrics observation on 'finish'
 * (labelled 'unmatched' until authentication succeeds, as the Express stack labels a use-mounted
 * path that failed before its handler), authenticate() from auth.ts, proxyToCluster() from
 * passthrough.ts, errors as the Kubernetes Status body errors.ts builds, and the errorHandler's
 * log line for errors that are bugs. Anything the fast path does not recognise exactly (another
 * case, an empty or undecodable cluster name, an absolute-form URL) is left to Express, which
 * still has the /k8s routes and answers it as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditLog } from '../audit/log.js';
import { auditRefusal } from './audit.js';
import { authenticate, type Caller, type TokenVerifier } from './auth.js';
import { mapError, sendRawError } from './errors.js';
import { HttpError } from '../util/http-error.js';
import { kPassthroughRoute, proxyToCluster, type PassthroughDeps } from './passthrough.js';

export const kK8sPrefix = '/k8s/';

export interface K8sFastPathDeps extends PassthroughDeps {
  verifier: TokenVerifier;
  log: (line: string) => void;
  /** Refusals (401/403) and upgrades are recorded here. */
  audit: AuditLog;
}

/** The cluster name and the upstream path of a /k8s/NAME[/rest][?query] URL, or undefined. */
export function splitK8sUrl(url: string): { name: string; path: string } | undefined {
  if (!url.startsWith(kK8sPrefix)) return undefined;
  const from = kK8sPrefix.length;
  let stop = from;
  while (stop < url.length) {
    const c = url.charCodeAt(stop);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */) break;
    stop++;
  }
  const raw = url.slice(from, stop);
  if (raw === '') return undefined;
  let name = raw;
  if (raw.includes('%')) {
    try {
      name = decodeURIComponent(raw);
    } catch {
      return undefined; // Express answers 400 for an undecodable parameter
    }
  }
  const rest = url.slice(stop);
  return { name, path: rest.startsWith('/') ? rest : '/' + rest };
}

/**
 * A request listener prefix: returns true when it took the request, false to let Express have it.
 */
export function k8sFastPath(d: K8sFastPathDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown, caller?: Caller, cluster = '') => {
    const m = mapError(err);
    auditRefusal(d.audit, req, m.status, m.message, caller, err, cluster);
    if (m.log) {
      const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      const url = req.url ?? '';
      const q = url.indexOf('?');
      d.log(`${req.method} ${q < 0 ? url : url.slice(0, q)} → ${m.status}: ${what}`);
    }
    sendRawError(res, m.status, m.message, m.headers, true);
  };

  return (req, res) => {
    const url = req.url;
    if (url === undefined || url.charCodeAt(0) !== 0x2f || !url.startsWith(kK8sPrefix)) return false;
    const target = splitK8sUrl(url);
    if (!target) return false;

    const start = performance.now();
    let route = 'unmatched';
    res.once('finish', () => d.metrics.observe(route, req.method ?? '', res.statusCode, (performance.now() - start) / 1e3));

    const proceed = (c: Caller | HttpError) => {
      if (c instanceof HttpError) return fail(req, res, c, undefined, target.name);
      route = kPassthroughRoute;
      try {
        proxyToCluster(d, req, res, c, target.name, target.path);
      } catch (err) {
        fail(req, res, err, c, target.name);
      }
    };
    let c: ReturnType<typeof authenticate>;
    try {
      c = authenticate(d.verifier, req);
    } catch (err) {
      fail(req, res, err, undefined, target.name);
      return true;
    }
    if (c instanceof Promise) c.then(proceed, (err: unknown) => fail(req, res, err, undefined, target.name));
    else proceed(c);
    return true;
  };
}
