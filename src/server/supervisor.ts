/**
 * The supervisor: fleetgate's main thread. It owns configuration, the database migrations, the
 * SharedArrayBuffer, and the lives of the worker threads: it starts one sync worker and N HTTP
 * workers, restarts a crashed one with backoff after reclaiming its lock slot, gathers /metrics
 * snapshots, and drains everything on shutdown. It touches only control words of shared memory.
 */
import { startupHints } from './banner.js';
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createSharedRegion, kMaxThreads, kSyncStatsRegionBytes, kSyncStatsOffset } from '../shm/layout.js';
import { SyncStats } from '../sync/stats.js';
import { recoverThread } from '../lock/index.js';
import { openBackend, firstStartImport, type StoreBackend } from '../store/index.js';
import { workerEntry } from '../util/paths.js';
import { ConfigError, supportsReusePort, type ServeOptions } from './config.js';
import { AuditLog } from '../audit/log.js';
import type { HttpWorkerData, MainToWorker, SyncWorkerData, WorkerToMain } from '../threads/messages.js';
import type { SimHandle } from './sim-fleet.js';
import { loadServingCert, type ServingCert } from './tls.js';

export interface SupervisorIO {
  log(line: string): void;
  warn(line: string): void;
  /** Is `log` a terminal? A generated admin token is printed only there (not into log files). */
  isTTY?: boolean;
}

const consoleIO: SupervisorIO = {
  log: (l) => console.log(l),
  warn: (l) => console.error(l),
  isTTY: process.stdout.isTTY === true,
};

type Role = 'http' | 'sync';

interface Slot {
  role: Role;
  index: number;
  worker: Worker | undefined;
  /** Consecutive failures, for the restart backoff; reset once a worker has stayed up a while. */
  failures: number;
  readyAt: number;
  restartTimer: NodeJS.Timeout | undefined;
  everReady: boolean;
  /** Threads the worker started (fleet pool), reclaimed with it if it dies. */
  children: Set<number>;
}

/** Restart delay after n consecutive failures: 250 ms doubling to 10 s. */
export function restartDelayMs(failures: number): number {
  return Math.min(10_000, 250 * 2 ** Math.max(0, failures - 1));
}

/** A worker that fails this many times in a row before it was ever ready is not restarted. */
const kMaxStartFailures = 5;
/** A worker up this long has its failure count reset. */
const kStableMs = 30_000;

export class Supervisor {
  readonly sab: SharedArrayBuffer;
  private store: StoreBackend | undefined;
  private sim: SimHandle | undefined;
  /**
   * The audit log's writer. HTTP workers hand their batches here: a SQLite write can wait for the
   * database's write lock (busy timeout), and on a worker that wait would stop its event loop and
   * every request on it; here it stops nothing that serves requests.
   */
  private audit: AuditLog | undefined;
  private key: Uint8Array = new Uint8Array();
  private readonly slots: Slot[] = [];
  private stopping = false;
  private metricsSeq = 0;
  private readonly metricsPending = new Map<number, { from: Worker; replyId: number; want: number; got: unknown[]; timer: NodeJS.Timeout }>();
  private readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private fatal: Error | undefined;
  /** PostgreSQL backend: epoch ms since the database has been unreachable, 0 while it is reachable. */
  private dbDownSince = 0;
  port = 0;
  tlsPort = 0;
  private tls: ServingCert | undefined;
  adminToken: string | undefined;
  readonly httpWorkers: number;

  constructor(
    readonly opts: ServeOptions,
    private readonly io: SupervisorIO = consoleIO,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly hooks: { testHooks?: boolean } = {},
  ) {
    this.httpWorkers = supportsReusePort() ? opts.workers : 1;
    // Reader slots: one per HTTP worker and per fleet pool thread, the sync worker, and a few
    // spare for replacements that start before a dead thread's slot is reclaimed.
    const slots = this.httpWorkers * (1 + opts.fleetThreads) + 1 + 4;
    if (slots > kMaxThreads) {
      throw new ConfigError(
        `--workers ${opts.workers} with --fleet-threads ${opts.fleetThreads} needs ${slots} lock slots; the shared region has at most ${kMaxThreads}`,
      );
    }
    this.sab = createSharedRegion({ mode: opts.lock, maxThreads: Math.max(slots, 16) });
  }

