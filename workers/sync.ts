// Thread entry: the sync worker, the cluster index's only writer. Logic lives in src/threads/sync.ts (SQLite) and src/threads/sync-postgres.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { runSyncWorker } from '../src/threads/sync.js';
import type { SyncWorkerData } from '../src/threads/messages.js';

runSyncWorker(workerData as SyncWorkerData).then(
  () => process.exit(0),
  (err: unknown) => {
    // Say why before dying: the supervisor logs it and backs off instead of restarting blindly.
    parentPort?.postMessage({ type: 'fatal', role: 'sync', error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  },
);
