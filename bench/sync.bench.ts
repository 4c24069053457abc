/**
 * Sync benchmark (not a test): `npm run bench:sync [-- --json] [-- --sizes 1000,10000]`.
 *
 *  fullSync1kMs / fullSync10kMs  first sync of N simulated clusters, from the sync worker's start
 *                                until every cluster is committed ok with its probed version
 *  changeVisibleMs               median time from a committed row change plus a sync request to
 *                                the new generation being visible to a reader (1,000 clusters)
 *  commitHoldP99Us               write-lock hold p99 over all commits of those syncs, per size
 *
 * The simulator runs in this process with no added latency; the sync worker is a real thread.
 */
import { startSimulator } from '../src/sim/index.js';
import { kSyncStatsBytes, kSyncStatsOffset } from '../src/shm/layout.js';
import { SyncStats, holdQuantileUs } from '../src/sync/stats.js';
import { startSyncHarness } from '../test/helpers/sync-harness.js';

const json = process.argv.includes('--json');
const sizesArg = process.argv.indexOf('--sizes');
const sizes = sizesArg > 0 ? process.argv[sizesArg + 1]!.split(',').map(Number) : [1000, 10_000];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const out: Record<string, number> = {};
for (const n of sizes) {
  const sim = await startSimulator({ clusters: n, podsPerCluster: 5 });
  const h = await startSyncHarness({
    seed: (store) => {
      const tx = store.db.transaction(() => {
        for (const c of sim.clusters) store.clusters.create({ name: c.name, config: sim.singleKubeconfig(c.name) });
      });
      tx();
    },
    deferStart: true,
  });
  const stats = new SyncStats(h.sab, kSyncStatsOffset, kSyncStatsBytes);
  const t0 = performance.now();
  await h.start();
  for (;;) {
    const s = stats.read();
    if (s.clustersByState.ok === n) break;
    if (performance.now() - t0 > 120_000) throw new Error(`bench: ${n} clusters not all ok after 120 s: ${JSON.stringify(s.clustersByState)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const fullMs = performance.now() - t0;
  const label = n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
  out[`fullSync${label}Ms`] = Math.round(fullMs);

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
  await sim.stop();
}
out.commitHoldP99Us = Math.max(...sizes.map((n) => out[`commitHoldP99Us${n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : n}`]!));

if (json) console.log(JSON.stringify(out));
else {
  console.log('fleetgate sync benchmark (histogram upper bounds for hold times)');
  for (const [k, v] of Object.entries(out)) console.log(`  ${k.padEnd(22)} ${v}`);
}
process.exit(0);