  /** Starts everything; resolves once every HTTP worker listens. */
  async start(): Promise<void> {
    const o = this.opts;
    const dataDir = resolvePath(o.dataDir);
    if (o.lock === 'none') {
      this.io.warn(
        [
          '************************************************************************',
          '*  --lock none: the cluster index is read WITHOUT a lock and rewritten  *',
          '*  in place. Responses WILL be corrupted under churn. This mode exists  *',
          '*  to demonstrate the race; never serve real users with it.            *',
          '************************************************************************',
        ].join('\n'),
      );
    }
    // Start libuv's thread pool here, at normal priority: pool threads inherit the nice value of
    // the thread that happens to start it, and fleet pool threads lower their own.
    await stat(process.cwd());
    this.store = await openBackend({ dataDir, databaseUrl: o.database, env: this.env, poolMax: 2 });
    for (const w of this.store.warnings) this.io.warn(`fleetgate: ${w}`);
    this.audit = new AuditLog({ store: this.store.audit, retentionMs: o.auditRetentionMs, log: (l) => this.io.warn(`fleetgate: ${l}`) });
    // Threads open their own connections with the key this one resolved (from the environment
    // or the key file), so they never race to create a key file.
    this.key = new Uint8Array(this.store.encryptionKey());

    if (o.tlsPort >= 0) this.tls = await loadServingCert(dataDir, { cert: o.tlsCert, key: o.tlsKey, hosts: o.tlsSan });

    if (o.sim > 0) {
      // Loaded only for --sim: a plain `serve` never loads the simulator.
      const { registerSimulated } = await import('./sim-fleet.js');
      this.sim = await registerSimulated(this.store, o.sim, o.simPods);
      this.io.log(`fleetgate: ${o.sim} simulated clusters running in-process (${this.sim.sim.clusters[0]?.server} …)`);
    } else {
      const imported = await firstStartImport(this.store, { kubeconfigPath: o.kubeconfig, env: this.env, home: homedir(), allowExec: o.allowExec });
      if (imported.imported > 0) this.io.log(`fleetgate: imported ${imported.imported} cluster(s) from ${imported.source}`);
      for (const s of imported.skipped ?? []) this.io.log(`fleetgate: skipped context "${s.context}" of ${imported.source}: ${s.reason}`);
    }
    const admin = await this.store.tokens.ensureAdminToken(this.env.FLEETGATE_ADMIN_TOKEN || undefined);
    this.adminToken = admin.token ?? this.env.FLEETGATE_ADMIN_TOKEN;
    if (admin.retired) this.io.log('fleetgate: FLEETGATE_ADMIN_TOKEN is no longer set: the token it registered is retired');
    if (admin.created && admin.token) {
      if (this.io.isTTY) this.io.log(`fleetgate: generated admin token (shown once; also in ${dataDir}/admin.token, mode 0600):\n  ${admin.token}`);
      else this.io.log(`fleetgate: generated an admin token; it is in ${dataDir}/admin.token (mode 0600), not printed because stdout is not a terminal`);
    }
    if ((await this.store.clusters.count()) === 0) {
      this.io.log(
        'fleetgate: no clusters registered. Add one with\n' +
          `  curl -H "Authorization: Bearer $TOKEN" --data-binary @kubeconfig http://${o.host}:${o.port}/api/v1/admin/clusters/import\n` +
          '  or restart with --kubeconfig FILE, or try --sim 5 for simulated clusters.',
      );
    }
    if (!supportsReusePort() && o.workers > 1) {
      this.io.log(
        `fleetgate: Node ${process.versions.node} cannot share one port between threads (reusePort needs Node >= 22.12); ` +
          'serving with 1 HTTP worker',
      );
    }

    // The first HTTP worker binds first, so that with --port 0 the others learn the port it got
    // and join it with reusePort.
    this.slots.push(this.newSlot('sync', 0), this.newSlot('http', 0));
    for (const slot of this.slots) this.spawn(slot);
    await this.allReady();
    for (let i = 1; i < this.httpWorkers; i++) {
      const slot = this.newSlot('http', i);
      this.slots.push(slot);
      this.spawn(slot);
    }
    await this.allReady();
    const https = this.tls ? ` and https://${o.host}:${this.tlsPort}` : '';
    this.io.log(
      `fleetgate: listening on http://${o.host}:${this.port}${https} with ${this.httpWorkers} HTTP worker(s), lock mode ${o.lock}`,
    );
    // listForSync: a row that cannot be decrypted must not stop start-up over a hint line.
    const exampleCluster = (await this.store.clusters.listForSync()).find((c) => c.enabled)?.name;
    for (const line of startupHints({ host: o.host, port: this.port, dataDir, envToken: !!this.env.FLEETGATE_ADMIN_TOKEN, exampleCluster })) this.io.log(line);
  }

