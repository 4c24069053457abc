/**
 * Scatter one query over many clusters and gather what answers in time.
 *
 * - Which clusters: those the caller may use, minus disabled ones; clusters the index marks
 *   unusable (error state, not built yet) go straight to `partial` with the index's reason and
 *   are not contacted (src/http/select.ts `usable`, the rule the cluster-scoped routes follow).
 * - Bounded: at most `concurrency` clusters are fetched at once; each cluster's lists are fetched
 *   together over that cluster's keep-alive agent (src/upstream/client-cache.ts, one per cluster
 *   generation on this thread).
 * - Per-cluster budget: a cluster's whole fetch (every list) must finish within `timeoutMs` of
 *   its start; when the budget runs out its requests are destroyed and the cluster is reported
 *   in `partial`. One slow or dead cluster costs the answer at most one budget, never an error.
 */
import type { UpstreamClientCache } from '../upstream/client-cache.js';
import type { IndexEntry } from '../index/types.js';
import { HttpError } from '../util/http-error.js';
import { usable } from '../upstream/usable.js';
import { getJson } from '../upstream/call.js';
import { mayUse } from './access.js';
import type { FleetAccess, PartialCluster, QueryLimits } from './types.js';

/** Plain JSON lists. */
export const kAcceptJson = 'application/json';
/**
 * Metadata-only lists where the API server supports them (Kubernetes >= 1.15), plain JSON
 * otherwise: a real cluster then sends names and timestamps instead of whole objects.
 */
export const kAcceptMetadata = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

/** Largest list body read from one cluster (a 5,000-pod list is about 11 MB). */
const kMaxListBytes = 512 * 1024 * 1024;

/** Fetches lists from one cluster within its budget. */
export interface ClusterFetch {
  readonly entry: IndexEntry;
  /** GET `path` and parse the JSON body; rejects with HttpError (upstream status, 502, 504). */
  getJson<T>(path: string, accept?: string): Promise<T>;
}

export interface ClusterSelection {
  /** Clusters to contact, sorted by name. */
  targets: IndexEntry[];
  /** Visible clusters the index already marks unusable. */
  unusable: { entry: IndexEntry; error: string }[];
}

/** The caller's clusters, split into those to contact and those known to be unusable. */
export function selectClusters(entries: readonly IndexEntry[], access: FleetAccess): ClusterSelection {
  const targets: IndexEntry[] = [];
  const unusable: ClusterSelection['unusable'] = [];
  for (const e of entries) {
    if (e.state === 'disabled' || !mayUse(access, e)) continue;
    try {
      targets.push(usable(e));
    } catch (err) {
      unusable.push({ entry: e, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { targets, unusable };
}

class BudgetExceeded extends Error {
  override name = 'BudgetExceeded';
}

/** Runs `work` for one cluster within `timeoutMs`; destroys its requests when the budget ends. */
export async function withClusterBudget<R>(
  cache: UpstreamClientCache,
  entry: IndexEntry,
  timeoutMs: number,
  work: (fetch: ClusterFetch) => Promise<R>,
): Promise<R> {
  const t0 = performance.now();
  const inflight = new Set<() => void>();
  let expired = false;
  const fetch: ClusterFetch = {
    entry,
    async getJson<T>(path: string, accept = kAcceptJson): Promise<T> {
      if (expired) throw new BudgetExceeded();
      const remaining = Math.max(1, Math.ceil(timeoutMs - (performance.now() - t0)));
      return getJson<T>(cache, cache.acquire(entry), path, remaining, { accept, maxBytes: kMaxListBytes, inflight });
    },
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      expired = true;
      for (const abort of inflight) abort();
      reject(new HttpError(504, `cluster "${entry.name}": no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    // race() subscribes to both, so the work's later rejection (destroyed requests) is handled.
    return await Promise.race([work(fetch), deadline]);
  } catch (err) {
    if (expired) throw new HttpError(504, `cluster "${entry.name}": no complete answer within ${timeoutMs} ms`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Calls `fn` on every item with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const runner = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, runner));
  return out;
}

export type ClusterOutcome<R> = { entry: IndexEntry; ok: true; value: R } | { entry: IndexEntry; ok: false; error: string };

export interface Gathered<R> {
  /** One outcome per visible, non-disabled cluster, sorted by cluster name. */
  outcomes: ClusterOutcome<R>[];
  partial: PartialCluster[];
}

/** Scatter `work` over the caller's clusters and gather every outcome; never rejects for a cluster. */
export async function scatter<R>(
  entries: readonly IndexEntry[],
  access: FleetAccess,
  cache: UpstreamClientCache,
  limits: QueryLimits,
  work: (fetch: ClusterFetch) => Promise<R>,
): Promise<Gathered<R>> {
  const { targets, unusable } = selectClusters(entries, access);
  const fetched = await mapLimit(targets, limits.concurrency, async (entry): Promise<ClusterOutcome<R>> => {
    try {
      return { entry, ok: true, value: await withClusterBudget(cache, entry, limits.timeoutMs, work) };
    } catch (err) {
      return { entry, ok: false, error: describe(err) };
    }
  });
  const outcomes: ClusterOutcome<R>[] = [...fetched, ...unusable.map(({ entry, error }) => ({ entry, ok: false as const, error }))];
  outcomes.sort((a, b) => (a.entry.name < b.entry.name ? -1 : a.entry.name > b.entry.name ? 1 : 0));
  const partial: PartialCluster[] = [];
  for (const o of outcomes) if (!o.ok) partial.push({ cluster: o.entry.name, error: o.error });
  return { outcomes, partial };
}

/** A safe one-line reason: HttpError messages name the cluster and never a credential. */
function describe(err: unknown): string {
  if (err instanceof HttpError) return err.message;
  if (err instanceof SyntaxError || err instanceof RangeError) return `invalid answer: ${err.message}`;
  return `internal error while querying the cluster (${err instanceof Error ? err.name : typeof err})`;
}
