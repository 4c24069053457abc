/**
 * The shapes of fleet-wide queries: what the HTTP worker sends to a pool thread (plain,
 * structured-cloneable data: the caller's access, never its token) and the small results a pool
 * thread sends back. Everything here crosses a thread boundary by postMessage.
 */
import type { ClusterState } from '../index/types.js';
import type { Overview, OverviewCounts } from '../k8s/overview.js';
import type { Role } from '../http/deps.js';

/** Who asks: the token's name, role and cluster list (null = every cluster). No secret. */
export interface FleetAccess {
  name: string;
  role: Role;
  clusters: string[] | null;
}

/** A parsed, validated GET /api/v1/fleet/search. */
export interface SearchQuery {
  /** The text as given (trimmed); matched case-insensitively as a substring of names. */
  q: string;
  /** Resource plurals to search (keys of kResources, a subset of kSearchKinds). */
  kinds: string[];
  /** Most items returned. */
  limit: number;
}

/** One object whose name matched. `namespace` is '' for cluster-scoped kinds. */
export interface SearchItem {
  cluster: string;
  kind: string;
  namespace: string;
  name: string;
  /** metadata.creationTimestamp, '' when absent. */
  createdAt: string;
}

/** A cluster that could not answer (down, timed out, error state, refused); the rest still did. */
export interface PartialCluster {
  cluster: string;
  error: string;
}

export interface SearchResult {
  q: string;
  kinds: string[];
  /** Best `limit` matches, sorted (see search.ts compareItems). */
  items: SearchItem[];
  /** Matches found before the limit was applied. */
  total: number;
  /** Clusters searched (visible to the caller and not disabled), including failed ones. */
  clusters: number;
  partial: PartialCluster[];
  tookMs: number;
}

/** Kite's overview of one cluster with its state; counts are null when the cluster did not answer. */
export type ClusterOverview = Omit<Overview, keyof OverviewCounts> & { [K in keyof OverviewCounts]: OverviewCounts[K] | null } & {
  state: ClusterState;
  /** Why the counts are missing (also listed in `partial`). */
  error?: string;
};

/** The counts summed over the clusters that answered (node counts null for viewers). */
export interface OverviewTotals extends OverviewCounts {
  /** Clusters in the answer (visible to the caller and not disabled). */
  clusters: number;
  /** Clusters whose counts are included below. */
  answered: number;
}

export interface OverviewResult {
  clusters: ClusterOverview[];
  totals: OverviewTotals;
  partial: PartialCluster[];
  tookMs: number;
}

/** Knobs of one query run, the same on a pool thread and inline. */
export interface QueryLimits {
  /** Budget of one cluster's whole fetch (all its lists), ms. */
  timeoutMs: number;
  /** Clusters fetched at once. */
  concurrency: number;
}

/** A task posted to a pool thread. */
export type FleetTask =
  | { op: 'search'; access: FleetAccess; query: SearchQuery }
  | { op: 'overview'; access: FleetAccess }
  /** Test hook (only when the pool was created with testHooks): die, optionally inside a read lock. */
  | { op: 'crash'; holdReadLock: boolean; exitCode: number }
  /** Test hook: this thread's id and lock slot. */
  | { op: 'whoami' };

export interface WhoAmI {
  threadId: number;
  slot: number;
}

/** workerData of a pool thread. */
export interface FleetThreadData {
  sab: SharedArrayBuffer;
  limits: QueryLimits;
  /** Accept the crash / whoami tasks (tests only). */
  testHooks: boolean;
  /** Added to this thread's nice value at start, so HTTP workers win the CPU (0 = none). */
  niceIncrement: number;
}
