/**
 * Kite's overview counts of one cluster, from its node, pod, namespace and service lists: the one
 * definition the cluster-scoped /api/v1/overview route and the fleet overview both use.
 */
import type { IndexHead } from '../index/types.js';

/** The counts; node counts are null when the caller may not read nodes (Kubernetes' view has none). */
export interface OverviewCounts {
  totalNodes: number | null;
  readyNodes: number | null;
  totalPods: number;
  runningPods: number;
  totalNamespaces: number;
  totalServices: number;
}

/** Kite's overview of one cluster. */
export interface Overview extends OverviewCounts {
  cluster: string;
  version: string;
  prometheusEnabled: boolean;
}

interface List<T> {
  items?: T[];
}
interface NodeLike {
  status?: { conditions?: { type?: string; status?: string }[] };
}
interface PodLike {
  status?: { phase?: string };
}

/** The four lists an overview counts (nodes null when the caller may not read them), as fetched. */
export type OverviewLists = [nodes: List<NodeLike> | null, pods: List<PodLike>, namespaces: List<unknown>, services: List<unknown>];

export function countOverview(entry: IndexHead, ...[nodes, pods, namespaces, services]: OverviewLists): Overview {
  const nodeItems = nodes?.items ?? [];
  const podItems = pods.items ?? [];
  return {
    cluster: entry.name,
    version: entry.version,
    totalNodes: nodes === null ? null : nodeItems.length,
    readyNodes: nodes === null ? null : nodeItems.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length,
    totalPods: podItems.length,
    runningPods: podItems.filter((p) => p.status?.phase === 'Running').length,
    totalNamespaces: (namespaces.items ?? []).length,
    totalServices: (services.items ?? []).length,
    prometheusEnabled: entry.prometheusUrl !== '',
  };
}
