/**
 * Fleet search: every kind asked for, from every cluster the caller may use, names matched as a
 * case-insensitive substring. Each cluster keeps only its best `limit` matches (and a count), so
 * a pool thread's memory and its answer stay small however many objects match.
 *
 * Order: exact name matches first, then names starting with the text, then the rest; within
 * each, by name, then cluster, kind (in kSearchKinds order) and namespace. Deterministic, so the
 * top `limit` of a merge of per-cluster top-`limit`s is the top `limit` of everything.
 */
import type { UpstreamClientCache } from '../upstream/client-cache.js';
import { resourceKind, resourcePath } from '../k8s/resources.js';
import { roleMayRead } from '../access/view-role.js';
import type { IndexEntry } from '../index/types.js';
import { kSearchKinds } from './query.js';
import { kAcceptMetadata, scatter, type ClusterFetch } from './scatter.js';
import type { FleetAccess, QueryLimits, SearchItem, SearchQuery, SearchResult } from './types.js';

interface ListOfMeta {
  items?: { metadata?: { name?: unknown; namespace?: unknown; creationTimestamp?: unknown } }[];
}

const kKindOrder = new Map(kSearchKinds.map((k, i) => [k, i]));

/** 0 exact, 1 prefix, 2 substring (case-insensitive); `qLower` is the lower-cased text. */
export function matchRank(name: string, qLower: string): number {
  const n = name.toLowerCase();
  return n === qLower ? 0 : n.startsWith(qLower) ? 1 : 2;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The result order for a query (see the module comment). */
export function itemComparator(q: string): (a: SearchItem, b: SearchItem) => number {
  const qLower = q.toLowerCase();
  return (a, b) =>
    matchRank(a.name, qLower) - matchRank(b.name, qLower) ||
    cmp(a.name, b.name) ||
    cmp(a.cluster, b.cluster) ||
    (kKindOrder.get(a.kind) ?? 99) - (kKindOrder.get(b.kind) ?? 99) ||
    cmp(a.namespace, b.namespace);
}

/** Appends the objects of `list` whose names contain `qLower` to `out`. */
export function collectMatches(list: ListOfMeta, cluster: string, kind: string, qLower: string, out: SearchItem[]): void {
  for (const item of list.items ?? []) {
    const m = item?.metadata;
    const name = m?.name;
    if (typeof name !== 'string' || !name.toLowerCase().includes(qLower)) continue;
    out.push({
      cluster,
      kind,
      namespace: typeof m!.namespace === 'string' ? m!.namespace : '',
      name,
      createdAt: typeof m!.creationTimestamp === 'string' ? m!.creationTimestamp : '',
    });
  }
}

interface ClusterMatches {
  items: SearchItem[];
  total: number;
}

/** One cluster's best `limit` matches over the query's kinds. */
export async function searchCluster(fetch: ClusterFetch, query: SearchQuery): Promise<ClusterMatches> {
  const qLower = query.q.toLowerCase();
  const found: SearchItem[] = [];
  await Promise.all(
    query.kinds.map(async (kind) => {
      const rk = resourceKind(kind);
      if (!rk) return;
      const list = await fetch.getJson<ListOfMeta>(resourcePath(rk, ''), kAcceptMetadata);
      collectMatches(list, fetch.entry.name, kind, qLower, found);
    }),
  );
  found.sort(itemComparator(query.q));
  return { items: found.slice(0, query.limit), total: found.length };
}

/** The whole search, run on whichever thread owns `cache` (a pool thread, or inline). */
export async function runSearch(
  entries: readonly IndexEntry[],
  access: FleetAccess,
  query: SearchQuery,
  cache: UpstreamClientCache,
  limits: QueryLimits,
): Promise<SearchResult> {
  const t0 = performance.now();
  // The HTTP worker refused kinds beyond the caller's role already; the thread that reaches the
  // clusters holds to the same rule rather than trust the message.
  const readable = query.kinds.filter((k) => {
    const rk = resourceKind(k);
    return rk !== undefined && roleMayRead(access.role, rk.group, rk.plural);
  });
  const asked = { ...query, kinds: readable };
  const { outcomes, partial } = await scatter(entries, access, cache, limits, (fetch) => searchCluster(fetch, asked));
  const items: SearchItem[] = [];
  let total = 0;
  for (const o of outcomes) {
    if (!o.ok) continue;
    items.push(...o.value.items);
    total += o.value.total;
  }
  items.sort(itemComparator(query.q));
  if (items.length > query.limit) items.length = query.limit;
  return { q: query.q, kinds: query.kinds, items, total, clusters: outcomes.length, partial, tookMs: Math.round(performance.now() - t0) };
}
