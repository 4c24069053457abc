/**
 * End-to-end: the HTTP app with the real store (SQLite, encrypted kubeconfigs) and the simulator,
 * kubectl 1.32 through the /k8s passthrough over HTTPS, read-your-writes through a sync that
 * normalises and probes like the sync worker, faults, and a scan of every response, kubectl
 * output and log line for cluster secrets.
 *
 * The index is an in-memory directory (the shared-memory index and the threads are tested by
 * the index and server suites); the "sync" here builds entries with src/k8s exactly as the sync
 * worker does.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type FleetgateApp } from '../../src/http/app.js';
import type { IndexEntryInput } from '../../src/index/types.js';
import { buildClientConfig, probeVersion } from '../../src/k8s/index.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { listenHttpAndHttps, tlsFixtures } from './fake-k8s.js';
import { FakeDirectory } from './fakes.js';
import { kubectlOrSkip } from '../helpers/kubectl.js';
import { eventually } from '../helpers/server.js';

const kubectlBin = kubectlOrSkip('test/http/sim.e2e.test.ts') ?? 'kubectl';
const itKubectl = it.skipIf(kubectlBin === 'kubectl');
const kProxyPassword = 'pr0xy-s3cret-' + Math.random().toString(36).slice(2);

let sim: Simulator;
let certSim: Simulator;
let store: Store;
let directory: FakeDirectory;
let handle: FleetgateApp;
let listening: Awaited<ReturnType<typeof listenHttpAndHttps>> | undefined;
let base: string;
let tlsBase: string;
let adminToken: string;
let dataDir: string;
let caFile: string;
const bodies: string[] = [];
const logs: string[] = [];
let barrierCalls = 0;

/** What the sync worker does for each row: normalise, hash, probe; per-entry generation on change. */
const gens = new Map<number, { hash: string; gen: number }>();
async function syncOnce(): Promise<void> {
  const rows = store.clusters.list();
  const entries = await Promise.all(
    rows.map(async (r): Promise<IndexEntryInput> => {
      const base = { id: r.id, name: r.name, description: r.description, enabled: r.enabled, isDefault: r.isDefault, inCluster: r.inCluster, prometheusUrl: r.prometheusUrl };
      const empty = { server: '', caData: '', certData: '', keyData: '', token: '', tlsServerName: '', insecure: false, proxyUrl: '' };
      let built;
      try {
        built = buildClientConfig(r);
      } catch (err) {
        return { ...base, state: 'error', version: '', error: (err as Error).message, errorAt: Date.now(), probedAt: 0, configHash: '', generation: 0, client: empty };
      }
      const prev = gens.get(r.id);
      const gen = prev && prev.hash === built.configHash ? prev.gen : (prev?.gen ?? 0) + 1;
      gens.set(r.id, { hash: built.configHash, gen });
      if (!r.enabled) return { ...base, state: 'disabled', version: '', error: '', errorAt: 0, probedAt: 0, configHash: built.configHash, generation: gen, client: built.client };
      const p = await probeVersion(built.client, { timeoutMs: 1500 });
      return {
        ...base,
        state: p.ok ? 'ok' : 'error',
        version: p.ok ? p.gitVersion : '',
        error: p.ok ? '' : p.error,
        errorAt: p.ok ? 0 : Date.now(),
        probedAt: Date.now(),
        configHash: built.configHash,
        generation: gen,
        client: built.client,
      };
    }),
  );
  directory.commit(entries);
}