  /** Graceful shutdown: stop accepting, drain in-flight requests (bounded), close the database. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const exits: Promise<void>[] = [];
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      const w = slot.worker;
      if (!w) continue;
      exits.push(
        new Promise<void>((resolve) => {
          const hard = setTimeout(() => void w.terminate(), this.opts.drainMs + 2000);
          w.once('exit', () => {
            clearTimeout(hard);
            resolve();
          });
          w.postMessage({ type: 'drain', timeoutMs: this.opts.drainMs } satisfies MainToWorker);
        }),
      );
    }
    await Promise.all(exits);
    await this.sim?.sim.stop();
    await this.audit?.flush();
    await this.store?.close();
  }

  /**
   * Test hook (a Supervisor built with testHooks): make `worker` take its lock in `mode` and block
   * inside it until terminated. Resolves once the worker says it holds the lock.
   */
  holdLockForTest(worker: Worker, mode: 'read' | 'write'): Promise<void> {
    return new Promise((resolve) => {
      const onMessage = (m: WorkerToMain) => {
        if (m.type === 'test-holding' && m.mode === mode) {
          worker.off('message', onMessage);
          resolve();
        }
      };
      worker.on('message', onMessage);
      worker.postMessage({ type: 'test-hold', mode } satisfies MainToWorker);
    });
  }

  /** The live worker of each HTTP slot (tests kill one to check restarts). */
  httpWorkerThreads(): Worker[] {
    return this.slots.filter((s) => s.role === 'http' && s.worker).map((s) => s.worker!);
  }

  syncWorkerThread(): Worker | undefined {
    return this.slots.find((s) => s.role === 'sync')?.worker;
  }

  get simulator(): SimHandle['sim'] | undefined {
    return this.sim?.sim;
  }

  private syncStats(): SyncStats {
    return new SyncStats(this.sab, kSyncStatsOffset, kSyncStatsRegionBytes);
  }

  private newSlot(role: Role, index: number): Slot {
    return { role, index, worker: undefined, failures: 0, readyAt: 0, restartTimer: undefined, everReady: false, children: new Set() };
  }

  private workerData(slot: Slot): HttpWorkerData | SyncWorkerData {
    const o = this.opts;
    const dataDir = resolvePath(o.dataDir);
    if (slot.role === 'sync') {
      return {
        role: 'sync',
        sab: this.sab,
        dataDir,
        databaseUrl: o.database,
        key: this.key,
        syncIntervalMs: o.syncIntervalMs,
        probeTimeoutMs: o.probeTimeoutMs,
        probeConcurrency: o.probeConcurrency,
        allowExec: o.allowExec,
        testHooks: this.hooks.testHooks === true,
      };
    }
    return {
      role: 'http',
      sab: this.sab,
      workerIndex: slot.index,
      port: this.port || o.port,
      host: o.host,
      reusePort: supportsReusePort(),
      tls: this.tls ? { port: this.tlsPort || o.tlsPort, ...this.tls } : undefined,
      dataDir,
      databaseUrl: o.database,
      key: this.key,
      upstreamTimeoutMs: o.upstreamTimeoutMs,
      allowExec: o.allowExec,
      fleetThreads: o.fleetThreads,
      fleetQueue: o.fleetQueue,
      testHooks: this.hooks.testHooks === true,
      readCache: o.readCache,
      syncIntervalMs: o.syncIntervalMs,
      maxStreamsPerToken: o.maxStreamsPerToken,
      externalUrl: o.externalUrl,
      metricsToken: o.metricsToken,
      auditStdout: o.auditLog === 'stdout',
    };
  }

