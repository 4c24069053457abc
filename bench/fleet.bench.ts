/**
 * Fleet benchmark (not a test): `npm run bench:fleet [-- --json] [-- --clusters 100 --pods 2000]`.
 *
 *  idleP99Ms    p99 of GET /api/v1/clusters (autocannon) with nothing else running (and idleP50Ms)
 *  poolP99Ms    the same while fleet searches over every cluster run back to back on the pool
 *               (and poolP50Ms)
 *  inlineP99Ms  the same while the same searches run inline on the HTTP worker's thread
 *  searchMs     median time of one fleet search on the pool (HTTP round trip), run alone
 *  poolSearchMedianMs / inlineSearchMedianMs  median search time during the loaded runs
 *  poolFailedSearches / inlineFailedSearches  searches that did not answer 200 (summed over
 *               rounds); *PartialSearches those that answered with some clusters missing, and
 *               *PartialClusters how many clusters were missing in all. searchesComplete is false
 *               when any search failed or was partial: such a run did less work than it claims
 *               and its latency is not comparable.
 * Goal (issue 7): poolP99Ms <= 3 x idleP99Ms and well under inlineP99Ms.
 *
 * Rounds: `--rounds` (default 3) rounds each measure idle, pool and inline once for `--duration`
 * seconds (default 10), in an order rotated every round, so machine noise falls on all three
 * alike; every latency figure is the median over rounds (poolVsIdle the median of per-round
 * ratios). Two HTTP worker threads serve throughout, one with the pool and one running searches
 * inline; the idle and pool legs use the former.
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
const durationS = arg('duration', 10);
const rounds = Math.max(1, arg('rounds', 3));
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
  /** Clusters missing from partial answers, and the partial answers themselves. */
  partial: number;
  partialSearches: number;
  /** Searches that did not answer 200 (or whose connection failed). */
  failed: number;
}

/** `searchers` loops, each issuing one fleet search after the other until stopped. */
function searchLoop(url: string): SearchLoop {
  let running = true;
  const durations: number[] = [];
  const state = { partial: 0, partialSearches: 0, failed: 0 };
  const q = ['api', 'worker', 'cache', 'gateway'];
  const loops = Array.from({ length: searchers }, async (_, i) => {
    for (let n = 0; running; n++) {
      const t = performance.now();
      try {
        const res = await fetch(`${url}/api/v1/fleet/search?q=${q[(i + n) % q.length]}&limit=${query}`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { partial?: unknown[]; error?: string };
        if (res.status !== 200) {
          state.failed++;
          say(`fleet search answered ${res.status}: ${body.error}`);
          continue;
        }
        durations.push(performance.now() - t);
        const missing = body.partial?.length ?? 0;
        state.partial += missing;
        if (missing > 0) state.partialSearches++;
      } catch (err) {
        state.failed++;
        say(`fleet search failed: ${(err as Error).message}`);
      }
    }
  });
  return {
    durations,
    get partial() {
      return state.partial;
    },
    get partialSearches() {
      return state.partialSearches;
    },
    get failed() {
      return state.failed;
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

const out: Record<string, unknown> = { clusters, pods, v8PoolSize, rounds, durationS };
const pool = await startThread({ role: 'http', sab, inline: false, threads: poolThreads, timeoutMs, token });
const inline = await startThread({ role: 'http', sab, inline: true, threads: poolThreads, timeoutMs, token });
const urls = { pool: pool.ready.url as string, inline: inline.ready.url as string };
// Warm-up: the first search generates every simulated cluster's objects (once per run) and opens
// the keep-alive connections, on each thread.
for (const mode of ['pool', 'inline'] as const) {
  const tw = performance.now();
  const warm = searchLoop(urls[mode]);
  while (warm.durations.length === 0 && warm.failed === 0) await new Promise((r) => setTimeout(r, 50));
  await warm.stop();
  say(`${mode}: warm-up search ${Math.round(performance.now() - tw)} ms`);
}

type Leg = 'idle' | 'pool' | 'inline';
interface Measured {
  p50: number;
  p99: number;
  loop?: SearchLoop;
}
const legs: Leg[] = ['idle', 'pool', 'inline'];
const results: Record<Leg, Measured[]> = { idle: [], pool: [], inline: [] };
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < legs.length; i++) {
    const leg = legs[(i + r) % legs.length]!;
    if (leg === 'idle') {
      results.idle.push(await latency(urls.pool));
    } else {
      const loop = searchLoop(urls[leg]);
      const lat = await latency(urls[leg]);
      await loop.stop();
      results[leg].push({ ...lat, loop });
    }
    const last = results[leg].at(-1)!;
    say(`round ${r + 1} ${leg}: p50 ${last.p50} p99 ${last.p99} ms${last.loop ? `, ${last.loop.durations.length} searches (median ${Math.round(median(last.loop.durations))} ms, ${last.loop.failed} failed, ${last.loop.partialSearches} partial)` : ''}`);
  }
}
const alone: number[] = [];
for (let i = 0; i < samples; i++) {
  const t = performance.now();
  const res = await fetch(`${urls.pool}/api/v1/fleet/search?q=api&limit=${query}`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  alone.push(performance.now() - t);
}
await stopThread(pool.worker);
await stopThread(inline.worker);
await stopThread(sim.worker);

for (const leg of legs) {
  out[`${leg}P50Ms`] = median(results[leg].map((m) => m.p50));
  out[`${leg}P99Ms`] = median(results[leg].map((m) => m.p99));
}
out.searchMs = Math.round(median(alone));
let complete = true;
for (const leg of ['pool', 'inline'] as const) {
  const loops = results[leg].map((m) => m.loop!);
  out[`${leg}Searches`] = loops.reduce((a, l) => a + l.durations.length, 0);
  out[`${leg}SearchMedianMs`] = Math.round(median(loops.flatMap((l) => l.durations)));
  out[`${leg}FailedSearches`] = loops.reduce((a, l) => a + l.failed, 0);
  out[`${leg}PartialSearches`] = loops.reduce((a, l) => a + l.partialSearches, 0);
  out[`${leg}PartialClusters`] = loops.reduce((a, l) => a + l.partial, 0);
  if (out[`${leg}FailedSearches`] !== 0 || out[`${leg}PartialSearches`] !== 0) complete = false;
}
out.searchesComplete = complete;
out.poolVsIdle = Math.round(median(results.pool.map((m, i) => m.p99 / results.idle[i]!.p99)) * 10) / 10;
out.perRoundP99Ms = Object.fromEntries(legs.map((l) => [l, results[l].map((m) => m.p99)]));

if (json) {
  console.log(JSON.stringify(out));
} else {
  const goals: Record<string, string> = { poolP99Ms: '<= 3 x idleP99Ms', inlineP99Ms: '> poolP99Ms', searchesComplete: '(false: some searches failed or were partial)' };
  console.log('figure'.padEnd(24) + 'value'.padStart(12) + '   goal');
  for (const [k, v] of Object.entries(out)) console.log(k.padEnd(24) + (typeof v === 'object' ? JSON.stringify(v) : String(v)).padStart(12) + '   ' + (goals[k] ?? ''));
}
process.exit(0);
