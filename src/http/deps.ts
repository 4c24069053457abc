/**
 * What the HTTP application needs from the rest of fleetgate, as narrow interfaces, so the real
 * index reader and store plug in and tests can hand in in-memory fakes.
 *
 * Every method of the directory takes and releases the read lock itself and returns copies; the
 * app copies what a request needs out of the returned entry and only then does I/O. Nothing here
 * is ever held across an await.
 */
import type { RequestHandler } from 'express';
import type { IndexEntry, IndexHead, IndexSummary } from '../index/types.js';

/** A value a store method may return directly (better-sqlite3 is synchronous) or as a promise. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * The shared cluster index, read side (src/index's IndexReader satisfies it; tests hand in fakes).
 * Each method takes and releases the read lock itself and returns copies.
 */
export interface ClusterDirectory {
  /** The entry named `name` with its client config (credentials), or undefined: a client-cache miss. May throw TornReadError. */
  lookup(name: string): IndexEntry | undefined;
  /**
   * The per-request lookup: the entry named `name` without its credentials (reads less shared
   * memory, copies no secrets), or undefined.
   */
  lookupHead(name: string): IndexHead | undefined;
  /** The default cluster's head, or undefined when none is marked default. */
  lookupDefaultHead(): IndexHead | undefined;
  /** Every entry with its client config, sorted by name (fleet queries build clients from them). */
  list(): IndexEntry[];
  /** Every entry without its client config (no secrets), sorted by name: the cluster lists, the client cache sweep. */
  listSummary(): IndexSummary[];
  /** How many entries the live index holds, without decoding any (the unknown-cluster 404). */
  count(): number;
  /** Generation of the active index. */
  generation(): number;
  /** True once the first sync has committed. */
  isReady(): boolean;
}

/** A row of the clusters table (the store's own type). `config` is a kubeconfig: never put it in a response. */
export type { ClusterRow, ClusterInput } from '../store/index.js';
import type { ClusterRow, ClusterInput } from '../store/index.js';

export interface WriteOptions {
  /** Accept kubeconfigs whose users run exec plugins or auth-providers (the operator's setting). */
  allowExec?: boolean;
}

export type ImportOptions = WriteOptions;

export interface ClusterStoreLike {
  list(): MaybePromise<ClusterRow[]>;
  /** Optional: list() that reports an undecryptable row (configError) instead of failing the whole list. */
  listForSync?(): MaybePromise<Array<ClusterRow & { configError?: string }>>;
  get(id: number): MaybePromise<ClusterRow | undefined>;
  getByName(name: string): MaybePromise<ClusterRow | undefined>;
  create(input: ClusterInput, opts?: WriteOptions): MaybePromise<ClusterRow>;
  update(id: number, patch: Partial<ClusterInput>, opts?: WriteOptions): MaybePromise<ClusterRow>;
  delete(id: number): MaybePromise<unknown>;
  /** One cluster per context. Returns the created rows (or an object carrying them). */
  importKubeconfig(text: string, opts?: ImportOptions): MaybePromise<unknown>;
}

export type Role = 'admin' | 'viewer';

/** A token as stored: the secret itself is never kept, only its hash. */
export interface TokenRecord {
  id: number | string;
  name: string;
  role: Role;
  /** Viewer scope rules (src/access/scope.ts: names, globs, group:NAME, !exclusions); null = every cluster (admins). */
  clusters: string[] | null;
  createdAt: string | number;
  /** Epoch ms after which the token answers 401 "token expired"; null or absent = never. */
  expiresAt?: number | null;
  /** Epoch ms of the last use recorded (coarse, at most once a minute); null or absent = never. */
  lastUsedAt?: number | null;
}

export interface TokenStoreLike {
  create(input: { name: string; role: Role; clusters?: string[] | null; expiresAt?: number | null }): MaybePromise<{ token: string; record: TokenRecord }>;
  list(): MaybePromise<TokenRecord[]>;
  delete(id: TokenRecord['id']): MaybePromise<unknown>;
  verify(secret: string): MaybePromise<TokenRecord | undefined>;
  /** Optional: record last use (token id → epoch ms), batched off the request path. */
  touch?(uses: ReadonlyMap<number, number>): MaybePromise<unknown>;
}

export type { GroupRecord, GroupInput, GroupPatch, AuditRecord, AuditRow, AuditQuery } from '../store/index.js';
import type { AuditQuery, AuditRecord, AuditRow, GroupInput, GroupPatch, GroupRecord } from '../store/index.js';

export interface GroupStoreLike {
  list(): MaybePromise<GroupRecord[]>;
  get(id: number): MaybePromise<GroupRecord | undefined>;
  getByName(name: string): MaybePromise<GroupRecord | undefined>;
  create(input: GroupInput): MaybePromise<GroupRecord>;
  update(id: number, patch: GroupPatch): MaybePromise<GroupRecord>;
  delete(id: number): MaybePromise<unknown>;
}

