/**
 * Fleet overview: Kite's per-cluster overview counts (src/k8s/overview.ts, as the one-cluster route counts them)
 * for every cluster the caller may use, plus state and version from the index, and fleet totals
 * over the clusters that answered.
 */
import type { UpstreamClientCache } from '../upstream/client-cache.js';
import { countOverview, type OverviewLists } from '../k8s/overview.js';
import type { IndexEntry } from '../index/types.js';
import { roleMayRead } from '../access/view-role.js';
import { kAcceptJson, kAcceptMetadata, scatter, type ClusterFetch } from './scatter.js';
import type { ClusterOverview, FleetAccess, OverviewResult, OverviewTotals, QueryLimits } from './types.js';

/** Nodes and pods need their status; namespaces and services are only counted. Nodes only when `nodes`. */
async function fetchOverviewLists(fetch: ClusterFetch, nodes: boolean): Promise<OverviewLists> {
  return (await Promise.all([
    nodes ? fetch.getJson('/api/v1/nodes', kAcceptJson) : null,
    fetch.getJson('/api/v1/pods', kAcceptJson),
    fetch.getJson('/api/v1/namespaces', kAcceptMetadata),
    fetch.getJson('/api/v1/services', kAcceptMetadata),
  ])) as OverviewLists;
}

function emptyTotals(nodes: boolean): OverviewTotals {
  return { clusters: 0, answered: 0, totalNodes: nodes ? 0 : null, readyNodes: nodes ? 0 : null, totalPods: 0, runningPods: 0, totalNamespaces: 0, totalServices: 0 };
}

export async function runOverview(
  entries: readonly IndexEntry[],
  access: FleetAccess,
  cache: UpstreamClientCache,
  limits: QueryLimits,
): Promise<OverviewResult> {
  const t0 = performance.now();
  // Counted on the thread that parsed the lists: only the numbers travel back.
  const nodes = roleMayRead(access.role, '', 'nodes');
  const { outcomes, partial } = await scatter(entries, access, cache, limits, async (fetch) =>
    countOverview(fetch.entry, ...(await fetchOverviewLists(fetch, nodes))),
  );
  const totals = emptyTotals(nodes);
  const clusters: ClusterOverview[] = outcomes.map((o) => {
    totals.clusters++;
    const base = { cluster: o.entry.name, state: o.entry.state, version: o.entry.version, prometheusEnabled: o.entry.prometheusUrl !== '' };
    if (!o.ok) {
      return { ...base, totalNodes: null, readyNodes: null, totalPods: null, runningPods: null, totalNamespaces: null, totalServices: null, error: o.error };
    }
    const v = o.value;
    totals.answered++;
    if (totals.totalNodes !== null) totals.totalNodes += v.totalNodes ?? 0;
    if (totals.readyNodes !== null) totals.readyNodes += v.readyNodes ?? 0;
    totals.totalPods += v.totalPods;
    totals.runningPods += v.runningPods;
    totals.totalNamespaces += v.totalNamespaces;
    totals.totalServices += v.totalServices;
    return {
      ...base,
      totalNodes: v.totalNodes,
      readyNodes: v.readyNodes,
      totalPods: v.totalPods,
      runningPods: v.runningPods,
      totalNamespaces: v.totalNamespaces,
      totalServices: v.totalServices,
    };
  });
  return { clusters, totals, partial, tookMs: Math.round(performance.now() - t0) };
}
