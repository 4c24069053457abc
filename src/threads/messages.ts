/**
 * Messages between the supervisor (main thread) and its worker threads. Shared memory carries the
 * index and counters; these carry only control: start-up results, drain, and /metrics gathering.
 */

/** A thread's start-up outcome or a request it makes of the supervisor. */
import type { AuditRecord } from '../store/audit.js';

export type WorkerToMain =
  | { type: 'ready'; role: 'http' | 'sync'; port?: number; tlsPort?: number }
  | { type: 'fatal'; role: 'http' | 'sync'; error: string }
  | { type: 'metrics-request'; id: number }
  | { type: 'metrics-snapshot'; id: number; snapshot: unknown }
  | { type: 'log'; line: string }
  /** A batch of audit records for the supervisor to write (src/audit/log.ts; never on an HTTP thread). */
  | { type: 'audit'; records: AuditRecord[] }
  /** Last uses of tokens (id, epoch ms) for the supervisor to record, for the same reason. */
  | { type: 'token-use'; uses: [number, number][] }
  /** A thread started or ended by a worker (the fleet pool), whose lock slot dies with it. */
  | { type: 'child-thread'; threadId: number; alive: boolean }
  /** Test hook: the thread now holds its lock in `mode` and will block until terminated. */
  | { type: 'test-holding'; mode: 'read' | 'write' }
  /** From the sync worker (PostgreSQL backend): the database is reachable (0) or down since (epoch ms). */
  | { type: 'db-state'; downSince: number };

export type MainToWorker =
  | { type: 'drain'; timeoutMs: number }
  | { type: 'metrics-collect'; id: number }
  | { type: 'metrics-reply'; id: number; snapshots: unknown[] }
  /** Test hook (workers started with testHooks only): take the lock and never let go. */
  | { type: 'test-hold'; mode: 'read' | 'write' }
  /** To HTTP workers: the database's state as the sync worker last saw it (readyz, write refusals). */
  | { type: 'db-state'; downSince: number };

/** workerData of an HTTP worker. */
export interface HttpWorkerData {
  role: 'http';
  sab: SharedArrayBuffer;
  workerIndex: number;
  port: number;
  host: string;
  reusePort: boolean;
  /** HTTPS listener, when enabled. */
  tls: { port: number; certPem: string; keyPem: string; caPem: string } | undefined;
  dataDir: string;
  /** postgres://… when the registry is shared by replicas; undefined = SQLite in dataDir. */
  databaseUrl?: string;
  key: Uint8Array;
  upstreamTimeoutMs: number;
  allowExec: boolean;
  fleetThreads: number;
  fleetQueue: number;
  /** Honour test-hold messages (tests only; the CLI never sets it). */
  testHooks: boolean;
  /** IndexReaderOptions.cacheEntries of the worker's reader (serve --read-cache). */
  readCache: number;
  /** The sync interval: /readyz turns 503 after three of them without a commit. */
  syncIntervalMs: number;
  maxStreamsPerToken: number;
  externalUrl: string | undefined;
  metricsToken: string | undefined;
  /** Also print audit records as JSON lines on stdout. */
  auditStdout: boolean;
}

/** workerData of the sync worker. */
export interface SyncWorkerData {
  role: 'sync';
  sab: SharedArrayBuffer;
  dataDir: string;
  /** postgres://… when the registry is shared by replicas; undefined = SQLite in dataDir. */
  databaseUrl?: string;
  key: Uint8Array;
  syncIntervalMs: number;
  probeTimeoutMs: number;
  probeConcurrency: number;
  allowExec: boolean;
  /** Honour test-hold messages (tests only; the CLI never sets it). */
  testHooks: boolean;
}