export interface AuditStoreLike {
  append(records: readonly AuditRecord[]): MaybePromise<unknown>;
  query(q: AuditQuery): MaybePromise<{ items: AuditRow[]; next: number | null }>;
  prune(before: number): MaybePromise<number>;
}

export interface StoreLike {
  clusters: ClusterStoreLike;
  tokens: TokenStoreLike;
  /** Cluster groups (admin routes answer 501 without them). */
  groups?: GroupStoreLike;
  /** The audit table (the audit log keeps records only in memory, counted as dropped, without it). */
  audit?: AuditStoreLike;
}

export interface AppOptions {
  /** Timeout of every upstream call (ms until response headers, and socket idle after). Default 30000. */
  upstreamTimeoutMs?: number;
  /** Largest JSON or kubeconfig body /api accepts (body-parser syntax). Default '2mb'. /k8s streams and has no limit. */
  bodyLimit?: string;
  /** Passed to store.clusters.importKubeconfig: accept exec/auth-provider kubeconfigs. Default false. */
  allowExec?: boolean;
  /** Bounded wait for read-your-writes after an admin write (ms). Default 15000. */
  syncWaitMs?: number;
  /** How long a verified token is trusted without asking the store again (ms). Default 1000. */
  authCacheMs?: number;
  /**
   * How kubeconfigs from GET /api/v1/clusters/:name/kubeconfig reach fleetgate over HTTPS.
   * kubectl (client-go) sends credentials only over TLS, so when the caller came in over plain
   * HTTP the kubeconfig points at https://<host the caller used>:<port>/k8s/NAME and embeds caPem
   * (omit caPem for a publicly trusted certificate). `port` may be a function when the port is
   * known only after listening. Without this option the kubeconfig uses the caller's scheme.
   */
  publicTls?: { port: number | (() => number | undefined); caPem?: string };
  /**
   * Keep a per-worker copy of the cluster summaries for GET /api/v1/clusters, refreshed when the
   * index generation moves (routes/clusters.ts SummarySnapshot). Default false: fleetgate's own
   * workers read the index under the read lock on every request (see src/threads/http.ts).
   */
  snapshotSummaries?: boolean;
  /**
   * How clients reach fleetgate (`--external-url`): kubeconfig downloads point at
   * EXTERNAL_URL/k8s/NAME instead of a URL built from the request's Host header.
   */
  externalUrl?: string;
  /** When set, GET /metrics requires `Authorization: Bearer` this value (Prometheus' bearer_token). */
  metricsToken?: string;
  /** Watches, log follows and exec sessions one token may hold open on this worker. Default 100. */
  maxStreamsPerToken?: number;
  /** Also write audit records to stdout as JSON lines (`--audit-log stdout`). Default false. */
  auditStdout?: boolean;
  /** Audit records older than this are deleted (ms). Default 30 days. */
  auditRetentionMs?: number;
  /** Identifies this worker in logs. */
  workerId?: number;
  /** Log sink; default console.error. Never receives secrets. */
  log?: (line: string) => void;
}

export interface AppDeps {
  directory: ClusterDirectory;
  store: StoreLike;
  /**
   * Resolves true once a sync that began after this call has committed, false on timeout.
   * Admin writes await it so their response shows the new index state.
   */
  syncBarrier: (timeoutMs: number) => Promise<boolean>;
  /** Asks for a sync without waiting (Kite's syncNow): POST /api/v1/admin/sync. Default: syncBarrier(0). */
  requestSync?: () => void;
  /** Prometheus text for GET /metrics, summed over all threads. Default: this app's own metrics. */
  metricsText?: () => Promise<string>;
  /** GET /readyz. Default: directory.isReady(). */
  readyz?: () => boolean;
  /** GET /readyz with a reason: the text to answer 503 with, undefined when ready. Takes precedence over readyz. */
  notReadyReason?: () => string | undefined;
  /**
   * Why a ready replica serves in a degraded way, e.g. "degraded: database unreachable since …"
   * (reads keep coming from the index; writes answer 503). /readyz stays 200 and says so.
   */
  degraded?: () => string | undefined;
  /**
   * Extra routers mounted after authentication and body parsing, before the generic
   * /api/v1/:resource routes, e.g. `[{ path: '/api/v1/fleet', handler: fleet.router() }]`.
   * Their handlers see the caller as `callerOf(res)`.
   */
  mounts?: { path: string; handler: RequestHandler }[];
  /** Where last uses of tokens go (token id → epoch ms), batched; default store.tokens.touch. */
  recordTokenUse?: (uses: ReadonlyMap<number, number>) => MaybePromise<unknown>;
  /** The audit log; default one over store.audit built from the options. */
  audit?: import('../audit/log.js').AuditLog;
  options?: AppOptions;
}
