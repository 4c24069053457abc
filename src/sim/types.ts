/**
 * The simulator's public types: its options, the clusters and stats it reports, and the handle
 * startSimulator returns. Their own module so that the control server (control.ts), which
 * index.ts starts, can name the handle without importing index.ts back.
 */
import type { Fault } from './server/runtime.js';

export interface SimOptions {
  /** Number of clusters, named `${namePrefix}-0001` upwards. */
  clusters: number;
  /** Default 'sim'. */
  namePrefix?: string;
  /** Only loopback is supported. */
  host?: '127.0.0.1';
  /** Seed of the generated objects (default 1). Same seed, same objects. */
  seed?: number;
  /** Pods per cluster (default 20); nodes, namespaces and workloads scale with it. */
  podsPerCluster?: number;
  /** Per-cluster pod count overriding podsPerCluster, by cluster name. */
  podsByCluster?: Record<string, number>;
  /** How kubeconfigs authenticate: bearer token (default) or client certificate. Tokens work in both. */
  auth?: 'token' | 'cert';
  /** Faults applied at start, by cluster name. */
  faults?: Record<string, Fault>;
  /** gitVersions at start, by cluster name (default: v1.28.x … v1.31.x, varying by cluster). */
  versions?: Record<string, string>;
  /** Port of the loopback control server: 0 = ephemeral, undefined = none. */
  controlPort?: number;
  /**
   * How cluster listeners get their ports: 'ephemeral' = bind(0) each; 'sequential' = walk the
   * ephemeral range from a random start (bind(0) gets slow past a few thousand ports).
   * Default: ephemeral up to 2,000 clusters, sequential above.
   */
  ports?: 'ephemeral' | 'sequential';
  /**
   * Generate every cluster's objects at start instead of on its first resource request (about
   * 0.1-0.3 s of CPU per 2,000 pods): for benchmarks that should not measure generation.
   */
  eager?: boolean;
}

export interface SimCluster {
  name: string;
  /** https://127.0.0.1:PORT */
  server: string;
  port: number;
  /** Admin bearer token (current; rotateToken replaces it). */
  token: string;
  /** Read-only bearer token: reads allowed except secrets, writes answer 403. */
  viewerToken: string;
  /** Current /version gitVersion. */
  version: string;
  caPem: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

export interface SimStats {
  requests: number;
  /** Requests per cluster name (only clusters that received any). */
  byCluster: Record<string, number>;
  /** Clusters whose objects have been generated. */
  generatedClusters: number;
  /** exec/attach/port-forward sessions served, by "KIND TRANSPORT PROTOCOL", e.g. "exec spdy v4.channel.k8s.io". */
  streams: Record<string, number>;
}

export interface Simulator {
  /** Live records: token, version and client certificate change in place on rotation and setVersion. */
  clusters: SimCluster[];
  caPem: string;
  kubeconfig(opts?: { names?: string[]; current?: string }): string;
  singleKubeconfig(name: string): string;
  cluster(name: string): SimCluster;
  setFault(name: string, fault: Partial<Fault>): Promise<void>;
  fault(name: string): Required<Fault>;
  setVersion(name: string, gitVersion: string): void;
  /** New admin token; the old one answers 401 from now on. */
  rotateToken(name: string): string;
  /** New client certificate (auth 'cert'); the old one answers 401 from now on. */
  rotateClientCert(name: string): Promise<SimCluster>;
  stats(): SimStats;
  controlUrl?: string;
  /** Milliseconds startSimulator took. */
  startMs: number;
  stop(): Promise<void>;
}
