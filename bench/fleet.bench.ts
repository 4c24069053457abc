/**
 * Fleet benchmark (not a test): `npm run bench:fleet [-- --json] [-- --clusters 100 --pods 2000]`.
 *
 *  idleP99Ms    p99 of GET /api/v1/clusters (autocannon) with nothing else running (and idleP50Ms)
 *  poolP99Ms    the same while fleet searches over every cluster run back to back on the pool
 *               (and poolP50Ms)
 *  inlineP99Ms  the same while the same searches run inline on the HTTP worker's thread
 *  searchMs     median time of one fleet search on the pool (HTTP round trip), run alone
 *  poolSearchMedianMs / inlineSearchMedianMs  median search time during the loaded runs
 * Goal (issue 7): poolP99Ms <= 3 x idleP99Ms and well under inlineP99Ms.
 *
 * Setup: this process runs the orchestration and autocannon on its main thread, the simulator on
 * a thread of its own, and one HTTP worker thread wired as fleetgate's (own reader slot, Express
 * app with requireAuth, the cluster list and the fleet router; the fleet pool hangs off it). The
 * index is a real shared region published by an IndexWriter here. Not `fleetgate serve`: its
 * `--sim` clusters would share the supervisor's thread, and the inline switch is bench-only.
 * Like `fleetgate serve`, the process runs with V8's helper pool capped (src/server/v8-pool.ts).
 */
import autocannon from 'autocannon';
import { Worker } from 'node:worker_threads';
import { IndexWriter } from '../src/index/index.js';
import { RwLock } from '../src/lock/index.js';
import { ensureV8PoolSize } from '../src/server/v8-pool.js';
import { createSharedRegion } from '../src/shm/layout.js';
import type { SimCluster } from '../src/sim/index.js';
import { distPath } from '../src/util/paths.js';
import { simEntries } from '../test/fleet/harness.js';
import type { BenchThreadData } from './fleet-thread.js';

