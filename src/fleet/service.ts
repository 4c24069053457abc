/**
 * createFleetService: fleet-wide search and overview for one HTTP worker.
 *
 *   const fleet = createFleetService({ sab, threads: 2, maxQueue: 64 });
 *   app.use('/api/v1/fleet', fleet.router());   // after requireAuth, before /api/v1/:resource
 *   ...
 *   await fleet.close();                          // after the HTTP server drained
 *
 * Pool mode (default): queries run on a piscina pool (pool.ts); the HTTP worker only parses the
 * request and sends the caller's access (role, cluster names; never the token) and the query.
 * Inline mode (`inline: true`, or FLEETGATE_FLEET_INLINE=1 when `inline` is not given) runs the
 * same engine on the HTTP worker's own thread. It exists for the benchmark's comparison: every
 * list it parses blocks that worker's event loop and every request queued behind it.
 */
import { threadId } from 'node:worker_threads';
import type { Router } from 'express';
import type { ClusterDirectory } from '../http/deps.js';
import { HttpError } from '../util/http-error.js';
import type { UpstreamCacheStats } from '../upstream/index.js';
import { IndexReader } from '../index/reader.js';
import type { RecoverResult } from '../lock/recovery.js';
import { RwLock } from '../lock/rwlock.js';
import { FleetEngine, kDefaultLimits } from './engine.js';
import { FleetPool, type FleetPoolStats } from './pool.js';
import { fleetRouter } from './router.js';
import type { FleetAccess, FleetTask, OverviewResult, QueryLimits, SearchQuery, SearchResult } from './types.js';

export interface FleetServiceOptions {
  /** The shared region (src/shm/layout.ts) the pool threads read the cluster index from. */
  sab: SharedArrayBuffer;
  /** Pool threads. Default 2; fleetgate serve passes ServeOptions.fleetThreads (default 1 per HTTP worker). */
  threads?: number;
  /** Queries that may wait for a pool thread before 503 + Retry-After. Default 64 (ServeOptions.fleetQueue). */
  maxQueue?: number;
  /** Queries one pool thread runs at once. Default 2. */
  tasksPerThread?: number;
  /** Budget of one cluster's fetch within a query, ms. Default 10000. */
  timeoutMs?: number;
  /** Clusters a query fetches at once. Default 8. */
  concurrency?: number;
  /** Run queries on this thread instead of the pool. Default: env FLEETGATE_FLEET_INLINE === '1'. */
  inline?: boolean;
  /** Inline mode: the HTTP worker's own index reader (else the service attaches its own slot). */
  directory?: ClusterDirectory;
  /** Added to the pool threads' nice value (Linux, per thread). Default 19: at the lowest priority a pool thread yields the core at once when an HTTP worker wakes, which keeps request latency flat while searches run. */
  niceIncrement?: number;
  /** Accept test-only tasks (crash a pool thread). Never in production. */
  testHooks?: boolean;
  /** Log sink; default console.error. */
  log?: (line: string) => void;
  /**
   * A pool thread started. Pool threads are children of this thread: if this thread dies they
   * die with it, and whoever recovers this thread's lock slot must recover theirs too.
   */
  onThreadStart?: (threadId: number) => void;
  /** A pool thread exited; its lock slot has been recovered. */
  onThreadExit?: (threadId: number, exitCode: number, recovered: RecoverResult) => void;
}

export interface FleetServiceStats {
  mode: 'pool' | 'inline';
  /** Queries running or waiting in this service. */
  inFlight: number;
  pool?: FleetPoolStats;
  /** Inline mode's upstream agents (a pool thread keeps its own). */
  upstream?: UpstreamCacheStats;
}

export interface FleetService {
  readonly mode: 'pool' | 'inline';
  /** Express router with GET /search and GET /overview; mount at /api/v1/fleet after auth. */
  router(): Router;
  search(access: FleetAccess, query: SearchQuery): Promise<SearchResult>;
  overview(access: FleetAccess): Promise<OverviewResult>;
  /** Live pool thread ids ([] inline): their slots need recovery if this thread dies. */
  threadIds(): number[];
  stats(): FleetServiceStats;
  /** Test hook (testHooks only): run a raw task on the pool. */
  runTask<T>(task: FleetTask): Promise<T>;
  close(): Promise<void>;
}

function positiveInt(v: number | undefined, name: string, dflt: number, min = 1): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < min) throw new RangeError(`fleet: ${name} must be an integer >= ${min}, got ${n}`);
  return n;
}

export function createFleetService(opts: FleetServiceOptions): FleetService {
  const log = opts.log ?? ((l: string) => console.error(l));
  const limits: QueryLimits = {
    timeoutMs: positiveInt(opts.timeoutMs, 'timeoutMs', kDefaultLimits.timeoutMs),
    concurrency: positiveInt(opts.concurrency, 'concurrency', kDefaultLimits.concurrency),
  };
  const threads = positiveInt(opts.threads, 'threads', 2);
  const maxQueue = positiveInt(opts.maxQueue, 'maxQueue', 64, 0);
  const tasksPerThread = positiveInt(opts.tasksPerThread, 'tasksPerThread', 2);
  const inline = opts.inline ?? process.env.FLEETGATE_FLEET_INLINE === '1';
  let inFlight = 0;
  const counted = async <T>(p: () => Promise<T>): Promise<T> => {
    inFlight++;
    try {
      return await p();
    } finally {
      inFlight--;
    }
  };

  let svc: Omit<FleetService, 'router'>;
  if (inline) {
    const ownLock = opts.directory ? undefined : RwLock.attach(opts.sab, { threadId });
    const directory = opts.directory ?? new IndexReader(opts.sab, ownLock!);
    const engine = new FleetEngine(directory, limits);
    // The same admission bound as the pool: running + waiting.
    const capacity = threads * tasksPerThread + maxQueue;
    const admit = <T>(p: () => Promise<T>): Promise<T> => {
      if (inFlight >= capacity) throw new HttpError(503, 'fleet query queue is full; retry shortly', { 'Retry-After': '1' });
      return counted(p);
    };
    svc = {
      mode: 'inline',
      search: (access, query) => admit(() => engine.search(access, query)),
      overview: (access) => admit(() => engine.overview(access)),
      threadIds: () => [],
      stats: () => ({ mode: 'inline', inFlight, upstream: engine.cacheStats() }),
      runTask: () => Promise.reject(new Error('fleet: runTask needs pool mode')),
      close: async () => {
        await engine.close();
        ownLock?.release();
      },
    };
  } else {
    const pool = new FleetPool({
      sab: opts.sab,
      threads,
      maxQueue,
      tasksPerThread,
      limits,
      niceIncrement: opts.niceIncrement ?? 19,
      testHooks: opts.testHooks ?? false,
      log,
      onThreadStart: opts.onThreadStart,
      onThreadExit: opts.onThreadExit,
    });
    svc = {
      mode: 'pool',
      search: (access, query) => counted(() => pool.run<SearchResult>({ op: 'search', access, query })),
      overview: (access) => counted(() => pool.run<OverviewResult>({ op: 'overview', access })),
      threadIds: () => pool.threadIds(),
      stats: () => ({ mode: 'pool', inFlight, pool: pool.stats() }),
      runTask: (task) => pool.run(task),
      close: () => pool.close(),
    };
  }
  const service: FleetService = { ...svc, router: () => fleetRouter(service, log) };
  return service;
}