async function call(method: string, path: string, opts: { token?: string; json?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? adminToken}`, ...opts.headers };
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: opts.json === undefined ? undefined : JSON.stringify(opts.json) });
  const text = await res.text();
  bodies.push(text);
  return { status: res.status, text, json: () => JSON.parse(text) };
}

function kubectl(args: string[], token = adminToken, input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(kubectlBin, ['--certificate-authority', caFile, '--token', token, '--request-timeout=20s', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      bodies.push(stdout, stderr);
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

/** A raw upgrade request: the status and body when refused, or 101 (the socket is then closed). */
function upgradeRequest(path: string, headers: Record<string, string>, origin = base, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(origin + path, { method: body === undefined ? 'GET' : 'POST', headers: { connection: 'Upgrade', ...headers } });
    r.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    r.on('response', async (res) => {
      let body = '';
      for await (const c of res) body += String(c);
      bodies.push(body);
      resolve({ status: res.statusCode ?? 0, body });
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** A kubectl that keeps running (a watch, a log follow): wait for output, then stop it. */
function longKubectl(args: string[]) {
  const child = spawn(kubectlBin, ['--certificate-authority', caFile, '--token', adminToken, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    /** Resolves when kubectl has printed `text` (checked on each chunk it writes); `ms` only caps a hang. */
    waitFor(text: string, ms: number): Promise<void> {
      return new Promise((resolve, reject) => {
        if (out.includes(text)) return resolve();
        const finish = (e?: Error) => {
          clearTimeout(cap);
          child.stdout.off('data', onData);
          child.off('exit', onExit);
          if (e) reject(e);
          else resolve();
        };
        const onData = () => {
          if (out.includes(text)) finish();
        };
        const onExit = () => finish(new Error(`kubectl exited before printing ${JSON.stringify(text)}: ${err}`));
        const cap = setTimeout(() => finish(new Error(`kubectl printed no ${JSON.stringify(text)} within ${ms} ms: ${err}`)), ms);
        child.stdout.on('data', onData);
        child.once('exit', onExit);
      });
    },
    running: () => child.exitCode === null && child.signalCode === null,
    async stop(): Promise<void> {
      child.kill();
      await exited;
      bodies.push(out, err);
    },
  };
}

/** The namespace and name of a Running pod, through kubectl on /k8s/NAME. */
async function runningPod(server: string): Promise<[string, string]> {
  const r = await kubectl(['--server', server, 'get', 'pods', '-A', '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[0].metadata.namespace}/{.items[0].metadata.name}']);
  expect(r.code, r.stderr).toBe(0);
  const [ns, pod] = r.stdout.split('/');
  expect(pod).toBeTruthy();
  return [ns!, pod!];
}

const annotationOf = (o: { metadata: { annotations?: Record<string, string> } }) => o.metadata.annotations?.['fleetgate.dev/cluster'];

beforeAll(async () => {
  [sim, certSim] = await Promise.all([
    startSimulator({ clusters: 3, podsPerCluster: 12 }),
    // v1.31: the kubectl dispatcher then runs a kubectl that speaks WebSocket for exec.
    startSimulator({ clusters: 1, auth: 'cert', namePrefix: 'mtls', versions: { 'mtls-0001': 'v1.31.2' } }),
  ]);
  dataDir = mkdtempSync(join(tmpdir(), 'fleetgate-http-e2e-'));
  caFile = join(dataDir, 'fleetgate-ca.crt');
  writeFileSync(caFile, tlsFixtures.ca);
  store = openStore({ dataDir });
  store.clusters.importKubeconfig(sim.kubeconfig());
  store.clusters.importKubeconfig(certSim.kubeconfig());
  adminToken = store.tokens.create({ name: 'admin', role: 'admin' }).token;
  directory = new FakeDirectory();
  await syncOnce();
  let tlsPort = 0;
  handle = createApp({
    directory,
    store,
    syncBarrier: async () => {
      barrierCalls++;
      await syncOnce();
      return true;
    },
    options: { upstreamTimeoutMs: 2000, log: (l) => logs.push(l), publicTls: { port: () => tlsPort, caPem: tlsFixtures.ca } },
  });
  listening = await listenHttpAndHttps(handle.app, handle);
  tlsPort = listening.tlsPort;
  base = `http://127.0.0.1:${listening.port}`;
  tlsBase = `https://127.0.0.1:${tlsPort}`;
});

