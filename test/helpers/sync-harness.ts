/**
 * A real sync worker thread against a real store and simulated clusters, observed from the test
 * thread as an index reader: the sync worker's integration harness.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, threadId } from 'node:worker_threads';
import { IndexReader } from '../../src/index/index.js';
import { RwLock, recoverThread } from '../../src/lock/index.js';
import { createSharedRegion, type LockMode } from '../../src/shm/layout.js';
import { requestSync, waitSyncServed } from '../../src/shm/sync-signal.js';
import { openStore, type Store } from '../../src/store/index.js';
import type { SyncWorkerData } from '../../src/threads/messages.js';
import { workerEntry } from '../../src/util/paths.js';

export interface SyncHarness {
  sab: SharedArrayBuffer;
  store: Store;
  reader: IndexReader;
  worker: Worker;
  dataDir: string;
  /** Starts the worker when the harness was created with deferStart. */
  start(): Promise<void>;
  /** Bump the sync counter and wait until a sync that began after it committed. */
  syncNow(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startSyncHarness(
  opts: {
    mode?: LockMode;
    syncIntervalMs?: number;
    probeTimeoutMs?: number;
    dataDir?: string;
    seed?: (store: Store) => void;
    /** Create everything but start the sync worker only on start() (benchmarks time it). */
    deferStart?: boolean;
  } = {},
): Promise<SyncHarness> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'fleetgate-sync-'));
  const store = openStore({ dataDir, env: {} });
  opts.seed?.(store);
  const sab = createSharedRegion({ mode: opts.mode ?? 'rw' });
  const data: SyncWorkerData = {
    role: 'sync',
    sab,
    dataDir,
    key: new Uint8Array(store.encryptionKey()),
    syncIntervalMs: opts.syncIntervalMs ?? 60_000,
    probeTimeoutMs: opts.probeTimeoutMs ?? 5000,
    probeConcurrency: 16,
    allowExec: false,
    testHooks: false,
  };
  let worker!: Worker;
  const start = () => {
    worker = new Worker(workerEntry('sync'), { workerData: data });
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { type: string; error?: string }) => {
        if (m.type === 'ready') resolve();
        if (m.type === 'fatal') reject(new Error(m.error));
      });
      worker.once('error', reject);
    });
  };
  if (!opts.deferStart) await start();
  const lock = RwLock.attach(sab, { threadId });
  const reader = new IndexReader(sab, lock);
  return {
    sab,
    store,
    reader,
    get worker() {
      return worker;
    },
    dataDir,
    start,
    async syncNow(timeoutMs = 10_000) {
      const ok = await waitSyncServed(sab, requestSync(sab), timeoutMs);
      if (!ok) throw new Error('sync request not served in time');
    },
    async stop() {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.postMessage({ type: 'drain', timeoutMs: 1000 });
      const timer = setTimeout(() => void worker.terminate(), 3000);
      await exited;
      clearTimeout(timer);
      recoverThread(sab, worker.threadId);
      lock.release();
      store.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
