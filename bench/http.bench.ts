/**
 * HTTP benchmark (not a test): `npm run bench:http [-- --json] [-- --duration S]`.
 *
 *  rps1, rps2          GET /api/v1/clusters (50 clusters) against fleetgate with 1 and 2 HTTP workers
 *  rpsCluster2         the same JSON from a node:cluster two-process Express server (bench/cluster-anchor.ts)
 *  passthroughRatio    rps of GET /k8s/NAME/api/v1/namespaces over rps of the same request straight
 *                      to the simulator; passthroughP50Ms and directP50Ms are their medians
 *  anchorHttpProxyRatio, anchorTunnelRatio
 *                      the same ratio for two two-process anchors in bench/proxy-anchor.ts: the
 *                      least a node:http reverse proxy does, and a TLS byte tunnel that parses no
 *                      HTTP at all (the ceiling for any Node proxy that reads requests, on this
 *                      machine); passthroughOverAnchorHttpProxy compares fleetgate with the former
 *  kubectlProxyRps, passthroughOverKubectlProxy
 *                      the same request through `kubectl proxy` (client-go's reverse proxy, the Go
 *                      peer) to the same simulated cluster, when kubectl is on PATH (else null).
 *                      Like for like: plain HTTP/1.1 keep-alive from the same autocannon settings
 *                      on both legs, TLS to the same simulator port with the kubeconfig's CA, one
 *                      upstream connection per in-flight request on both (client-go keeps up to
 *                      25 idle per host; the simulator speaks only HTTP/1.1, so no HTTP/2 on
 *                      either), both cores for each (GOMAXPROCS 2, two HTTP workers). kubectl
 *                      proxy sends through rest.TransportFor's round tripper, which has no QPS
 *                      limiter (client-go's QPS/burst throttle the REST client, not the transport)
 *                      What is not alike, on a busy machine: kubectl proxy then closes and
 *                      reopens its connections to the simulator (seen with ss: hundreds of its
 *                      sockets closing per leg, where fleetgate keeps its twenty; Go's transport
 *                      dials whenever no connection is idle at the moment a request arrives, and
 *                      client-go keeps at most 25 idle per host), and the simulator, on the same
 *                      two cores, pays for every TLS handshake.
 *                      kubectlProxySimCpuOverPassthrough (the simulator's CPU per request on the
 *                      kubectl leg over the passthrough leg) shows it: near 1, like for like; well
 *                      above 1, the kubectl leg is slowed by handshakes a remote API server would
 *                      pay on its own cores, and passthroughOverKubectlProxy flatters fleetgate
 *  anchorHttpProxyOverKubectlProxy, anchorTunnelOverKubectlProxy
 *                      the anchors over kubectl proxy: the tunnel's is the most any Node proxy in
 *                      front of this simulator could show against kubectl proxy on this machine
 *  passthroughTlsRps, passthroughTlsRatio
 *                      the passthrough over fleetgate's HTTPS port, over direct: autocannon does
 *                      TLS on both sides of this ratio. Every other proxied leg is plain HTTP from
 *                      autocannon and only `direct` is HTTPS (the simulator serves nothing else),
 *                      which flatters direct; `callerScheme` in the output says which leg is which
 *  scopedOverAdminRps  GET /api/v1/clusters over 1,000 clusters (2 workers) for a viewer token of 20
 *                      pattern and group rules over the same for the admin token (bench/scoped-fleet.ts);
 *                      scopedAllOverAdminRps the same for 20 rules that list all 1,000 clusters (the
 *                      same JSON as the admin's; only the checks differ); scopedVisible the list sizes
 *  httpWorkerMaxShare  per round, for each leg served by two fleetgate HTTP workers, the busiest
 *                      worker's share of the two workers' CPU (0.5 = even). The workers listen
 *                      with SO_REUSEPORT, so the kernel hashes each of autocannon's 20
 *                      connections to one of them and the split is rarely even (0.51-0.62
 *                      seen here), where node:cluster's primary (rpsCluster2, the proxy anchors)
 *                      deals connections round-robin. perRound holds the rps of the same rounds:
 *                      the two side by side say whether a lopsided split went with a slow round
 *  --only a,b          measure only these targets (e.g. --only admin1000,scoped1000,scopedAll1000)
 *
 * autocannon runs in its own process pinned to CPU 1 with taskset (when available), the servers
 * are not pinned; the simulator is a separate process. Figures are side by side in one run.
 *
 * On a small shared machine one measurement says little: every server is started first, then
 * `--rounds` rounds (default 3) measure each target once, in an order rotated every round, and
 * the figures are medians over rounds (ratios: the median of the per-round ratios, whose two
 * sides ran seconds apart); before the rounds, every leg gets an unrecorded warm-up of up to 2 s
 * (JIT, pooled connections). `cpuUsPerReq` is the CPU time (user + system, all threads, from
 * /proc) each process spent per completed request, read by the autocannon child right before and
 * right after the load (bench/autocannon-child.ts), with autocannon's own as `autocannon`: where
 * a ratio goal is out of reach on two cores, it says whose work fills them. `loadavg` is the
 * 1-minute load at start and end. The fleetgate instances run with --sync-interval 1h: each
 * probes its clusters once at start, before any measurement.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFleetgate, waitFor200, type Child } from '../load/processes.js';
import { normaliseClientConfig, splitContexts } from '../src/k8s/index.js';
import { distPath } from '../src/util/paths.js';
import { scopedClusterNames, scopedKubeconfig, setUpScopes } from './scoped-fleet.js';

const run = promisify(execFile);
const json = process.argv.includes('--json');
const durIdx = process.argv.indexOf('--duration');
let duration = durIdx > 0 ? Number(process.argv[durIdx + 1]) : 5;
const roundsIdx = process.argv.indexOf('--rounds');
const rounds = roundsIdx > 0 ? Math.max(1, Number(process.argv[roundsIdx + 1])) : 3;
const connections = 20;
/** Seconds of unrecorded load on each leg before the rounds: JIT and connection pools warm. */
const warmupS = Math.min(2, duration);
const token = 'fg_bench_http_token_0123456789abcdef';
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
  /**
   * CPU µs per completed request of each watched process during the load (read by the autocannon
   * child around the load itself), and of autocannon itself (`autocannon`).
   */
  cpuUs: Record<string, number>;
  /** The busiest HTTP worker's share of the HTTP workers' CPU, by watched process (2+ workers). */
  httpWorkerMaxShare: Record<string, number>;
}

