/**
 * The sync worker thread: opens its own database connection, attaches to the shared region as
 * the index's only writer, and runs sync passes on every trigger:
 *  - start-up;
 *  - a sync request (the shared counter any thread bumps: Kite's syncNow);
 *  - a change committed to the database by another connection or process (PRAGMA data_version,
 *    polled every kDataVersionPollMs);
 *  - the periodic resync, which also re-probes every cluster.
 * After each pass it publishes the request ticket it served, which is what admin writes wait on
 * for read-your-writes.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { RwLock } from '../lock/index.js';
import { IndexWriter } from '../index/index.js';
import { kSyncStatsRegionBytes, kSyncStatsOffset } from '../shm/layout.js';
import { markSyncServed, requestSync, syncRequested, waitSyncRequestAsync } from '../shm/sync-signal.js';
import { ExecCredentialCache } from '../k8s/exec-plugin.js';
import { openStore } from '../store/index.js';
import { configHash, inClusterClientConfig, normaliseClientConfig, probeVersion } from '../k8s/index.js';
import type { MainToWorker, SyncWorkerData, WorkerToMain } from './messages.js';
import { holdLockForTest } from './test-hold.js';
import { SyncEngine } from '../sync/engine.js';
import { SyncStats } from '../sync/stats.js';
import { runPgSyncWorker } from './sync-postgres.js';

/** How often the database is asked whether another connection committed. */
export const kDataVersionPollMs = 250;

export async function runSyncWorker(data: SyncWorkerData): Promise<void> {
  const port = parentPort!;
  const post = (m: WorkerToMain) => port.postMessage(m);
  const lock = RwLock.attach(data.sab, { threadId });
  const writer = new IndexWriter(data.sab, lock);
  const stats = new SyncStats(data.sab, kSyncStatsOffset, kSyncStatsRegionBytes);
  if (data.databaseUrl) {
    await runPgSyncWorker({ data: { ...data, databaseUrl: data.databaseUrl }, post, port, writer, stats });
    lock.release();
    return;
  }
  const store = openStore({ dataDir: data.dataDir, key: Buffer.from(data.key) });
  // Exec plugins run in the background; when one ends, a pass picks its credential up.
  const execCredentials = new ExecCredentialCache(() => void requestSync(data.sab), { refreshAfterMs: data.syncIntervalMs });

  const engine = new SyncEngine(
    {
      listRows: () => {
        const groups = store.groups.membership();
        // Object.assign keeps the row's redaction (its non-enumerable toJSON and inspect).
        return store.clusters.listForSync().map((r) => Object.assign(r, { groups: groups.get(r.id) ?? [] }));
      },
      publish: (entries) => writer.publish(entries),
      initialSnapshot: () => writer.snapshot(),
      buildClient: (row) =>
        row.inCluster ? inClusterClientConfig() : normaliseClientConfig(row.config, { allowExec: data.allowExec, execCredentials: (u) => execCredentials.get(u) }),
      hashConfig: configHash,
      probe: (client, timeoutMs) => probeVersion(client, { timeoutMs }),
      stats,
      log: (line) => post({ type: 'log', line }),
    },
    {
      probeConcurrency: data.probeConcurrency,
      probeTimeoutMs: data.probeTimeoutMs,
      resyncIntervalMs: data.syncIntervalMs,
    },
  );

  let stopping = false;
  let wake: (() => void) | undefined;
  port.on('message', (msg: MainToWorker) => {
    if (msg.type === 'drain') {
      stopping = true;
      wake?.();
    } else if (msg.type === 'test-hold' && data.testHooks) {
      holdLockForTest(lock, msg, post);
    }
  });

  let dataVersion = store.dataVersion();
  let indexRev = store.indexRevision();
  let lastResync = Date.now();
  /** Runs one pass and returns the ticket it served. */
  const runPass = (resync: boolean): number => {
    // Read the request counter before the pass reads the table: every ticket up to it was taken
    // after its writer committed, so this pass sees those writes and serves those tickets. A
    // ticket taken during the pass is above `ticket` and gets the next pass.
    const ticket = syncRequested(data.sab);
    dataVersion = store.dataVersion();
    indexRev = store.indexRevision();
    engine.pass({ resync });
    markSyncServed(data.sab, ticket);
    return ticket;
  };

  let served = runPass(true);
  post({ type: 'ready', role: 'sync' });

  while (!stopping) {
    if (syncRequested(data.sab) === served) {
      const untilResync = Math.max(0, lastResync + data.syncIntervalMs - Date.now());
      const timeout = Math.min(kDataVersionPollMs, untilResync);
      // Sleeps only while the counter still equals the ticket last served; wakes on requestSync's
      // Atomics.notify (pairing argued in src/shm/sync-signal.ts), on timeout to poll data_version
      // and the resync clock, or on a drain message.
      await Promise.race([
        waitSyncRequestAsync(data.sab, served, timeout),
        new Promise<void>((resolve) => (wake = resolve)),
      ]);
      wake = undefined;
    }
    if (stopping) break;
    const resync = Date.now() - lastResync >= data.syncIntervalMs;
    if (resync) lastResync = Date.now();
    const requested = syncRequested(data.sab) !== served;
    // data_version moves on any commit by another connection; only a change to what the index is
    // built from (indexRevision) is worth a pass. Read in this order, a write landing between the
    // two reads is seen now (by the revision) or at the next poll (by data_version).
    let changed = false;
    const dv = store.dataVersion();
    if (dv !== dataVersion) {
      dataVersion = dv;
      changed = store.indexRevision() !== indexRev;
    }
    if (requested || changed || resync) served = runPass(resync);
  }
  engine.stop();
  store.close();
  lock.release();
}
