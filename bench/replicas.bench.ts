/**
 * Replicas benchmark (not a test): `npm run bench:replicas [-- --json] [-- --changes 60] [-- --clusters 5]`.
 *
 *  crossReplicaVisibleMsP50/P99  from a rename's 2xx on replica A until GET /api/v1/clusters on
 *                                replica B lists the new name (three replicas, one throwaway
 *                                PostgreSQL, --changes renames, B polled every kPollMs)
 *  sqliteChangeVisibleMs         the same measure (p50) on one SQLite process: the write's 2xx until
 *                                a second connection to the same process lists the new name
 *  writeMsP50Postgres / writeMsP50Sqlite   the admin write's own round trip, for context
 *  probesPerClusterPerInterval   with three replicas: requests each simulated cluster received
 *                                per probe interval over kProbeIntervals intervals with no API
 *                                traffic (so every request is a version probe); one replica
 *                                probing gives 1.0, each replica probing would give 3.0
 *
 * Goals (issue 15): crossReplicaVisibleMsP99 <= 1000, probesPerClusterPerInterval <= 1.0.
 * Processes: three `fleetgate serve --database …` replicas and one SQLite server (dist/, built by
 * the npm script), each with one HTTP worker; the simulator runs in this process.
 */
import { startSimulator } from '../src/sim/index.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { startServer, type ServerHandle } from '../test/helpers/server.js';
import { kSharedAdmin, startReplica } from '../test/replicas/helpers.js';

const json = process.argv.includes('--json');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const kChanges = Math.max(50, arg('--changes', 60));
const kClusters = arg('--clusters', 5);
const kIntervalMs = 1000;
const kProbeIntervals = 8;
const kPollMs = 5;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}
const round = (x: number) => Math.round(x * 10) / 10;

async function listNames(r: ServerHandle): Promise<string[]> {
  const res = await r.get('/api/v1/clusters', { authorization: `Bearer ${kSharedAdmin}` });
  if (res.status !== 200) throw new Error(`GET /api/v1/clusters → ${res.status}`);
  return (res.json() as { name: string }[]).map((c) => c.name);
}

/** Renames one cluster `changes` times through `writer`; per change, ms until `reader` lists it. */
async function measure(writer: ServerHandle, reader: ServerHandle, id: number, tag: string, changes: number) {
  const visible: number[] = [];
  const writes: number[] = [];
  for (let i = 0; i < changes; i++) {
    const name = `bench-${tag}-${i}`;
    const t0 = performance.now();
    const res = await writer.send('PUT', `/api/v1/admin/clusters/${id}`, { name });
    if (res.status !== 200) throw new Error(`rename → ${res.status} ${res.body}`);
    const t1 = performance.now();
    writes.push(t1 - t0);
    for (;;) {
      if ((await listNames(reader)).includes(name)) break;
      if (performance.now() - t1 > 30_000) throw new Error(`${name} not visible after 30 s`);
      await new Promise((r) => setTimeout(r, kPollMs));
    }
    visible.push(performance.now() - t1);
  }
  return { visible, writes };
}

const sim = await startSimulator({ clusters: kClusters, podsPerCluster: 2 });
const db = await startPostgres();
const out: Record<string, number> = {};
const started: ServerHandle[] = [];
try {
  const url = db.createDatabase('fleetgate_bench');
  const syncArgs = ['--sync-interval', `${kIntervalMs}ms`];
  const a = await startReplica(url, syncArgs);
  started.push(a);
  for (const c of sim.clusters) {
    const r = await a.send('POST', '/api/v1/admin/clusters', { name: c.name, config: sim.singleKubeconfig(c.name) });
    if (r.status !== 201 && r.status !== 202) throw new Error(`adding ${c.name} → ${r.status} ${r.body}`);
  }
  const b = await startReplica(url, syncArgs);
  const c = await startReplica(url, syncArgs);
  started.push(b, c);

  // Probes: let every replica settle, then count requests per cluster over whole intervals.
  await new Promise((r) => setTimeout(r, 2 * kIntervalMs));
  const before = sim.stats().byCluster;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, kProbeIntervals * kIntervalMs));
  const after = sim.stats().byCluster;
  const intervals = (performance.now() - t0) / kIntervalMs;
  const perCluster = sim.clusters.map((cl) => ((after[cl.name] ?? 0) - (before[cl.name] ?? 0)) / intervals);
  out.probesPerClusterPerInterval = round(perCluster.reduce((x, y) => x + y, 0) / perCluster.length);

  const target = (await a.send('POST', '/api/v1/admin/clusters', { name: 'bench-pg', config: sim.singleKubeconfig(sim.clusters[0]!.name) })).json().id as number;
  const pgRun = await measure(a, b, target, 'pg', kChanges);
  out.crossReplicaVisibleMsP50 = round(quantile(pgRun.visible, 0.5));
  out.crossReplicaVisibleMsP99 = round(quantile(pgRun.visible, 0.99));
  out.writeMsP50Postgres = round(quantile(pgRun.writes, 0.5));
  out.changes = kChanges;

  const lite = await startServer(['--workers', '1', '--tls-port', 'off', ...syncArgs], { env: { FLEETGATE_ADMIN_TOKEN: kSharedAdmin } });
  started.push(lite);
  const liteId = (await lite.send('POST', '/api/v1/admin/clusters', { name: 'bench-lite', config: sim.singleKubeconfig(sim.clusters[0]!.name) })).json().id as number;
  const liteRun = await measure(lite, lite, liteId, 'lite', kChanges);
  out.sqliteChangeVisibleMs = round(quantile(liteRun.visible, 0.5));
  out.writeMsP50Sqlite = round(quantile(liteRun.writes, 0.5));
} finally {
  await Promise.all(started.map((s) => s.stop()));
  await sim.stop();
  db.stop();
}

if (json) console.log(JSON.stringify(out));
else {
  console.log(`cross-replica visibility over ${out.changes} renames: p50 ${out.crossReplicaVisibleMsP50} ms, p99 ${out.crossReplicaVisibleMsP99} ms (goal p99 <= 1000)`);
  console.log(`one SQLite process: ${out.sqliteChangeVisibleMs} ms (p50)`);
  console.log(`admin write p50: PostgreSQL ${out.writeMsP50Postgres} ms, SQLite ${out.writeMsP50Sqlite} ms`);
  console.log(`probes per cluster per interval with three replicas: ${out.probesPerClusterPerInterval} (goal <= 1.0)`);
}