// Run with V8's helper-thread pool sized as `fleetgate serve` sizes it (src/server/v8-pool.ts):
// re-executes this process in place with --v8-pool-size before any thread starts.
ensureV8PoolSize((line) => console.error(line));
const v8PoolSize = /--v8-pool-size[= ](\d+)/.exec(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`)?.[1] ?? 'node default';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
function arg(name: string, dflt: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
}
const clusters = arg('clusters', 100);
const pods = arg('pods', 2000);
const durationS = arg('duration', 30);
const connections = arg('connections', 10);
// One pool thread per HTTP worker, as `fleetgate serve` runs by default (--fleet-threads 1).
const poolThreads = arg('threads', 1);
const searchers = arg('searchers', 2);
const timeoutMs = arg('timeout', 60_000);
const query = arg('limit', 50);
const samples = arg('samples', 3);
const token = 'fg_bench_admin';
const say = (s: string) => {
  if (!json) console.error(s);
};

function startThread(data: BenchThreadData): Promise<{ worker: Worker; ready: any }> {
  const worker = new Worker(distPath('bench', 'fleet-thread.js'), { workerData: data });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m) => resolve({ worker, ready: m }));
  });
}

async function stopThread(worker: Worker): Promise<void> {
  const exited = new Promise((r) => worker.once('exit', r));
  worker.postMessage({ type: 'stop' });
  await exited;
}

/**
 * p99 latency of GET /api/v1/clusters in ms, from every response's own hrtime duration:
 * autocannon's histogram keeps whole milliseconds, too coarse to compare a 1 ms idle p99.
 */
async function latency(url: string): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: `${url}/api/v1/clusters`, connections, duration: durationS, headers: { authorization: `Bearer ${token}` } },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => samples.push(responseTime));
  });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`bench: /api/v1/clusters had ${r.non2xx} non-2xx and ${r.errors} errors`);
  samples.sort((a, b) => a - b);
  const at = (q: number) => Math.round(samples[Math.min(samples.length - 1, Math.floor(samples.length * q))]! * 100) / 100;
  return { p50: at(0.5), p99: at(0.99) };
}

interface SearchLoop {
  stop(): Promise<void>;
  durations: number[];
  partial: number;
}

/** `searchers` loops, each issuing one fleet search after the other until stopped. */
function searchLoop(url: string): SearchLoop {
  let running = true;
  const durations: number[] = [];
  const state = { partial: 0 };
  const q = ['api', 'worker', 'cache', 'gateway'];
  const loops = Array.from({ length: searchers }, async (_, i) => {
    for (let n = 0; running; n++) {
      const t = performance.now();
      const res = await fetch(`${url}/api/v1/fleet/search?q=${q[(i + n) % q.length]}&limit=${query}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { partial?: unknown[]; error?: string };
      if (res.status !== 200) throw new Error(`bench: fleet search answered ${res.status}: ${body.error}`);
      durations.push(performance.now() - t);
      state.partial += body.partial?.length ?? 0;
    }
  });
  return {
    durations,
    get partial() {
      return state.partial;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

say(`fleet bench: ${clusters} clusters x ${pods} pods, pool ${poolThreads} thread(s), ${searchers} search loop(s), autocannon ${connections} connections x ${durationS} s, V8 pool ${v8PoolSize}`);
const t0 = performance.now();
const sim = await startThread({ role: 'sim', clusters, pods });
const simClusters = sim.ready.clusters as SimCluster[];
say(`simulator up in ${Math.round(performance.now() - t0)} ms`);

const sab = createSharedRegion();
const writer = new IndexWriter(sab, RwLock.attach(sab, { threadId: 1_000_000 }));
writer.publish(simEntries(simClusters));

const out: Record<string, number | string> = { clusters, pods, v8PoolSize };
for (const inline of [false, true]) {
  const mode = inline ? 'inline' : 'pool';
  const http = await startThread({ role: 'http', sab, inline, threads: poolThreads, timeoutMs, token });
  const url = http.ready.url as string;
  // Warm-up: the first search generates every simulated cluster's objects (once per run) and
  // opens the keep-alive connections.
  const tw = performance.now();
  const warm = searchLoop(url);
  while (warm.durations.length === 0) await new Promise((r) => setTimeout(r, 50));
  await warm.stop();
  say(`${mode}: warm-up search ${Math.round(performance.now() - tw)} ms`);
  if (!inline) {
    const idle = await latency(url);
    out.idleP50Ms = idle.p50;
    out.idleP99Ms = idle.p99;
    say(`idle p99 ${out.idleP99Ms} ms`);
  }
  const loop = searchLoop(url);
  const busyLatency = await latency(url);
  const busy = busyLatency.p99;
  await loop.stop();
  out[`${mode}P50Ms`] = busyLatency.p50;
  out[`${mode}P99Ms`] = busy;
  out[`${mode}Searches`] = loop.durations.length;
  out[`${mode}SearchMedianMs`] = Math.round(median(loop.durations));
  if (loop.partial) out[`${mode}PartialClusters`] = loop.partial;
  if (!inline) {
    const alone: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      const res = await fetch(`${url}/api/v1/fleet/search?q=api&limit=${query}`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      alone.push(performance.now() - t);
    }
    out.searchMs = Math.round(median(alone));
  }
  say(`${mode}: p99 ${busy} ms while ${loop.durations.length} searches ran (median ${Math.round(median(loop.durations))} ms)`);
  await stopThread(http.worker);
}
await stopThread(sim.worker);
out.poolVsIdle = Math.round(((out.poolP99Ms as number) / (out.idleP99Ms as number)) * 10) / 10;

if (json) {
  console.log(JSON.stringify(out));
} else {
  const goals: Record<string, string> = { poolP99Ms: '<= 3 x idleP99Ms', inlineP99Ms: '> poolP99Ms' };
  console.log('figure'.padEnd(24) + 'value'.padStart(12) + '   goal');
  for (const [k, v] of Object.entries(out)) console.log(k.padEnd(24) + String(v).padStart(12) + '   ' + (goals[k] ?? ''));
}
process.exit(0);
