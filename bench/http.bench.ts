/**
 * HTTP benchmark (not a test): `npm run bench:http [-- --json] [-- --duration S]`.
 *
 *  rps1, rps2          GET /api/v1/clusters (50 clusters) against fleetgate with 1 and 2 HTTP workers
 *  rpsCluster2         the same JSON from a node:cluster two-process Express server (bench/cluster-anchor.ts)
 *  passthroughRatio    rps of GET /k8s/NAME/api/v1/namespaces over rps of the same request straight
 *                      to the simulator; passthroughP50Ms and directP50Ms are their medians
 *
 * autocannon runs in its own process pinned to CPU 1 with taskset (when available), the servers
 * are not pinned; the simulator is a separate process. Figures are side by side in one run.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFleetgate, waitFor200, type Child } from '../load/processes.js';
import { normaliseClientConfig, splitContexts } from '../src/k8s/index.js';
import { distPath } from '../src/util/paths.js';

const run = promisify(execFile);
const json = process.argv.includes('--json');
const durIdx = process.argv.indexOf('--duration');
const duration = durIdx > 0 ? Number(process.argv[durIdx + 1]) : 8;
const connections = 20;
const token = 'fg_bench_http_token';
const work = mkdtempSync(join(tmpdir(), 'fleetgate-bench-http-'));
const children: Child[] = [];
let taskset: string[] = [];
try {
  await run('taskset', ['-c', '1', 'true']);
  taskset = ['taskset', '-c', '1'];
} catch {
  /* not available: unpinned */
}

interface Cannon {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  non2xx: number;
  errors: number;
}

async function cannon(url: string, headers: Record<string, string>, env: NodeJS.ProcessEnv = process.env): Promise<Cannon> {
  const args = [distPath('bench', 'autocannon-child.js'), JSON.stringify({ url, headers, connections, duration })];
  const [cmd, ...rest] = taskset.length ? [...taskset, process.execPath, ...args] : [process.execPath, ...args];
  const { stdout } = await run(cmd!, rest, { env, maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as Cannon;
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`bench: ${url} gave ${r.non2xx} non-2xx and ${r.errors} errors`);
  return r;
}

async function fleetgate(workers: number, kubeconfig: string): Promise<{ child: Child; url: string }> {
  const dataDir = mkdtempSync(join(work, 'data-'));
  const { child, match } = await startFleetgate(
    ['serve', '--port', '0', '--tls-port', 'off', '--workers', String(workers), '--data-dir', dataDir, '--kubeconfig', kubeconfig],
    { ...process.env, FLEETGATE_ADMIN_TOKEN: token },
    /listening on http:\/\/[^:]+:(\d+)/,
  );
  children.push(child);
  const url = `http://127.0.0.1:${match[1]}`;
  await waitFor200(url + '/readyz');
  // Wait until every cluster has been probed, so the list is the steady-state one.
  for (let i = 0; i < 200; i++) {
    const list = (await (await fetch(url + '/api/v1/clusters', { headers: { authorization: `Bearer ${token}` } })).json()) as Array<{ state: string }>;
    if (list.length === 50 && list.every((c) => c.state === 'ok')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url };
}

try {
  const kubeconfig = join(work, 'sim.kubeconfig');
  const sim = await startFleetgate(['sim', '--clusters', '50', '--out', kubeconfig, '--no-control'], process.env, /kubeconfig written/);
  children.push(sim.child);
  // The first context's server and token, the way fleetgate itself reads them.
  const firstContext = splitContexts(readFileSync(kubeconfig, 'utf8'))[0]!;
  const direct0 = normaliseClientConfig(firstContext.kubeconfig!);
  const target = { name: firstContext.name, server: direct0.server, token: direct0.token };
  const auth = { authorization: `Bearer ${token}` };

  const one = await fleetgate(1, kubeconfig);
  const body = await (await fetch(one.url + '/api/v1/clusters', { headers: auth })).text();
  const rps1 = await cannon(one.url + '/api/v1/clusters', auth);
  await one.child.stop();

  const two = await fleetgate(2, kubeconfig);
  const rps2 = await cannon(two.url + '/api/v1/clusters', auth);
  const passthrough = await cannon(`${two.url}/k8s/${target.name}/api/v1/namespaces`, auth);
  const direct = await cannon(`${target.server}/api/v1/namespaces`, { authorization: `Bearer ${target.token}` }, {
    ...process.env,
    NODE_TLS_REJECT_UNAUTHORIZED: '0', // the simulator's run CA; loopback only, benchmark only
  });
  await two.child.stop();

  const bodyFile = join(work, 'clusters.json');
  writeFileSync(bodyFile, body);
  const anchorPort = 20_000 + Math.floor(Math.random() * 10_000);
  const anchor = spawn(process.execPath, [distPath('bench', 'cluster-anchor.js'), String(anchorPort), bodyFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => anchor.stdout!.on('data', (d: Buffer) => d.toString().includes('anchor listening') && resolve()));
  const rpsCluster2 = await cannon(`http://127.0.0.1:${anchorPort}/api/v1/clusters`, auth);
  anchor.kill('SIGTERM');

  const out = {
    rps1: Math.round(rps1.rps),
    rps2: Math.round(rps2.rps),
    scaling2: Number((rps2.rps / rps1.rps).toFixed(2)),
    rpsCluster2: Math.round(rpsCluster2.rps),
    rps2OverCluster2: Number((rps2.rps / rpsCluster2.rps).toFixed(2)),
    passthroughRps: Math.round(passthrough.rps),
    directRps: Math.round(direct.rps),
    passthroughRatio: Number((passthrough.rps / direct.rps).toFixed(2)),
    passthroughP50Ms: passthrough.p50Ms,
    directP50Ms: direct.p50Ms,
    p99Ms2: rps2.p99Ms,
    pinned: taskset.length > 0,
    durationS: duration,
    connections,
  };
  if (json) console.log(JSON.stringify(out));
  else {
    console.log('fleetgate HTTP benchmark (autocannon pinned to CPU 1: ' + out.pinned + ')');
    for (const [k, v] of Object.entries(out)) console.log(`  ${k.padEnd(20)} ${v}`);
  }
} finally {
  await Promise.all(children.map((c) => c.stop(5000)));
  rmSync(work, { recursive: true, force: true });
}
