/**
 * One HTTP worker thread: its own Express app, its own database connection, its own reader slot
 * in the shared lock, listening on the shared port with reusePort (never a descriptor shared
 * between threads: a thread that exits would close it for all). On 'drain' it stops accepting,
 * lets in-flight requests finish (bounded), closes its upstream agents and its database, and exits.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parentPort, threadId } from 'node:worker_threads';
import { createFleetService } from '../fleet/index.js';
import { lockStreamRouter } from '../http/routes/lock-stream.js';
import { AuditLog } from '../audit/log.js';
import { createApp, renderHttpMetrics, sumHttpSnapshots, type HttpMetricsSnapshot } from '../http/index.js';
import { IndexReader } from '../index/index.js';
import { RwLock } from '../lock/index.js';
import { requestSync, waitSyncServed } from '../shm/sync-signal.js';
import { openBackend } from '../store/index.js';
import { notReadyReason } from '../sync/readiness.js';
import type { HttpWorkerData, MainToWorker, WorkerToMain } from './messages.js';
import { Drainer } from '../http/drain.js';
import { holdLockForTest } from './test-hold.js';
import { renderSharedMetrics } from '../metrics/shared.js';

export async function runHttpWorker(data: HttpWorkerData): Promise<void> {
  const port = parentPort!;
  const post = (m: WorkerToMain) => port.postMessage(m);
  const lock = RwLock.attach(data.sab, { threadId });
  const reader = new IndexReader(data.sab, lock, { cacheEntries: data.readCache });
  const store = await openBackend({ dataDir: data.dataDir, databaseUrl: data.databaseUrl, key: Buffer.from(data.key), poolMax: 2 });

  // /metrics: this worker asks the supervisor, which gathers every HTTP worker's snapshot.
  let metricsSeq = 0;
  const metricsWaiters = new Map<number, (snaps: unknown[]) => void>();
  const metricsText = async (): Promise<string> => {
    const id = ++metricsSeq;
    const snaps = await new Promise<unknown[]>((resolve) => {
      const timer = setTimeout(() => {
        metricsWaiters.delete(id);
        resolve([handle.metricsSnapshot()]);
      }, 2000);
      metricsWaiters.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      post({ type: 'metrics-request', id });
    });
    const http = sumHttpSnapshots(snaps as HttpMetricsSnapshot[]);
    return renderHttpMetrics(http) + renderSharedMetrics(data.sab);
  };

  // Fleet-wide queries run on this worker's piscina pool, whose threads are index readers with
  // their own lock slots. The supervisor records their thread ids so that, if this worker dies
  // and takes its pool with it, it can reclaim their slots too.
  const fleet = createFleetService({
    sab: data.sab,
    threads: data.fleetThreads,
    maxQueue: data.fleetQueue,
    directory: reader,
    log: (l) => post({ type: 'log', line: l }),
    onThreadStart: (threadId) => post({ type: 'child-thread', threadId, alive: true }),
    onThreadExit: (threadId) => post({ type: 'child-thread', threadId, alive: false }),
  });

  let tlsPort: number | undefined; // known once the HTTPS listener is bound
  let dbDownSince = 0; // PostgreSQL backend: set from the sync worker's 'db-state' messages
  // Audit batches go to the supervisor, which writes them (see Supervisor.audit): a database
  // write here could hold this thread's event loop while it waits for SQLite's write lock.
  const audit = new AuditLog({
    store: { append: (records) => post({ type: 'audit', records: [...records] }), prune: () => 0 },
    stdout: data.auditStdout ? (text) => process.stdout.write(text) : undefined,
    log: (l) => post({ type: 'log', line: l }),
  });
  const handle = createApp({
    directory: reader,
    store,
    audit,
    recordTokenUse: (uses) => post({ type: 'token-use', uses: [...uses] }),
    // Read-your-writes: a ticket taken after the write committed is served only by a sync that
    // read the table after taking it (see src/shm/sync-signal.ts).
    syncBarrier: (timeoutMs) => waitSyncServed(data.sab, requestSync(data.sab), timeoutMs),
    requestSync: () => void requestSync(data.sab),
    metricsText,
    notReadyReason: () => notReadyReason(data.sab, data.syncIntervalMs, Date.now(), dbDownSince !== 0),
    degraded: () => (dbDownSince ? `degraded: database unreachable since ${new Date(dbDownSince).toISOString()}` : undefined),
    mounts: [{ path: '/api/v1/fleet', handler: fleet.router() }, { path: '/api/v1/admin/lock', handler: lockStreamRouter(data.sab) }],
    options: {
      upstreamTimeoutMs: data.upstreamTimeoutMs,
      allowExec: data.allowExec,
      maxStreamsPerToken: data.maxStreamsPerToken,
      externalUrl: data.externalUrl,
      metricsToken: data.metricsToken,
      workerId: data.workerIndex,
      // Every GET /api/v1/clusters reads the shared index under the read lock, in every lock
      // mode: the modes are then compared like for like, and the load suite's proof covers the
      // lock on this route too (a per-generation copy would bypass it between commits).
      snapshotSummaries: false,
      log: (l) => post({ type: 'log', line: l }),
      // kubectl sends tokens only over TLS: kubeconfigs handed out point at the HTTPS listener.
      publicTls: data.tls ? { port: () => tlsPort, caPem: data.tls.caPem || undefined } : undefined,
    },
  });

  // shouldUpgradeCallback is Node >= 24.9's; older Node ignores it (see takesUpgrade).
  const serverOptions = { keepAliveTimeout: 5000, shouldUpgradeCallback: handle.shouldUpgrade };
  const server = createServer(serverOptions, handle.app);
  server.on('upgrade', handle.upgrade);
  await listen(server, data.port, data);
  const addr = server.address() as AddressInfo;
  const servers: Drainer[] = [new Drainer(server)];
  if (data.tls) {
    const tlsServer = createTlsServer({ ...serverOptions, cert: data.tls.certPem, key: data.tls.keyPem }, handle.app);
    tlsServer.on('upgrade', handle.upgrade);
    await listen(tlsServer, data.tls.port, data);
    tlsPort = (tlsServer.address() as AddressInfo).port;
    servers.push(new Drainer(tlsServer));
  }

  let draining = false;
  port.on('message', (msg: MainToWorker) => {
    switch (msg.type) {
      case 'metrics-collect':
        post({ type: 'metrics-snapshot', id: msg.id, snapshot: handle.metricsSnapshot() });
        break;
      case 'db-state':
        dbDownSince = msg.downSince;
        break;
      case 'metrics-reply':
        metricsWaiters.get(msg.id)?.(msg.snapshots);
        metricsWaiters.delete(msg.id);
        break;
      case 'test-hold':
        if (data.testHooks) holdLockForTest(lock, msg, post);
        break;
      case 'drain':
        if (draining) return;
        draining = true;
        void Promise.all(servers.map((s) => s.drain(msg.timeoutMs))).then(async (results) => {
          const refused = results.reduce((n, r) => n + r.refused, 0);
          const cut = results.reduce((n, r) => n + r.cut, 0);
          if (refused + cut > 0) post({ type: 'log', line: `http worker ${data.workerIndex}: drain bound reached: ${refused} request(s) answered 503, ${cut} stream(s) cut` });
          await handle.close();
          await fleet.close();
          await store.close();
          lock.release();
          process.exit(0);
        });
        break;
    }
  });
  post({ type: 'ready', role: 'http', port: addr.port, tlsPort });
}

function listen(server: Server, port: number, data: HttpWorkerData): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: data.host, reusePort: data.reusePort } as Parameters<Server['listen']>[0], () => {
      server.off('error', reject);
      resolve();
    });
  });
}
