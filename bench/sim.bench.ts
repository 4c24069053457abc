/**
 * Simulator throughput: autocannon against one simulated cluster's small list.
 *
 *   npm run build && node dist/bench/sim.bench.js [--clusters 100] [--path /api/v1/namespaces]
 *        [--connections 10] [--duration 10] [--pipelining 1] [--json]
 *
 * The simulator runs as its own process (`fleetgate sim`, as in a load run) so the load generator
 * does not share its event loop. The default path is /api/v1/namespaces of sim-0001 (6 namespaces,
 * about 2 KB). --json prints one JSON object: { path, clusters, connections, durationS, rps,
 * latencyP50Ms, latencyP99Ms, bytesPerSec, non2xx, errors, scenarios: [...] }.
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/util/paths.js';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '100' },
    path: { type: 'string', multiple: true },
    connections: { type: 'string', default: '10' },
    duration: { type: 'string', default: '10' },
    pipelining: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: node dist/bench/sim.bench.js [--clusters N] [--path P]... [--connections C] [--duration S] [--pipelining P] [--json]');
  process.exit(0);
}
const log = (...a: unknown[]) => {
  if (!values.json) console.log(...a);
};

const dir = mkdtempSync(join(tmpdir(), 'fleetgate-sim-bench-'));
const info = join(dir, 'info.json');
const child = spawn(process.execPath, [join(packageRoot, 'bin', 'fleetgate.js'), 'sim', '--clusters', values.clusters!, '--out', join(dir, 'kubeconfig'), '--info', info, '--no-control'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let stopped = false;
const stop = () => {
  if (!stopped) {
    stopped = true;
    child.kill('SIGTERM');
  }
};
process.on('exit', stop);

try {
  const t0 = Date.now();
  while (!existsSync(info)) {
    if (child.exitCode !== null) throw new Error(`fleetgate sim exited with ${child.exitCode}`);
    if (Date.now() - t0 > 60_000) throw new Error('fleetgate sim did not start within 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const { clusters } = JSON.parse(readFileSync(info, 'utf8')) as { clusters: { name: string; server: string }[] };
  const kubeconfig = readFileSync(join(dir, 'kubeconfig'), 'utf8');
  const token = /token: "([^"]+)"/.exec(kubeconfig)![1]; // first user = first cluster
  const target = clusters[0];
  const paths = values.path?.length ? values.path : ['/api/v1/namespaces', '/version', '/api/v1/pods'];
  log(`fleetgate sim: ${clusters.length} clusters; target ${target.name} at ${target.server}`);

  const scenarios = [];
  for (const path of paths) {
    // Warm up: generate the cluster's objects and fill the list cache.
    await autocannon({ url: target.server + path, connections: 2, amount: 200, headers: { authorization: `Bearer ${token}` } });
    const r = await autocannon({
      url: target.server + path,
      connections: Number(values.connections),
      pipelining: Number(values.pipelining),
      duration: Number(values.duration),
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    const s = {
      path,
      rps: Math.round(r.requests.average),
      latencyP50Ms: r.latency.p50,
      latencyP99Ms: r.latency.p99,
      bytesPerReq: Math.round(r.throughput.average / Math.max(1, r.requests.average)),
      bytesPerSec: Math.round(r.throughput.average),
      requests: r.requests.total,
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
    };
    scenarios.push(s);
    log(`${path.padEnd(24)} ${String(s.rps).padStart(7)} req/s   p50 ${s.latencyP50Ms} ms   p99 ${s.latencyP99Ms} ms   ${s.bytesPerReq} B/req   non2xx ${s.non2xx}   errors ${s.errors}`);
  }
  const main = scenarios[0];
  const out = {
    path: main.path,
    clusters: clusters.length,
    connections: Number(values.connections),
    pipelining: Number(values.pipelining),
    durationS: Number(values.duration),
    rps: main.rps,
    latencyP50Ms: main.latencyP50Ms,
    latencyP99Ms: main.latencyP99Ms,
    bytesPerSec: main.bytesPerSec,
    non2xx: main.non2xx,
    errors: main.errors,
    node: process.version,
    scenarios,
  };
  if (values.json) console.log(JSON.stringify(out));
  else log(`\nsmall list (${main.path}): ${main.rps} req/s with ${out.connections} connections (Node ${process.version})`);
} finally {
  stop();
  await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  rmSync(dir, { recursive: true, force: true });
}