afterAll(async () => {
  await listening?.close();
  await handle?.close();
  store?.close();
  await Promise.all([sim?.stop(), certSim?.stop()]);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('with the simulator and the real store', () => {
  it('lists the imported clusters with their probed versions', async () => {
    const list = (await call('GET', '/api/v1/clusters')).json();
    const expected = [...sim.clusters, ...certSim.clusters].map((c) => ({ name: c.name, version: c.version })).sort((a, b) => a.name.localeCompare(b.name));
    expect(list.map((c: any) => ({ name: c.name, version: c.version }))).toEqual(expected);
    expect(list.filter((c: any) => c.isDefault)).toHaveLength(1);
    const admin = (await call('GET', '/api/v1/admin/clusters')).json();
    for (const c of admin) expect(c).not.toHaveProperty('config');
  });

  it('serves resource routes from the selected cluster, with list options passed through', async () => {
    const [a, b] = sim.clusters.map((c) => c.name) as [string, string];
    const pods = (await call('GET', '/api/v1/pods', { headers: { 'x-cluster-name': b } })).json();
    expect(pods.items.length).toBeGreaterThan(0);
    expect(new Set(pods.items.map(annotationOf))).toEqual(new Set([b]));
    const limited = (await call('GET', `/api/v1/pods?x-cluster-name=${a}&limit=2`)).json();
    expect(limited.items).toHaveLength(2);
    expect(limited.metadata.continue).toBeTruthy();
    const next = (await call('GET', `/api/v1/pods?x-cluster-name=${a}&limit=2&continue=${encodeURIComponent(limited.metadata.continue)}`)).json();
    expect(next.items.map((p: any) => p.metadata.name)).not.toContain(limited.items[0].metadata.name);
    const ns = (await call('GET', '/api/v1/namespaces', { headers: { cookie: `x-cluster-name=${a}` } })).json();
    expect(new Set(ns.items.map(annotationOf))).toEqual(new Set([a]));
    const one = pods.items[0];
    const got = await call('GET', `/api/v1/pods/${one.metadata.namespace}/${one.metadata.name}`, { headers: { 'x-cluster-name': b } });
    expect(got.json().metadata.uid).toBe(one.metadata.uid);
    const nodes = (await call('GET', '/api/v1/nodes', { headers: { 'x-cluster-name': b } })).json();
    const node = await call('GET', `/api/v1/nodes/_all/${nodes.items[0].metadata.name}`, { headers: { 'x-cluster-name': b } });
    expect(node.status).toBe(200);
    const ov = (await call('GET', '/api/v1/overview', { headers: { 'x-cluster-name': b } })).json();
    expect(ov).toMatchObject({ cluster: b, totalPods: pods.items.length, totalNodes: nodes.items.length });
  });

  it('the mTLS cluster works through the agent holding its client certificate', async () => {
    const name = certSim.clusters[0]!.name;
    const r = await call('GET', '/api/v1/namespaces', { headers: { 'x-cluster-name': name } });
    expect(r.status).toBe(200);
    expect(new Set(r.json().items.map(annotationOf))).toEqual(new Set([name]));
  });

  itKubectl('kubectl get pods -A and get ns through /k8s over HTTPS', async () => {
    const name = sim.clusters[1]!.name;
    const server = `${tlsBase}/k8s/${name}`;
    const pods = await kubectl(['--server', server, 'get', 'pods', '-A', '-o', 'json']);
    expect(pods.code, pods.stderr).toBe(0);
    const items = JSON.parse(pods.stdout).items;
    expect(items.length).toBeGreaterThan(0);
    expect(new Set(items.map(annotationOf))).toEqual(new Set([name]));
    const table = await kubectl(['--server', server, 'get', 'pods', '-A']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS/);
    const ns = await kubectl(['--server', server, 'get', 'ns']);
    expect(ns.code, ns.stderr).toBe(0);
    expect(ns.stdout).toMatch(/default/);
  });

  itKubectl('kubectl create and delete a configmap through /k8s; a viewer is refused writes', async () => {
    const name = sim.clusters[2]!.name;
    const server = `${tlsBase}/k8s/${name}`;
    const created = await kubectl(['--server', server, 'create', 'configmap', 'fg-e2e', '-n', 'default', '--from-literal=a=b']);
    expect(created.code, created.stderr).toBe(0);
    const got = await kubectl(['--server', server, 'get', 'configmap', 'fg-e2e', '-n', 'default', '-o', 'json']);
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout).data).toEqual({ a: 'b' });
    const viewer = store.tokens.create({ name: 'kubectl-viewer', role: 'viewer', clusters: [name] }).token;
    const refused = await kubectl(['--server', server, 'delete', 'configmap', 'fg-e2e', '-n', 'default'], viewer);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/is a viewer: DELETE through \/k8s is not allowed/);
    const read = await kubectl(['--server', server, 'get', 'configmap', 'fg-e2e', '-n', 'default'], viewer);
    expect(read.code, read.stderr).toBe(0);
    const deleted = await kubectl(['--server', server, 'delete', 'configmap', 'fg-e2e', '-n', 'default']);
    expect(deleted.code, deleted.stderr).toBe(0);
    const gone = await kubectl(['--server', server, 'get', 'configmap', 'fg-e2e', '-n', 'default']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/NotFound|not found/);
  });

  // sim-0003 reports v1.30 and mtls-0001 v1.31: kubectl speaks WebSocket to both (SPDY, spoken
  // by older kubectl, is in test/sim/streaming.e2e.test.ts). The second cluster's credential is
  // a client certificate held by its agent.
  for (const pick of [() => sim.clusters[2]!.name, () => certSim.clusters[0]!.name]) {
    itKubectl('kubectl exec through /k8s over HTTPS: output, stdin and exit codes cross the gateway', async () => {
      const name = pick();
      const server = `${tlsBase}/k8s/${name}`;
      const [ns, pod] = await runningPod(server);
      const echo = await kubectl(['--server', server, 'exec', '-n', ns, pod, '--', 'echo', 'through', name]);
      expect(echo.code, echo.stderr).toBe(0);
      expect(echo.stdout).toBe(`through ${name}\n`);
      const cat = await kubectl(['--server', server, 'exec', '-i', '-n', ns, pod, '--', 'cat'], adminToken, 'from stdin\n');
      expect(cat.code, cat.stderr).toBe(0);
      expect(cat.stdout).toBe('from stdin\n');
      const failed = await kubectl(['--server', server, 'exec', '-n', ns, pod, '--', 'false']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('command terminated with exit code 1');
    });
  }

  itKubectl('upgrades: viewers are refused, a token and a known cluster are needed, the cluster’s refusals are relayed', async () => {
    const name = sim.clusters[2]!.name;
    const server = `${tlsBase}/k8s/${name}`;
    const [ns, pod] = await runningPod(server);
    const viewer = store.tokens.create({ name: 'exec-viewer', role: 'viewer', clusters: [name] }).token;
    const refused = await kubectl(['--server', server, 'exec', '-n', ns, pod, '--', 'echo', 'no'], viewer);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('token "exec-viewer" is a viewer: connection upgrades (exec, attach, port-forward) through /k8s are not allowed');

    const execPath = `/k8s/${name}/api/v1/namespaces/${ns}/pods/${pod}/exec?command=echo&stdout=true`;
    const ws = { upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol': 'v5.channel.k8s.io' };
    const noToken = await upgradeRequest(execPath, ws);
    expect(noToken.status).toBe(401);
    expect(JSON.parse(noToken.body)).toMatchObject({ kind: 'Status', code: 401 });
    const auth = { authorization: `Bearer ${adminToken}` };
    expect((await upgradeRequest(`/k8s/no-such-cluster/api/v1/namespaces/${ns}/pods/${pod}/exec?command=echo`, { ...ws, ...auth })).status).toBe(404);
    expect((await upgradeRequest(execPath, { ...ws, ...auth })).status).toBe(101);
    // The simulator declines a stream protocol it does not speak with a Status: relayed as it is.
    const spdy = await upgradeRequest(execPath, { upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'channel.k8s.io', ...auth });
    expect(spdy.status).toBe(400);
    expect(JSON.parse(spdy.body).message).toContain('this simulator speaks WebSocket');
    expect((await upgradeRequest(execPath, { upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'v4.channel.k8s.io', ...auth })).status).toBe(101);
    // Upgrades fleetgate does not take (outside /k8s, or h2c) are answered as plain requests:
    // by node:http through shouldUpgradeCallback (Node >= 24.9), and by the listener itself on a
    // server without it (older Node), which the second server here stands for on any Node.
    const bare = createServer(handle.app).on('upgrade', handle.upgrade);
    const closed: Promise<void>[] = [];
    bare.on('connection', (s: Socket) => closed.push(new Promise((r) => s.once('close', () => r()))));
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const bareOrigin = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
    try {
      for (const origin of [base, bareOrigin]) {
        for (const h of [{ upgrade: 'h2c', 'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA' }, ws]) {
          const plain = await upgradeRequest('/api/v1/clusters', { ...h, ...auth }, origin);
          expect(plain.status, origin).toBe(200);
          expect(JSON.parse(plain.body).map((c: { name: string }) => c.name)).toContain(name);
        }
      }
      // Without shouldUpgradeCallback a request with a body cannot be served plainly: a clear 400.
      const posted = await upgradeRequest('/api/v1/admin/tokens', { upgrade: 'h2c', 'content-type': 'application/json', ...auth }, bareOrigin, JSON.stringify({ name: 'h2c', role: 'viewer' }));
      expect(posted.status).toBe(400);
      expect(JSON.parse(posted.body).error).toContain('send it without the Upgrade header');
      expect((await upgradeRequest(execPath, { ...ws, ...auth }, bareOrigin)).status).toBe(101);
      // Refused, relayed and finished upgrades all close their connections.
      expect((await upgradeRequest(execPath, ws, bareOrigin)).status).toBe(401);
      expect((await upgradeRequest(execPath, { upgrade: 'SPDY/3.1', ...auth }, bareOrigin)).status).toBe(400);
      expect(closed.length).toBe(6);
      await Promise.all(closed);
      expect(await new Promise<number>((resolve) => bare.getConnections((_e, n) => resolve(n)))).toBe(0);
    } finally {
      bare.closeAllConnections();
      await new Promise((r) => bare.close(r));
    }
  });

  it('an upgraded session is counted while open, and ends when the caller leaves', async () => {
    const name = sim.clusters[2]!.name;
    const [ns, pod] = await runningPod(`${tlsBase}/k8s/${name}`);
    const r = httpRequest(`${base}/k8s/${name}/api/v1/namespaces/${ns}/pods/${pod}/exec?command=cat&stdin=true&stdout=true`, {
      headers: {
        authorization: `Bearer ${adminToken}`,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-protocol': 'v5.channel.k8s.io',
      },
    });
    r.end();
    const [res, socket] = await new Promise<[IncomingMessage, Duplex]>((resolve, reject) => {
      r.on('upgrade', (res, socket) => resolve([res, socket]));
      r.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      r.on('error', reject);
    });
    expect(res.headers['sec-websocket-protocol']).toBe('v5.channel.k8s.io');
    expect(handle.metricsSnapshot().upgradedSessions).toBe(1);
    expect(await (await fetch(base + '/metrics')).text()).toContain('fleetgate_http_upgraded_sessions 1');
    socket.destroy();
    // The session ends once both its sockets have closed, the cluster's side inside the app: the
    // gauge is all there is to watch.
    await eventually(async () => handle.metricsSnapshot().upgradedSessions === 0);
  });

  itKubectl('kubectl get -w through /k8s streams events as they happen, past the upstream timeout', async () => {
    const name = sim.clusters[1]!.name;
    const server = `${tlsBase}/k8s/${name}`;
    const watch = longKubectl(['--server', server, 'get', 'configmaps', '-n', 'default', '-w', '-o', 'name']);
    try {
      await watch.waitFor('configmap/kube-root-ca.crt', 15_000); // the initial list
      // Quiet for longer than the 2 s upstream timeout: a watch has none once it has started. The
      // passing of time is the condition under test here, so this is a wait, not a synchronisation.
      await new Promise((r) => setTimeout(r, 2500));
      const created = await kubectl(['--server', server, 'create', 'configmap', 'fg-watched', '-n', 'default', '--from-literal=k=v']);
      expect(created.code, created.stderr).toBe(0);
      await watch.waitFor('configmap/fg-watched', 5000);
      expect(watch.running()).toBe(true);
    } finally {
      await watch.stop();
      await kubectl(['--server', server, 'delete', 'configmap', 'fg-watched', '-n', 'default']);
    }
  });

  itKubectl('kubectl logs -f through /k8s streams new lines as the container writes them', async () => {
    const name = sim.clusters[0]!.name;
    const server = `${tlsBase}/k8s/${name}`;
    const [ns, pod] = await runningPod(server);
    const follow = longKubectl(['--server', server, 'logs', '-f', '-n', ns, pod]);
    try {
      // Ten lines at once, then one a second: line 13 is written about 3 s in, long after the
      // response began, so it can only arrive through a stream that was not buffered.
      await follow.waitFor(`line 13 from ${name}/${ns}/${pod}`, 15_000);
      expect(follow.running()).toBe(true);
    } finally {
      await follow.stop();
    }
  });

  itKubectl('the kubeconfig route gives kubectl a working configuration with the caller token', async () => {
    const name = sim.clusters[0]!.name;
    const r = await call('GET', `/api/v1/clusters/${name}/kubeconfig`);
    expect(r.status).toBe(200);
    const file = join(dataDir, 'kc.yaml');
    writeFileSync(file, r.text);
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(kubectlBin, ['--kubeconfig', file, 'get', 'pods', '-A', '-o', 'json'], { timeout: 60_000 }, (err, stdout, stderr) => {
        bodies.push(stdout, stderr);
        resolve({ code: err ? 1 : 0, stdout, stderr });
      }),
    );
    expect(out.code, out.stderr).toBe(0);
    expect(new Set(JSON.parse(out.stdout).items.map(annotationOf))).toEqual(new Set([name]));
  });

  it('admin POST answers with the probed state (read-your-writes); a down cluster is 503 with its error', async () => {
    const name = sim.clusters[0]!.name;
    const calls = barrierCalls;
    const r = await call('POST', '/api/v1/admin/clusters', { json: { name: 'again', description: 'same API server', config: sim.singleKubeconfig(name) } });
    expect(r.status, r.text).toBe(201);
    expect(barrierCalls).toBe(calls + 1);
    expect(r.json()).toMatchObject({ name: 'again', state: 'ok', version: sim.cluster(name).version, error: '' });
    expect(r.text).not.toContain(sim.cluster(name).token);
    const dup = await call('POST', '/api/v1/admin/clusters', { json: { name: 'again', config: sim.singleKubeconfig(name) } });
    expect(dup.status).toBe(409);
    const bad = await call('POST', '/api/v1/admin/clusters', { json: { name: 'bad', config: 'apiVersion: v1\nkind: Config\nclusters: 7\n' } });
    expect(bad.status).toBe(400);

    await sim.setFault(name, { down: true });
    try {
      const upd = await call('PUT', `/api/v1/admin/clusters/${r.json().id}`, { json: { description: 'now down' } });
      expect(upd.status).toBe(200);
      expect(upd.json()).toMatchObject({ state: 'error', error: expect.stringMatching(/ECONNREFUSED|refused/i) });
      const down = await call('GET', '/api/v1/pods', { headers: { 'x-cluster-name': 'again' } });
      expect(down.status).toBe(503);
      expect(down.json().error).toMatch(/again/);
    } finally {
      await sim.setFault(name, { down: false });
    }
    expect((await call('DELETE', `/api/v1/admin/clusters/${r.json().id}`)).status).toBe(200);
  });

  it('import through the API: one cluster per context, state from the sync', async () => {
    const fresh = await startSimulator({ clusters: 2, namePrefix: 'imp' });
    try {
      const r = await fetch(base + '/api/v1/admin/clusters/import', {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/yaml' },
        body: fresh.kubeconfig(),
      });
      const text = await r.text();
      bodies.push(text);
      expect(r.status, text).toBe(201);
      const out = JSON.parse(text);
      expect(out.clusters.map((c: any) => [c.name, c.state, c.version])).toEqual(fresh.clusters.map((c) => [c.name, 'ok', c.version]));
      for (const c of fresh.clusters) expect(text).not.toContain(c.token);
      for (const c of out.clusters) expect((await call('DELETE', `/api/v1/admin/clusters/${c.id}`)).status).toBe(200);
    } finally {
      await fresh.stop();
    }
  });

  it('a hanging cluster answers 504 while the others keep answering; refused is 502', async () => {
    const [a, b] = sim.clusters.map((c) => c.name) as [string, string];
    await sim.setFault(a, { hang: true });
    try {
      const before = sim.stats().byCluster[a] ?? 0;
      let settled = 0;
      const hung = call('GET', `/k8s/${a}/api/v1/namespaces`).finally(() => settled++);
      // An upgrade (exec) to the hanging cluster is bounded by the same timeout.
      const hungExec = upgradeRequest(`/k8s/${a}/api/v1/namespaces/default/pods/any/exec?command=echo`, {
        authorization: `Bearer ${adminToken}`,
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-protocol': 'v5.channel.k8s.io',
      }).finally(() => settled++);
      // Both are with the hanging cluster; b answers, many times, before either has its 504.
      await eventually(async () => (sim.stats().byCluster[a] ?? 0) >= before + 2);
      for (let i = 0; i < 5; i++) expect((await call('GET', `/k8s/${b}/api/v1/namespaces`)).status).toBe(200);
      expect(settled).toBe(0);
      const r = await hung;
      expect(r.status).toBe(504);
      expect(r.json().error).toMatch(/did not answer within 2000 ms/);
      const e = await hungExec;
      expect(e.status).toBe(504);
      expect(JSON.parse(e.body)).toMatchObject({ kind: 'Status', reason: 'Timeout', message: `cluster "${a}": upstream did not answer within 2000 ms` });

      // A caller that leaves before the hanging cluster answers frees its hold on the client.
      const client = () => handle.clientCache.peek(store.clusters.getByName(a)!.id)!;
      const refs = client().refs;
      const left = httpRequest(`${base}/k8s/${a}/api/v1/namespaces/default/pods/any/exec?command=echo`, {
        headers: { authorization: `Bearer ${adminToken}`, connection: 'Upgrade', upgrade: 'websocket' },
      });
      left.on('error', () => {});
      left.end();
      await eventually(async () => client().refs === refs + 1);
      left.destroy();
      await eventually(async () => client().refs === refs);
    } finally {
      await sim.setFault(a, { hang: false });
    }
    await sim.setFault(b, { down: true });
    try {
      const r = await call('GET', '/api/v1/namespaces', { headers: { 'x-cluster-name': b } });
      expect(r.status).toBe(502);
    } finally {
      await sim.setFault(b, { down: false });
    }
  });

  it('reuses one agent per cluster across requests', async () => {
    const name = sim.clusters[2]!.name;
    const id = store.clusters.getByName(name)!.id;
    await call('GET', `/k8s/${name}/api/v1/namespaces`);
    const client = handle.clientCache.peek(id)!;
    for (let i = 0; i < 10; i++) await call('GET', `/k8s/${name}/api/v1/namespaces`);
    expect(handle.clientCache.peek(id)).toBe(client);
    expect(client.destroyed).toBe(false);
  });

  itKubectl('a cluster behind an authenticating proxy (proxy-url) is probed, served and exec-ed through it', async () => {
    const target = sim.clusters[2]!.name; // v1.30: kubectl execs over WebSocket
    const tunnels: string[] = [];
    const proxy = createServer((_req, res) => res.writeHead(405).end());
    const open = new Set<Duplex>();
    proxy.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
      open.add(client);
      client.on('error', () => {});
      if (req.headers['proxy-authorization'] !== `Basic ${Buffer.from(`fleet:${kProxyPassword}`).toString('base64')}`) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = netConnect(Number(port), host!, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://fleet:${kProxyPassword}@127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const config = sim.singleKubeconfig(target).replace(/^( {4}server: .*)$/m, `$1\n    proxy-url: "${proxyUrl}"`);
    expect(config).toContain('proxy-url');
    let id = 0;
    try {
      const created = await call('POST', '/api/v1/admin/clusters', { json: { name: 'behind-proxy', config } });
      expect(created.status, created.text).toBe(201);
      id = created.json().id;
      expect(created.json()).toMatchObject({ state: 'ok', version: sim.cluster(target).version });
      const probed = tunnels.length;
      expect(probed).toBeGreaterThan(0); // the version probe went through the proxy

      const ns = await call('GET', '/k8s/behind-proxy/api/v1/namespaces');
      expect(ns.status, ns.text).toBe(200);
      expect(new Set(ns.json().items.map(annotationOf))).toEqual(new Set([target]));
      expect(tunnels.length).toBeGreaterThan(probed); // and so did the request
      expect(new Set(tunnels)).toEqual(new Set([new URL(sim.cluster(target).server).host]));

      const server = `${tlsBase}/k8s/behind-proxy`;
      const [pns, pod] = await runningPod(server);
      const echo = await kubectl(['--server', server, 'exec', '-n', pns, pod, '--', 'echo', 'through the proxy']);
      expect(echo.code, echo.stderr).toBe(0);
      expect(echo.stdout).toBe('through the proxy\n');
    } finally {
      if (id) expect((await call('DELETE', `/api/v1/admin/clusters/${id}`)).status).toBe(200);
      for (const c of open) c.destroy(); // tunnels are detached from the server: close() would wait
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('no response, kubectl output or log line carries a cluster token, key or certificate', () => {
    const secrets: string[] = [kProxyPassword];
    for (const c of [...sim.clusters, ...certSim.clusters]) {
      secrets.push(c.token, c.viewerToken);
      for (const pem of [c.clientCertPem, c.clientKeyPem]) if (pem) secrets.push(...pem.split('\n').filter((l) => l.length > 40 && !l.startsWith('-----')));
    }
    expect(bodies.length).toBeGreaterThan(30);
    for (const text of [...bodies, ...logs]) for (const s of secrets) expect(text.includes(s), `leaked ${s.slice(0, 10)}…`).toBe(false);
  });
});
