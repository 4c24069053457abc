/**
 * Which cluster a cluster-scoped request is for: the `x-cluster-name` header, then the
 * `?x-cluster-name=` query parameter, then the `x-cluster-name` cookie, then the default cluster
 * (Kite's order). The result is a copied-out index head (no credentials: the client cache reads
 * those only when it has no client for the cluster); nothing is held after this returns.
 */
import type { Request } from 'express';
import type { IndexHead } from '../index/types.js';
import { canSee, outOfScope, type Caller } from './auth.js';
import type { ClusterDirectory } from './deps.js';
import { HttpError } from '../util/http-error.js';
import { usable } from '../upstream/usable.js';

export const kClusterHeader = 'x-cluster-name';

export const kNoClustersMessage =
  'no clusters registered; add one with POST /api/v1/admin/clusters or start with --kubeconfig/--sim';

/** The explicitly requested cluster name, or '' when the request names none. */
export function requestedClusterName(req: Request): string {
  const h = req.headers[kClusterHeader];
  if (typeof h === 'string' && h !== '') return h;
  const q = req.query[kClusterHeader];
  if (typeof q === 'string' && q !== '') return q;
  return cookieValue(req.headers.cookie, kClusterHeader);
}

/** One cookie's value from a Cookie header, percent-decoded; '' when absent. */
export function cookieValue(header: string | undefined, name: string): string {
  if (!header) return '';
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  }
  return '';
}

/** Looks a named cluster up for this caller: 404 unknown, 403 not allowed, 503 unusable. */
export function namedCluster(directory: ClusterDirectory, caller: Caller, name: string): IndexHead {
  return usable(findCluster(directory, caller, name));
}

/** Looks a named cluster up for this caller: 404 unknown, 403 not allowed; any state. */
export function findCluster(directory: ClusterDirectory, caller: Caller, name: string): IndexHead {
  const entry = directory.lookupHead(name);
  if (!entry) {
    // Outside the caller's name rules: 403 whether or not it exists, so a scope does not reveal
    // which names are registered.
    if (!canSee(caller, name)) throw outOfScope(caller, name);
    // Only to choose the message: never decode entries (and their credentials) for a miss.
    if (directory.count() === 0) throw new HttpError(404, kNoClustersMessage);
    throw new HttpError(404, `cluster "${name}" not found`);
  }
  if (!canSee(caller, entry)) throw outOfScope(caller, name);
  return entry;
}

/** The cluster a request is for, by header, query, cookie, then default. */
export function selectCluster(req: Request, directory: ClusterDirectory, caller: Caller): IndexHead {
  const name = requestedClusterName(req);
  if (name) return namedCluster(directory, caller, name);
  const def = directory.lookupDefaultHead();
  if (def && canSee(caller, def)) return usable(def);
  // No default, or one this caller may not use: the first (by name) it may use.
  const all = directory.listSummary();
  if (all.length === 0) throw new HttpError(404, kNoClustersMessage);
  const first = all.find((e) => canSee(caller, e) && e.state !== 'disabled');
  if (!first) {
    if (all.some((e) => canSee(caller, e))) throw new HttpError(503, 'every cluster this token may use is disabled');
    throw new HttpError(403, `token "${caller.record.name}" may not use any registered cluster`);
  }
  // Chosen from summaries (no credentials decoded); its head may be gone if a commit removed it
  // between the two reads.
  const head = directory.lookupHead(first.name);
  if (!head) throw new HttpError(503, `cluster "${first.name}" was removed while being selected; retry`, { 'Retry-After': '1' });
  return usable(head);
}