  private spawn(slot: Slot): void {
    const worker = new Worker(workerEntry(slot.role), {
      workerData: this.workerData(slot),
      name: `fleetgate-${slot.role}-${slot.index}`,
    });
    slot.worker = worker;
    const threadId = worker.threadId;
    let ready = false;
    worker.on('message', (msg: WorkerToMain) => {
      switch (msg.type) {
        case 'ready':
          ready = true;
          if (slot.role === 'sync') this.syncStats().setSyncDownSince(0);
          slot.everReady = true;
          slot.readyAt = Date.now();
          if (msg.port && !this.port) this.port = msg.port;
          if (msg.tlsPort && !this.tlsPort) this.tlsPort = msg.tlsPort;
          if (slot.role === 'http' && this.dbDownSince) worker.postMessage({ type: 'db-state', downSince: this.dbDownSince } satisfies MainToWorker);
          this.checkReady();
          break;
        case 'fatal':
          this.io.warn(`fleetgate: ${slot.role} worker ${slot.index} cannot start: ${msg.error}`);
          break;
        case 'log':
          this.io.log(msg.line);
          break;
        case 'audit':
          for (const r of msg.records) this.audit?.record(r);
          break;
        case 'token-use':
          // Either backend: a synchronous throw or a rejection ends up in the same catch.
          void Promise.resolve()
            .then(() => this.store?.tokens.touch(new Map(msg.uses)))
            .catch((err: Error) => this.io.warn(`fleetgate: recording token last use failed: ${err.message}`));
          break;
        case 'child-thread':
          if (msg.alive) slot.children.add(msg.threadId);
          else slot.children.delete(msg.threadId);
          break;
        case 'metrics-request':
          this.collectMetrics(worker, msg.id);
          break;
        case 'metrics-snapshot':
          this.addMetricsSnapshot(msg.id, msg.snapshot);
          break;
        case 'db-state':
          // The sync worker's LISTEN connection is the replica's view of the database; every
          // HTTP worker gets it for /readyz.
          this.dbDownSince = msg.downSince;
          for (const w of this.httpWorkerThreads()) w.postMessage({ type: 'db-state', downSince: msg.downSince } satisfies MainToWorker);
          break;
      }
    });
    worker.on('error', (err) => {
      this.io.warn(`fleetgate: ${slot.role} worker ${slot.index} crashed: ${err.stack ?? err.message}`);
    });
    worker.on('exit', (code) => {
      // Reclaim first: a reader that died inside its critical section would otherwise block the
      // next commit forever, and a sync worker that died holding the write lock would block every
      // reader. The flip is a single store, so the index is never half-committed.
      const recovered = recoverThread(this.sab, threadId);
      for (const child of slot.children) {
        const r = recoverThread(this.sab, child);
        recovered.readerCleared ||= r.readerCleared;
        recovered.writerReleased ||= r.writerReleased;
      }
      slot.children.clear();
      if (slot.worker === worker) slot.worker = undefined;
      if (this.stopping) return;
      if (recovered.readerCleared || recovered.writerReleased) {
        this.io.warn(`fleetgate: reclaimed the lock slot of dead ${slot.role} worker ${slot.index} (thread ${threadId})`);
      }
      if (ready && Date.now() - slot.readyAt > kStableMs) slot.failures = 0;
      slot.failures++;
      if (!slot.everReady && slot.failures >= kMaxStartFailures) {
        this.fail(new Error(`${slot.role} worker ${slot.index} failed to start ${slot.failures} times in a row; giving up`));
        return;
      }
      // /readyz answers 503 on every worker until the new sync worker is up (readiness.ts).
      if (slot.role === 'sync') this.syncStats().setSyncDownSince(Date.now());
      const delay = restartDelayMs(slot.failures);
      this.io.warn(`fleetgate: ${slot.role} worker ${slot.index} exited (code ${code}); restarting in ${delay} ms`);
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = undefined;
        if (!this.stopping) this.spawn(slot);
      }, delay);
    });
  }

  private allReady(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.readyWaiters.push({ resolve, reject });
      this.checkReady();
    });
  }

  private checkReady(): void {
    if (this.fatal) {
      for (const w of this.readyWaiters.splice(0)) w.reject(this.fatal);
      return;
    }
    if (this.slots.length === 0 || !this.slots.every((s) => s.everReady)) return;
    for (const w of this.readyWaiters.splice(0)) w.resolve();
  }

  private fail(err: Error): void {
    this.fatal = err;
    this.io.warn(`fleetgate: ${err.message}`);
    this.checkReady();
    void this.stop();
  }

  /** A worker asked for /metrics: ask every live HTTP worker for its snapshot and reply with all. */
  private collectMetrics(from: Worker, id: number): void {
    const seq = ++this.metricsSeq;
    const targets = this.httpWorkerThreads();
    const entry = {
      from,
      replyId: id,
      want: targets.length,
      got: [] as unknown[],
      timer: setTimeout(() => this.finishMetrics(seq), 1000),
    };
    this.metricsPending.set(seq, entry);
    for (const w of targets) w.postMessage({ type: 'metrics-collect', id: seq } satisfies MainToWorker);
    if (targets.length === 0) this.finishMetrics(seq);
  }

  private addMetricsSnapshot(seq: number, snapshot: unknown): void {
    const entry = this.metricsPending.get(seq);
    if (!entry) return;
    entry.got.push(snapshot);
    if (entry.got.length >= entry.want) this.finishMetrics(seq);
  }

  private finishMetrics(seq: number): void {
    const entry = this.metricsPending.get(seq);
    if (!entry) return;
    this.metricsPending.delete(seq);
    clearTimeout(entry.timer);
    entry.from.postMessage({ type: 'metrics-reply', id: entry.replyId, snapshots: entry.got } satisfies MainToWorker);
  }
}