async function cannon(
  url: string,
  headers: Record<string, string>,
  watch: Record<string, number | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Cannon> {
  const args = [distPath('bench', 'autocannon-child.js'), JSON.stringify({ url, headers, connections, duration, watch })];
  const [cmd, ...rest] = taskset.length ? [...taskset, process.execPath, ...args] : [process.execPath, ...args];
  const { stdout } = await run(cmd!, rest, { env, maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as Cannon;
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`bench: ${url} gave ${r.non2xx} non-2xx and ${r.errors} errors`);
  return r;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const anchors: ChildProcess[] = [];
const anchorPids = new Map<number, number | undefined>();
const anchorPid = (port: number) => anchorPids.get(port);

/** Starts bench/NAME (a two-process node:cluster server) on a free-ish port; resolves with the port. */
async function startAnchor(script: string, args: (port: number) => string[]): Promise<number> {
  const port = 20_000 + Math.floor(Math.random() * 10_000);
  const anchor = spawn(process.execPath, [distPath('bench', script), ...args(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  anchors.push(anchor);
  anchorPids.set(port, anchor.pid);
  await new Promise<void>((resolve, reject) => {
    anchor.stdout!.on('data', (d: Buffer) => d.toString().includes('anchor listening') && resolve());
    anchor.once('exit', (code) => reject(new Error(`bench: ${script} exited with ${code} before listening`)));
  });
  return port;
}

async function fleetgate(workers: number, kubeconfig: string, tls = false, clusters = 50): Promise<{ child: Child; url: string; tlsUrl: string }> {
  const dataDir = mkdtempSync(join(work, 'data-'));
  const { child, match } = await startFleetgate(
    // Every instance probes its clusters once, at start (the figures are taken after that): the
    // periodic re-probe (1,000 TLS handshakes a minute for the 1,000-cluster instance) would land
    // on whichever leg happened to be running, and no other leg's server does background work.
    ['serve', '--port', '0', '--tls-port', tls ? '0' : 'off', '--workers', String(workers), '--data-dir', dataDir, '--kubeconfig', kubeconfig, '--sync-interval', '1h'],
    { ...process.env, FLEETGATE_ADMIN_TOKEN: token },
    /listening on http:\/\/[^:]+:(\d+)(?: and https:\/\/[^:]+:(\d+))?/,
  );
  children.push(child);
  const url = `http://127.0.0.1:${match[1]}`;
  const tlsUrl = match[2] ? `https://127.0.0.1:${match[2]}` : '';
  await waitFor200(url + '/readyz');
  // Wait until every cluster has been probed, so the list is the steady-state one.
  for (let i = 0; i < 200 + clusters; i++) {
    const list = (await (await fetch(url + '/api/v1/clusters', { headers: { authorization: `Bearer ${token}` } })).json()) as Array<{ state: string }>;
    if (list.length === clusters && list.every((c) => c.state === 'ok')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, tlsUrl };
}

/** Is kubectl on PATH? */
async function haveKubectl(): Promise<boolean> {
  try {
    await run('kubectl', ['version', '--client'], { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * `kubectl proxy` to one context of `kubeconfig` on a port of its choosing; resolves with the
 * port once it says "Starting to serve on HOST:PORT".
 */
async function startKubectlProxy(kubeconfig: string, context: string): Promise<{ port: number; pid: number | undefined }> {
  const proc = spawn('kubectl', ['proxy', '--kubeconfig', kubeconfig, '--context', context, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  anchors.push(proc);
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Starting to serve on [^\s]*:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`bench: kubectl proxy exited with ${code} before serving: ${out.slice(-2000)}`)));
  });
  return { port, pid: proc.pid };
}

try {
  const load0 = loadavg()[0]!;
  const kubeconfig = join(work, 'sim.kubeconfig');
  const sim = await startFleetgate(['sim', '--clusters', '50', '--out', kubeconfig, '--no-control'], process.env, /kubeconfig written/);
  children.push(sim.child);
  // The first context's server and token, the way fleetgate itself reads them.
  const firstContext = splitContexts(readFileSync(kubeconfig, 'utf8'))[0]!;
  const direct0 = normaliseClientConfig(firstContext.kubeconfig!);
  const target = { name: firstContext.name, server: direct0.server, token: direct0.token };
  const auth = { authorization: `Bearer ${token}` };

  const one = await fleetgate(1, kubeconfig);
  const two = await fleetgate(2, kubeconfig, true);
  const body = await (await fetch(one.url + '/api/v1/clusters', { headers: auth })).text();
  const bodyFile = join(work, 'clusters.json');
  writeFileSync(bodyFile, body);
  const anchorPort = await startAnchor('cluster-anchor.js', (port) => [String(port), bodyFile]);
  // Each proxy anchor is handed the first cluster's token: the tunnel forwards the caller's request
  // untouched, so its callers send that token themselves.
  const httpProxyPort = await startAnchor('proxy-anchor.js', (port) => ['http', String(port), target.server, target.token]);
  const tunnelPort = await startAnchor('proxy-anchor.js', (port) => ['tunnel', String(port), target.server, target.token]);

  const kubectlProxy = (await haveKubectl()) ? await startKubectlProxy(kubeconfig, target.name) : undefined;
  // Both sides of passthroughTlsRatio speak TLS to autocannon; the simulator's and fleetgate's
  // run CAs are not handed to autocannon (loopback only, benchmark only).
  const insecureEnv = { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0' };
  // 1,000 clusters (one simulated cluster under 1,000 names) for the scope measurement.
  const names1000 = scopedClusterNames(1000);
  const kubeconfig1000 = join(work, 'scoped.kubeconfig');
  writeFileSync(kubeconfig1000, scopedKubeconfig(names1000, direct0.server, direct0.caData, direct0.token));
  const big = await fleetgate(2, kubeconfig1000, false, names1000.length);
  const scopes = await setUpScopes(big.url, token, names1000);

  const simPid = sim.child.proc.pid;
  const targets: Record<string, () => Promise<Cannon>> = {
    rps1: () => cannon(one.url + '/api/v1/clusters', auth, { fleetgate: one.child.proc.pid }),
    rps2: () => cannon(two.url + '/api/v1/clusters', auth, { fleetgate: two.child.proc.pid }),
    rpsCluster2: () => cannon(`http://127.0.0.1:${anchorPort}/api/v1/clusters`, auth, { anchor: anchorPid(anchorPort) }),
    passthrough: () => cannon(`${two.url}/k8s/${target.name}/api/v1/namespaces`, auth, { fleetgate: two.child.proc.pid, sim: simPid }),
    anchorHttpProxy: () => cannon(`http://127.0.0.1:${httpProxyPort}/api/v1/namespaces`, auth, { proxy: anchorPid(httpProxyPort), sim: simPid }),
    anchorTunnel: () =>
      cannon(`http://127.0.0.1:${tunnelPort}/api/v1/namespaces`, { authorization: `Bearer ${target.token}` }, { proxy: anchorPid(tunnelPort), sim: simPid }),
    passthroughTls: () => cannon(`${two.tlsUrl}/k8s/${target.name}/api/v1/namespaces`, auth, { fleetgate: two.child.proc.pid, sim: simPid }, insecureEnv),
    direct: () => cannon(`${target.server}/api/v1/namespaces`, { authorization: `Bearer ${target.token}` }, { sim: simPid }, insecureEnv),
    admin1000: () => cannon(big.url + '/api/v1/clusters', auth, { fleetgate: big.child.proc.pid }),
    scoped1000: () => cannon(big.url + '/api/v1/clusters', { authorization: `Bearer ${scopes.scoped}` }, { fleetgate: big.child.proc.pid }),
    scopedAll1000: () => cannon(big.url + '/api/v1/clusters', { authorization: `Bearer ${scopes.scopedAll}` }, { fleetgate: big.child.proc.pid }),
  };
  // kubectl proxy adds the kubeconfig's credentials itself (and would forward a caller's own).
  if (kubectlProxy) targets.kubectlProxy = () => cannon(`http://127.0.0.1:${kubectlProxy.port}/api/v1/namespaces`, {}, { kubectl: kubectlProxy.pid, sim: simPid });
  // --only a,b: measure only these legs (for quick comparisons while developing); figures that
  // need a leg left out are printed as null.
  const onlyIdx = process.argv.indexOf('--only');
  const only = onlyIdx > 0 ? new Set(process.argv[onlyIdx + 1]!.split(',')) : undefined;
  const names = Object.keys(targets).filter((n) => !only || only.has(n));
  const results: Record<string, Cannon[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) {
    const measure = duration;
    duration = warmupS;
    try {
      await targets[n]!();
    } finally {
      duration = measure;
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const n = names[(i + r) % names.length]!;
      results[n]!.push(await targets[n]!());
    }
  }
  const has = (n: string) => (results[n]?.length ?? 0) > 0;
  const med = (n: string, f: (c: Cannon) => number) => (has(n) ? median(results[n]!.map(f)) : NaN);
  const rps = (n: string) => med(n, (c) => c.rps);
  const ratio = (a: string, b: string) => (has(a) && has(b) ? Number(median(results[a]!.map((c, i) => c.rps / results[b]![i]!.rps)).toFixed(2)) : null);
  // The simulator's CPU per request on leg a over leg b: the same request costs it the same,
  // unless a proxy opens new TLS connections to it (their handshakes are the simulator's work).
  const simCpuRatio = (a: string, b: string) => {
    const x = med(a, (c) => c.cpuUs.sim!);
    const y = med(b, (c) => c.cpuUs.sim!);
    return Number.isFinite(x / y) ? Number((x / y).toFixed(2)) : null;
  };
  const cpu = (n: string) => (has(n) ? Object.fromEntries(Object.keys(results[n]![0]!.cpuUs).map((k) => [k, med(n, (c) => c.cpuUs[k]!)])) : null);

  const out = {
    rps1: Math.round(rps('rps1')),
    rps2: Math.round(rps('rps2')),
    scaling2: ratio('rps2', 'rps1'),
    rpsCluster2: Math.round(rps('rpsCluster2')),
    rps2OverCluster2: ratio('rps2', 'rpsCluster2'),
    passthroughRps: Math.round(rps('passthrough')),
    directRps: Math.round(rps('direct')),
    passthroughRatio: ratio('passthrough', 'direct'),
    anchorHttpProxyRatio: ratio('anchorHttpProxy', 'direct'),
    anchorTunnelRatio: ratio('anchorTunnel', 'direct'),
    passthroughOverAnchorHttpProxy: ratio('passthrough', 'anchorHttpProxy'),
    kubectlProxyRps: kubectlProxy ? Math.round(rps('kubectlProxy')) : null,
    passthroughOverKubectlProxy: kubectlProxy ? ratio('passthrough', 'kubectlProxy') : null,
    anchorHttpProxyOverKubectlProxy: kubectlProxy ? ratio('anchorHttpProxy', 'kubectlProxy') : null,
    anchorTunnelOverKubectlProxy: kubectlProxy ? ratio('anchorTunnel', 'kubectlProxy') : null,
    kubectlProxySimCpuOverPassthrough: kubectlProxy ? simCpuRatio('kubectlProxy', 'passthrough') : null,
    passthroughTlsRps: Math.round(rps('passthroughTls')),
    passthroughTlsRatio: ratio('passthroughTls', 'direct'),
    passthroughP50Ms: med('passthrough', (c) => c.p50Ms),
    directP50Ms: med('direct', (c) => c.p50Ms),
    p99Ms2: med('rps2', (c) => c.p99Ms),
    adminRps1000: Math.round(rps('admin1000')),
    scopedRps1000: Math.round(rps('scoped1000')),
    scopedOverAdminRps: ratio('scoped1000', 'admin1000'),
    scopedAllOverAdminRps: ratio('scopedAll1000', 'admin1000'),
    scopedVisible: scopes.visible,
    cpuUsPerReq: {
      rps1: cpu('rps1'),
      rps2: cpu('rps2'),
      rpsCluster2: cpu('rpsCluster2'),
      passthrough: cpu('passthrough'),
      anchorHttpProxy: cpu('anchorHttpProxy'),
      anchorTunnel: cpu('anchorTunnel'),
      passthroughTls: cpu('passthroughTls'),
      ...(kubectlProxy && { kubectlProxy: cpu('kubectlProxy') }),
      direct: cpu('direct'),
      admin1000: cpu('admin1000'),
      scoped1000: cpu('scoped1000'),
      scopedAll1000: cpu('scopedAll1000'),
    },
    callerScheme: Object.fromEntries(names.map((n) => [n, n === 'direct' || n === 'passthroughTls' ? 'https' : 'http'])),
    perRound: Object.fromEntries(names.map((n) => [n, results[n]!.map((c) => Math.round(c.rps))])),
    httpWorkerMaxShare: Object.fromEntries(
      names.filter((n) => results[n]![0]?.httpWorkerMaxShare.fleetgate !== undefined).map((n) => [n, results[n]!.map((c) => c.httpWorkerMaxShare.fleetgate ?? null)]),
    ),
    loadavg: [Number(load0.toFixed(2)), Number(loadavg()[0]!.toFixed(2))],
    pinned: taskset.length > 0,
    durationS: duration,
    rounds,
    connections,
  };
  if (json) console.log(JSON.stringify(out));
  else {
    console.log('fleetgate HTTP benchmark (autocannon pinned to CPU 1: ' + out.pinned + ')');
    console.log('  autocannon speaks plain HTTP to every leg but direct and passthroughTls (HTTPS): see callerScheme');
    for (const [k, v] of Object.entries(out)) console.log(`  ${k.padEnd(20)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  }
} finally {
  for (const a of anchors) a.kill('SIGTERM');
  await Promise.all(children.map((c) => c.stop(5000)));
  rmSync(work, { recursive: true, force: true });
}
