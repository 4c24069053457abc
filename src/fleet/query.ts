/**
 * GET /api/v1/fleet/search parameters: `q` (required), `kinds` (comma-separated plurals, default
 * every kind the caller may search) and `limit`. Invalid input is a 400, asking a viewer for
 * secrets a 403, both as HttpError so the app's error handler answers `{ "error": ... }`.
 */
import { HttpError } from '../util/http-error.js';
import { resourceKind } from '../k8s/resources.js';
import type { Role } from '../http/deps.js';
import { viewMayRead } from '../access/view-role.js';
import type { SearchQuery } from './types.js';

/** The kinds Kite's search covers, in its order. `secrets` and `nodes` only for admins. */
export const kSearchKinds: readonly string[] = Object.freeze([
  'pods',
  'deployments',
  'statefulsets',
  'daemonsets',
  'services',
  'configmaps',
  'secrets',
  'namespaces',
  'nodes',
  'jobs',
  'cronjobs',
  'ingresses',
  'persistentvolumeclaims',
]);

/** Kinds only admins may search: those Kubernetes' view role does not grant (view-role.ts). */
export const kAdminOnlyKinds: ReadonlySet<string> = new Set(
  kSearchKinds.filter((k) => {
    const rk = resourceKind(k);
    return !rk || !viewMayRead(rk.group, rk.plural);
  }),
);

export const kDefaultLimit = 50;
export const kMaxLimit = 1000;
/** Longest query: a DNS subdomain name (the longest Kubernetes object name). */
export const kMaxQueryLength = 253;

/** Kinds a role may search. */
export function searchableKinds(role: Role): string[] {
  return kSearchKinds.filter((k) => role === 'admin' || !kAdminOnlyKinds.has(k));
}

function one(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `query parameter "${name}" must be given once`);
  return v;
}

/** Validates the query string of a search for a caller of `role`. */
export function parseSearchQuery(query: Record<string, unknown>, role: Role): SearchQuery {
  const q = (one(query.q, 'q') ?? '').trim();
  if (q === '') throw new HttpError(400, 'query parameter "q" is required (text to find in object names)');
  if (q.length > kMaxQueryLength) throw new HttpError(400, `query parameter "q" is longer than ${kMaxQueryLength} characters`);

  const allowed = searchableKinds(role);
  let kinds = allowed;
  const rawKinds = one(query.kinds, 'kinds');
  if (rawKinds !== undefined && rawKinds.trim() !== '') {
    const asked = [...new Set(rawKinds.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''))];
    for (const k of asked) {
      if (!kSearchKinds.includes(k) || !resourceKind(k)) {
        throw new HttpError(400, `kind "${k}" cannot be searched (one of: ${kSearchKinds.join(', ')})`);
      }
      if (!allowed.includes(k)) throw new HttpError(403, `only admin tokens may search ${k}`);
    }
    kinds = kSearchKinds.filter((k) => asked.includes(k));
  }

  let limit = kDefaultLimit;
  const rawLimit = one(query.limit, 'limit');
  if (rawLimit !== undefined && rawLimit !== '') {
    if (!/^\d+$/.test(rawLimit)) throw new HttpError(400, 'query parameter "limit" must be a positive integer');
    limit = Number(rawLimit);
    if (limit < 1 || limit > kMaxLimit) throw new HttpError(400, `query parameter "limit" must be between 1 and ${kMaxLimit}`);
  }
  return { q, kinds, limit };
}
