// Thread entry: one HTTP worker. Logic lives in src/server/http-worker.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { runHttpWorker } from '../src/server/http-worker.js';
import type { HttpWorkerData } from '../src/server/messages.js';

runHttpWorker(workerData as HttpWorkerData).catch((err: unknown) => {
  // Say why before dying: the supervisor logs it and backs off instead of restarting blindly.
  parentPort?.postMessage({ type: 'fatal', role: 'http', error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
