/**
 * Threads of the fleet benchmark (run compiled from dist/bench/fleet-thread.js):
 *  - role 'sim':  the simulated clusters, on their own (niced) thread so serving hundreds of MB
 *                 of lists does not run on the thread that measures latency;
 *  - role 'http': one HTTP worker as fleetgate runs it: its own reader slot and index reader, an
 *                 Express app with requireAuth, the Kite cluster list and the fleet router, and
 *                 the fleet service (pool, or inline on this thread).
 */
import { setPriority } from 'node:os';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { createFleetService } from '../src/fleet/index.js';
import { IndexReader } from '../src/index/index.js';
import { RwLock } from '../src/lock/index.js';
import { startSimulator } from '../src/sim/index.js';
import { fleetApp, listen, StaticTokens } from '../test/fleet/harness.js';

export type BenchThreadData =
  | { role: 'sim'; clusters: number; pods: number }
  | { role: 'http'; sab: SharedArrayBuffer; inline: boolean; threads: number; timeoutMs: number; token: string };

const data = workerData as BenchThreadData;
const port = parentPort!;

if (data.role === 'sim') {
  // The simulator stands in for API servers on other machines: on Linux (nice is per thread)
  // lower this thread's priority so its TLS and list building weigh less on the threads measured.
  if (process.platform === 'linux') setPriority(0, 10);
  const sim = await startSimulator({ clusters: data.clusters, podsPerCluster: data.pods });
  port.postMessage({ type: 'ready', clusters: sim.clusters.map(({ name, server, token, version, caPem }) => ({ name, server, token, version, caPem })) });
  port.on('message', async (m: { type: string }) => {
    if (m.type === 'stop') {
      await sim.stop();
      process.exit(0);
    }
  });
} else {
  const lock = RwLock.attach(data.sab, { threadId });
  const reader = new IndexReader(data.sab, lock);
  const tokens = new StaticTokens();
  tokens.add(data.token, 'bench', 'admin');
  const fleet = createFleetService({ sab: data.sab, inline: data.inline, threads: data.threads, timeoutMs: data.timeoutMs, directory: reader, log: (l) => console.error(l) });
  const http = await listen(fleetApp(reader, tokens, fleet, (l) => console.error(l)));
  port.postMessage({ type: 'ready', url: http.url, mode: fleet.mode });
  port.on('message', async (m: { type: string }) => {
    if (m.type === 'stop') {
      await http.close();
      await fleet.close();
      lock.release();
      process.exit(0);
    }
  });
}
