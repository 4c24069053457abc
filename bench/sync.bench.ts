/**
 * Sync benchmark (not a test): `npm run bench:sync [-- --json] [-- --sizes 1000,10000]`.
 *
 *  fullSync1kMs / fullSync10kMs  first sync of N simulated clusters, from the sync worker's start
 *                                until every cluster is committed ok with its probed version
 *  changeVisibleMs               median time from a committed row change plus a sync request to
 *                                the new generation being visible to a reader (1,000 clusters)
 *  commitHoldP99Us               write-lock hold p99 over all commits of those syncs, per size
 *  probeAnchor1kMs / probeAnchor10kMs
 *                                the same N GET /version calls from a bare Node https client on
 *                                its own thread (bench/probe-anchor-worker.ts: the probes'
 *                                concurrency, a fresh connection and TLS handshake each, no session
 *                                reuse), run just before and just after the sync; the mean of the
 *                                two (both are printed). fullSync{N}OverAnchor = fullSync / anchor:
 *                                on two cores shared with the simulator, N TLS handshakes are most
 *                                of a full sync, so the ratio is what the machine does not decide
 *  rssMb1k / rssMb10k            resident memory of a `fleetgate serve` process (2 HTTP workers,
 *                                its sync worker) once it has imported and probed all N simulated
 *                                clusters, MiB (from /proc; the simulator is not in it)
 *
 * The simulator runs in this process with no added latency; the sync worker is a real thread.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { startFleetgate, waitFor200 } from '../load/processes.js';
import type { ClientConfig } from '../src/index/types.js';
import { normaliseClientConfig, splitContexts } from '../src/k8s/index.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { distPath } from '../src/util/paths.js';
import { kSyncStatsRegionBytes, kSyncStatsOffset } from '../src/shm/layout.js';
import { SyncStats, holdQuantileUs } from '../src/sync/stats.js';
import { startSyncHarness } from '../test/helpers/sync-harness.js';

const json = process.argv.includes('--json');
const sizesArg = process.argv.indexOf('--sizes');
const sizes = sizesArg > 0 ? process.argv[sizesArg + 1]!.split(',').map(Number) : [1000, 10_000];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The sync worker's probe concurrency (test/helpers/sync-harness.ts, and serve's default). */
const kProbeConcurrency = 16;

/** Runs the probe anchor over every simulated cluster once; resolves with its wall time, ms. */
async function probeAnchor(configs: ClientConfig[]): Promise<number> {
  const w = new Worker(distPath('bench', 'probe-anchor-worker.js'), { workerData: { configs, concurrency: kProbeConcurrency } });
  const r = await new Promise<{ ms: number; ok: number; failed: number }>((res, rej) => (w.once('message', res), w.once('error', rej)));
  await w.terminate();
  if (r.failed > 0) throw new Error(`bench: probe anchor: ${r.failed} of ${configs.length} GET /version failed`);
  return r.ms;
}

/** RSS (MiB) of a fleetgate serve process once all of the simulator's clusters are ok. */
async function serverRssMb(sim: Simulator, n: number): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'fleetgate-bench-sync-'));
  const token = 'fg_bench_sync_token_0123456789abcdef';
  try {
    const kubeconfig = join(work, 'sim.kubeconfig');
    writeFileSync(kubeconfig, sim.kubeconfig(), { mode: 0o600 });
    const { child, match } = await startFleetgate(
      ['serve', '--port', '0', '--tls-port', 'off', '--workers', '2', '--data-dir', join(work, 'data'), '--kubeconfig', kubeconfig],
      { ...process.env, FLEETGATE_ADMIN_TOKEN: token },
      /listening on http:\/\/[^:]+:(\d+)/,
      120_000,
    );
    try {
      const url = `http://127.0.0.1:${match[1]}`;
      await waitFor200(url + '/readyz', 120_000);
      const t0 = performance.now();
      for (;;) {
        const list = (await (await fetch(url + '/api/v1/clusters', { headers: { authorization: `Bearer ${token}` } })).json()) as Array<{ state: string }>;
        if (list.length === n && list.every((c) => c.state === 'ok')) break;
        if (performance.now() - t0 > 300_000) throw new Error(`bench: fleetgate serve: ${n} clusters not all ok after 300 s`);
        await new Promise((r) => setTimeout(r, 500));
      }
      const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.proc.pid}/status`, 'utf8'))?.[1]);
      return Math.round(kb / 1024);
    } finally {
      await child.stop(10_000);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const out: Record<string, number | number[]> = {};
for (const n of sizes) {
  const sim = await startSimulator({ clusters: n, podsPerCluster: 5 });
  const configs = sim.clusters.map((c) => normaliseClientConfig(splitContexts(sim.singleKubeconfig(c.name))[0]!.kubeconfig!));
  const anchorBefore = await probeAnchor(configs);
  const h = await startSyncHarness({
    seed: (store) => {
      const tx = store.db.transaction(() => {
        for (const c of sim.clusters) store.clusters.create({ name: c.name, config: sim.singleKubeconfig(c.name) });
      });
      tx();
    },
    deferStart: true,
  });
  const stats = new SyncStats(h.sab, kSyncStatsOffset, kSyncStatsRegionBytes);
  const t0 = performance.now();
  await h.start();
  for (;;) {
    const s = stats.read();
    if (s.clustersByState.ok === n) break;
    if (performance.now() - t0 > 120_000) throw new Error(`bench: ${n} clusters not all ok after 120 s: ${JSON.stringify(s.clustersByState)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const fullMs = performance.now() - t0;
  const anchorAfter = await probeAnchor(configs);
  const label = n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
  const anchorMs = (anchorBefore + anchorAfter) / 2;
  out[`fullSync${label}Ms`] = Math.round(fullMs);
  out[`probeAnchor${label}Ms`] = Math.round(anchorMs);
  out[`probeAnchor${label}BeforeAfterMs`] = [Math.round(anchorBefore), Math.round(anchorAfter)];
  out[`fullSync${label}OverAnchor`] = Number((fullMs / anchorMs).toFixed(2));

  if (n === sizes[0]) {
    const samples: number[] = [];
    const row = h.store.clusters.getByName(sim.clusters[0]!.name)!;
    for (let i = 0; i < 21; i++) {
      const gen = h.reader.generation();
      const t1 = performance.now();
      h.store.clusters.update(row.id, { description: `rev ${i}` });
      await h.syncNow();
      if (h.reader.generation() <= gen || h.reader.lookup(row.name)?.description !== `rev ${i}`) throw new Error('bench: change not visible');
      samples.push(performance.now() - t1);
    }
    out.changeVisibleMs = Number(median(samples).toFixed(2));
  }
  out[`commitHoldP99Us${label}`] = holdQuantileUs(stats.read().holdBuckets, 0.99);
  out[`commits${label}`] = stats.read().commits;
  await h.stop();
  out[`rssMb${label}`] = await serverRssMb(sim, n);
  await sim.stop();
}
out.commitHoldP99Us = Math.max(...sizes.map((n) => out[`commitHoldP99Us${n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : n}`] as number));

if (json) console.log(JSON.stringify(out));
else {
  console.log('fleetgate sync benchmark (histogram upper bounds for hold times)');
  for (const [k, v] of Object.entries(out)) console.log(`  ${k.padEnd(28)} ${Array.isArray(v) ? v.join(', ') : v}`);
}
process.exit(0);
