// Thread entry: one HTTP worker. Logic lives in src/threads/http.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { runHttpWorker } from '../src/threads/http.js';
import type { HttpWorkerData } from '../src/threads/messages.js';

runHttpWorker(workerData as HttpWorkerData).catch((err: unknown) => {
  // Say why before dying: the supervisor logs it and backs off instead of restarting blindly.
  parentPort?.postMessage({ type: 'fatal', role: 'http', error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
