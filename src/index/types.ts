/**
 * The shapes that cross the shared cluster index: what the sync worker writes for each cluster
 * and what a reader copies out. Plain data only, so a copied-out entry can be kept, cached or
 * sent between threads after the read lock is released.
 */

/** Lifecycle of one cluster in the index. */
export type ClusterState = 'ok' | 'error' | 'building' | 'disabled';

/**
 * The normalised client configuration of one cluster: everything an HTTP worker needs to open a
 * connection to its API server, resolved by the sync worker (file references already read).
 * Secrets live here and nowhere else; never log or serialise this object to a response.
 */
export interface ClientConfig {
  /** API server base URL, e.g. https://127.0.0.1:6443 (no trailing slash). */
  server: string;
  /** PEM CA bundle, or '' to use the system trust store. */
  caData: string;
  /** PEM client certificate and key for mTLS, or '' when not used. */
  certData: string;
  keyData: string;
  /** Bearer token, or '' when not used. */
  token: string;
  /** TLS server name (SNI and certificate check), or ''. */
  tlsServerName: string;
  /** Skip TLS verification (kubeconfig insecure-skip-tls-verify). */
  insecure: boolean;
  /** HTTP(S) proxy URL, or ''. */
  proxyUrl: string;
}

/** One cluster as the sync worker writes it into the next index. */
export interface IndexEntryInput {
  /** Database row id (positive). */
  id: number;
  /** Unique name, at most 100 characters. */
  name: string;
  description: string;
  enabled: boolean;
  isDefault: boolean;
  inCluster: boolean;
  state: ClusterState;
  /** Kubernetes gitVersion from /version, or '' before the first successful probe. */
  version: string;
  /** Error text of the last failure ('' when none). Never contains secrets. */
  error: string;
  /** Epoch milliseconds of the last error, 0 when none. */
  errorAt: number;
  /** Epoch milliseconds of the last version probe, 0 when never probed. */
  probedAt: number;
  /** Hash of the inputs the client config was built from (hex); changes when they change. */
  configHash: string;
  /**
   * Per-entry generation: bumped by the sync worker whenever this entry's client config changes,
   * so caches keyed by (id, generation) are invalidated exactly when they must be.
   */
  generation: number;
  prometheusUrl: string;
  /**
   * Names of the cluster groups it belongs to, sorted (token scopes' `group:NAME` rules read
   * them from the index, so a request never asks the database). Omitted = none; a reader's copy
   * always has it.
   */
  groups?: readonly string[];
  client: ClientConfig;
}

/** An entry as a reader copies it out of shared memory. */
export interface IndexEntry extends IndexEntryInput {
  /** Generation of the index this copy was read from. */
  indexGeneration: number;
}

/**
 * The cheap copy of an entry for list views (GET /api/v1/clusters): no client config, no
 * secrets. It is verified by the entry's head checksum, which covers everything it copies.
 */
export type IndexSummary = Pick<
  IndexEntry,
  'id' | 'name' | 'description' | 'enabled' | 'isDefault' | 'inCluster' | 'state' | 'version' | 'error' | 'groups' | 'generation' | 'indexGeneration'
>;

/**
 * An entry without its credentials: everything a request needs to pick a cluster, answer 404 /
 * 403 / 503 and find its cached upstream client, which is keyed by (id, generation, configHash).
 * Of the client config only `server` (not secret). lookupHead() reads and verifies only these
 * bytes; an IndexEntry is also an IndexHead.
 */
export type IndexHead = Omit<IndexEntry, 'client'> & { client: Pick<ClientConfig, 'server'> };
