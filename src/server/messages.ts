/**
 * Messages between the supervisor (main thread) and its worker threads. Shared memory carries the
 * index and counters; these carry only control: start-up results, drain, and /metrics gathering.
 */

/** A thread's start-up outcome or a request it makes of the supervisor. */
export type WorkerToMain =
  | { type: 'ready'; role: 'http' | 'sync'; port?: number; tlsPort?: number }
  | { type: 'fatal'; role: 'http' | 'sync'; error: string }
  | { type: 'metrics-request'; id: number }
  | { type: 'metrics-snapshot'; id: number; snapshot: unknown }
  | { type: 'log'; line: string }
  /** A thread started or ended by a worker (the fleet pool), whose lock slot dies with it. */
  | { type: 'child-thread'; threadId: number; alive: boolean };

export type MainToWorker =
  | { type: 'drain'; timeoutMs: number }
  | { type: 'metrics-collect'; id: number }
  | { type: 'metrics-reply'; id: number; snapshots: unknown[] };

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
  key: Uint8Array;
  upstreamTimeoutMs: number;
  allowExec: boolean;
  fleetThreads: number;
  fleetQueue: number;
}

/** workerData of the sync worker. */
export interface SyncWorkerData {
  role: 'sync';
  sab: SharedArrayBuffer;
  dataDir: string;
  key: Uint8Array;
  syncIntervalMs: number;
  probeTimeoutMs: number;
  probeConcurrency: number;
  allowExec: boolean;
}
