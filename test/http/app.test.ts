/**
 * End-to-end tests of the HTTP app against fake Kubernetes API servers on loopback: every route,
 * cluster selection, auth and error statuses, read-your-writes, the upstream client cache, the
 * streamed passthrough, timeouts, and a scan of every response and log line for cluster secrets.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, type FleetgateApp } from '../../src/http/app.js';
import { kNoClustersMessage } from '../../src/http/select.js';
import { listenHttpAndHttps, startFakeK8s, tlsFixtures, type FakeK8s } from './fake-k8s.js';
import { FakeDirectory, fakeConfig, FakeStore, FakeSync } from './fakes.js';

const run = promisify(execFile);
const kAuthCacheMs = 300;

/** A promise and the function that settles it: a gate the test opens. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json(): any;
}

const bodies: string[] = [];
const logs: string[] = [];

let alpha: FakeK8s; // https, CA + bearer token
let beta: FakeK8s; // http, bearer token
let gamma: FakeK8s; // https, client certificate only
let store: FakeStore;
let directory: FakeDirectory;
let sync: FakeSync;
let handle: FleetgateApp;
let listening: Awaited<ReturnType<typeof listenHttpAndHttps>> | undefined;
let tlsPort = 0;
let base: string;
let adminToken: string;
const ids: Record<string, number> = {};

async function call(
  method: string,
  path: string,
  opts: { token?: string | null; headers?: Record<string, string>; json?: unknown; body?: string; contentType?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? adminToken : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] = 'application/json';
  } else if (opts.body !== undefined) {
    body = opts.body;
    headers['content-type'] = opts.contentType ?? 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  bodies.push(text);
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

function clusterOf(list: { items: { metadata: { annotations: Record<string, string> } }[] }): string[] {
  return [...new Set(list.items.map((i) => i.metadata.annotations['fleetgate.dev/cluster']))];
}

beforeAll(async () => {
  [alpha, beta, gamma] = await Promise.all([
    startFakeK8s('alpha', { tls: true }),
    startFakeK8s('beta'),
    startFakeK8s('gamma', { tls: true, requireClientCert: true }),
  ]);
  store = new FakeStore();
  directory = new FakeDirectory();
  sync = new FakeSync(store, directory);
  adminToken = store.tokens.create({ name: 'admin', role: 'admin' }).token;
  const add = (name: string, config: string, extra: { isDefault?: boolean } = {}) => {
    ids[name] = store.clusters.create({ name, config, ...extra }).id;
  };
  add('alpha', fakeConfig({ server: alpha.server, caData: tlsFixtures.ca, token: alpha.token }), { isDefault: true });
  add('beta', fakeConfig({ server: beta.server, token: beta.token }));
  add('gamma', fakeConfig({ server: gamma.server, caData: tlsFixtures.ca, certData: tlsFixtures.clientCert, keyData: tlsFixtures.clientKey }));
  add('broken', fakeConfig({ server: 'https://127.0.0.1:1', state: 'error', error: 'probe /version: connect ECONNREFUSED 127.0.0.1:1' }));
  add('refused', fakeConfig({ server: 'http://127.0.0.1:1', token: 'refused-secret-token' }));
  sync.syncNow();
  handle = createApp({
    directory,
    store,
    syncBarrier: sync.barrier,
    options: {
      upstreamTimeoutMs: 1500,
      bodyLimit: '4kb',
      syncWaitMs: 2000,
      authCacheMs: kAuthCacheMs,
      workerId: 0,
      log: (l) => logs.push(l),
      publicTls: { port: () => tlsPort, caPem: tlsFixtures.ca },
    },
  });
  listening = await listenHttpAndHttps(handle.app);
  tlsPort = listening.tlsPort;
  base = `http://127.0.0.1:${listening.port}`;
});

afterAll(async () => {
  await listening?.close();
  await handle?.close();
  await Promise.all([alpha, beta, gamma].map((c) => c?.stop()));
});

describe('health and metrics', () => {
  it('serves /healthz, /readyz and /metrics without a token', async () => {
    expect((await call('GET', '/healthz', { token: null })).json()).toEqual({ status: 'ok' });
    expect((await call('GET', '/readyz', { token: null })).status).toBe(200);
    directory.ready = false;
    const notReady = await call('GET', '/readyz', { token: null });
    directory.ready = true;
    expect(notReady.status).toBe(503);
    expect(notReady.json().error).toMatch(/not ready/);
    await call('GET', '/api/v1/clusters');
    const m = await call('GET', '/metrics', { token: null });
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toMatch(/text\/plain/);
    expect(m.text).toMatch(/fleetgate_http_requests_total\{route="\/api\/v1\/clusters",method="GET",status="200"\} \d+/);
    expect(m.text).toMatch(/fleetgate_http_request_duration_seconds_bucket\{route="\/api\/v1\/clusters",le="\+Inf"\} \d+/);
    const snap = handle.metricsSnapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });
});

describe('authentication', () => {
  it('answers 401 without a token or with a bad one, on /api and /k8s', async () => {
    for (const path of ['/api/v1/clusters', '/api/v1/pods', '/k8s/alpha/api/v1/pods', '/api/v1/admin/clusters']) {
      const none = await call('GET', path, { token: null });
      expect(none.status).toBe(401);
      expect(none.json().error).toMatch(/bearer/i);
      const bad = await call('GET', path, { token: 'nope' });
      expect(bad.status).toBe(401);
      expect(bad.json()).toHaveProperty('error');
    }
  });

  it('admin routes need an admin token (403 for viewers)', async () => {
    const viewer = store.tokens.create({ name: 'v-admin-check', role: 'viewer' }).token;
    expect((await call('GET', '/api/v1/admin/clusters', { token: viewer })).status).toBe(403);
    expect((await call('POST', '/api/v1/admin/clusters/import', { token: viewer, json: { config: '{}' } })).status).toBe(403);
    expect((await call('GET', '/api/v1/admin/tokens', { token: viewer })).status).toBe(403);
  });
});

describe('GET /api/v1/clusters', () => {
  it('lists clusters sorted by name in Kite shape, error only when set', async () => {
    const r = await call('GET', '/api/v1/clusters');
    expect(r.status).toBe(200);
    const list = r.json();
    expect(list.map((c: any) => c.name)).toEqual(['alpha', 'beta', 'broken', 'gamma', 'refused']);
    expect(list[0]).toEqual({ name: 'alpha', version: 'v1.30.0-fake', isDefault: true, state: 'ok', description: expect.any(String), groups: [] });
    expect(list[2]).toMatchObject({ name: 'broken', state: 'error', error: expect.stringMatching(/ECONNREFUSED/) });
    const keys = ['description', 'groups', 'isDefault', 'name', 'state', 'version'];
    for (const c of list) expect(Object.keys(c).sort()).toEqual(c.error ? ['description', 'error', 'groups', 'isDefault', 'name', 'state', 'version'] : keys);
  });

  it("filters by the viewer's clusters", async () => {
    const viewer = store.tokens.create({ name: 'v-beta', role: 'viewer', clusters: ['beta', 'gamma'] }).token;
    expect((await call('GET', '/api/v1/clusters', { token: viewer })).json().map((c: any) => c.name)).toEqual(['beta', 'gamma']);
  });
});

describe('cluster selection', () => {
  it('uses header, then query, then cookie, then the default', async () => {
    const pods = async (path: string, headers: Record<string, string> = {}) => {
      const r = await call('GET', path, { headers });
      expect(r.status, r.text).toBe(200);
      return clusterOf(r.json());
    };
    expect(await pods('/api/v1/pods')).toEqual(['alpha']);
    expect(await pods('/api/v1/pods', { cookie: 'a=b; x-cluster-name=gamma' })).toEqual(['gamma']);
    expect(await pods('/api/v1/pods?x-cluster-name=beta', { cookie: 'x-cluster-name=gamma' })).toEqual(['beta']);
    expect(await pods('/api/v1/pods?x-cluster-name=beta', { cookie: 'x-cluster-name=gamma', 'x-cluster-name': 'alpha' })).toEqual(['alpha']);
    expect(await pods('/api/v1/pods', { 'x-cluster-name': 'gamma' })).toEqual(['gamma']);
  });

  it('unknown cluster 404, error-state cluster 503 with its error', async () => {
    const unknown = await call('GET', '/api/v1/pods', { headers: { 'x-cluster-name': 'nope' } });
    expect(unknown.status).toBe(404);
    expect(unknown.json().error).toMatch(/"nope" not found/);
    const broken = await call('GET', '/api/v1/pods', { headers: { 'x-cluster-name': 'broken' } });
    expect(broken.status).toBe(503);
    expect(broken.json().error).toMatch(/ECONNREFUSED/);
    expect((await call('GET', '/k8s/broken/api/v1/pods')).status).toBe(503);
    expect((await call('GET', '/k8s/nope/api/v1/pods')).status).toBe(404);
  });

  it('a viewer outside its clusters gets 403; by default it gets its first cluster', async () => {
    const viewer = store.tokens.create({ name: 'v-gamma', role: 'viewer', clusters: ['gamma'] }).token;
    expect((await call('GET', '/api/v1/pods', { token: viewer, headers: { 'x-cluster-name': 'alpha' } })).status).toBe(403);
    expect((await call('GET', '/k8s/alpha/api/v1/pods', { token: viewer })).status).toBe(403);
    expect((await call('GET', '/api/v1/clusters/alpha/kubeconfig', { token: viewer })).status).toBe(403);
    const r = await call('GET', '/api/v1/pods', { token: viewer });
    expect(clusterOf(r.json())).toEqual(['gamma']);
  });

  it('with no clusters registered: 404 saying how to add one', async () => {
    const empty = createApp({ directory: new FakeDirectory(), store, syncBarrier: async () => true, options: { log: (l) => logs.push(l) } });
    const s = empty.app.listen(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    try {
      const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
      for (const path of ['/api/v1/overview', '/api/v1/pods', '/k8s/x/api']) {
        const r = await fetch(url + path, { headers: { authorization: `Bearer ${adminToken}` } });
        expect(r.status).toBe(404);
        expect(((await r.json()) as { error: string }).error).toBe(kNoClustersMessage);
      }
    } finally {
      s.close();
      await empty.close();
    }
  });
});

describe('resource routes', () => {
  it('lists, filters by namespace, gets one object, and passes list options through', async () => {
    const all = (await call('GET', '/api/v1/pods')).json();
    expect(all.items.map((p: any) => p.metadata.name)).toEqual(['web-1', 'web-2', 'dns-1']);
    const ns = (await call('GET', '/api/v1/pods/kube-system')).json();
    expect(ns.items.map((p: any) => p.metadata.name)).toEqual(['dns-1']);
    const allNs = (await call('GET', '/api/v1/pods/_all')).json();
    expect(allNs.items).toHaveLength(3);
    const one = await call('GET', '/api/v1/pods/default/web-1');
    expect(one.status).toBe(200);
    expect(one.json().metadata.name).toBe('web-1');
    const q = await call('GET', '/api/v1/pods?labelSelector=app%3Dweb&fieldSelector=status.phase%3DRunning&limit=10&continue=abc&evil=1');
    expect(q.json().items.map((p: any) => p.metadata.name)).toEqual(['web-1', 'web-2']);
    const last = alpha.seen.at(-1)!;
    const u = new URL(last.url, 'http://x');
    expect(u.pathname).toBe('/api/v1/pods');
    expect(Object.fromEntries(u.searchParams)).toEqual({ labelSelector: 'app=web', fieldSelector: 'status.phase=Running', limit: '10', continue: 'abc' });
  });

  it('maps kinds to their API groups; cluster-scoped kinds via _all', async () => {
    expect((await call('GET', '/api/v1/deployments/default')).json().items[0].metadata.name).toBe('web');
    expect(alpha.seen.at(-1)!.url).toBe('/apis/apps/v1/namespaces/default/deployments');
    const cr = await call('GET', '/api/v1/clusterroles/_all/admin');
    expect(cr.status).toBe(200);
    expect(alpha.seen.at(-1)!.url).toBe('/apis/rbac.authorization.k8s.io/v1/clusterroles/admin');
    expect((await call('GET', '/api/v1/nodes')).json().items).toHaveLength(2);
    expect(alpha.seen.at(-1)!.url).toBe('/api/v1/nodes');
  });

  it('unknown resource 404, upstream 404 as JSON error, namespaced get without namespace 400', async () => {
    const unknown = await call('GET', '/api/v1/widgets');
    expect(unknown.status).toBe(404);
    expect(unknown.json().error).toMatch(/unknown resource "widgets"/);
    const missing = await call('GET', '/api/v1/pods/default/nope');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ error: 'pods "nope" not found' });
    expect((await call('GET', '/api/v1/pods/_all/web-1')).status).toBe(400);
  });

  it('overview counts nodes, pods, namespaces and services', async () => {
    const r = await call('GET', '/api/v1/overview', { headers: { 'x-cluster-name': 'beta' } });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({
      cluster: 'beta',
      version: 'v1.30.0-fake',
      totalNodes: 2,
      readyNodes: 1,
      totalPods: 3,
      runningPods: 2,
      totalNamespaces: 3,
      totalServices: 1,
      prometheusEnabled: false,
    });
  });

  it('a refused upstream is 502 JSON', async () => {
    const r = await call('GET', '/api/v1/pods', { headers: { 'x-cluster-name': 'refused' } });
    expect(r.status).toBe(502);
    expect(r.json().error).toMatch(/refused.*ECONNREFUSED/);
    expect((await call('GET', '/k8s/refused/api/v1/pods')).status).toBe(502);
  });
});

describe('admin clusters (read-your-writes)', () => {
  it('POST creates, waits for the sync barrier, and answers with the committed state', async () => {
    const before = sync.resolved;
    const r = await call('POST', '/api/v1/admin/clusters', {
      json: { name: 'delta', description: 'new', config: fakeConfig({ server: beta.server, token: beta.token, version: 'v1.31.2' }) },
    });
    expect(r.status, r.text).toBe(201);
    expect(sync.resolved).toBe(before + 1); // the barrier had settled before the response was sent
    const v = r.json();
    expect(v).toMatchObject({ name: 'delta', description: 'new', state: 'ok', version: 'v1.31.2', error: '', isDefault: false, enabled: true });
    expect(v).not.toHaveProperty('config');
    ids.delta = v.id;
    // Immediately usable (read-your-writes)
    expect((await call('GET', '/api/v1/clusters')).json().map((c: any) => c.name)).toContain('delta');
  });

  it('duplicate 409, malformed JSON 400, oversize 413, missing fields 400, bad config 400', async () => {
    const dup = await call('POST', '/api/v1/admin/clusters', { json: { name: 'alpha', config: fakeConfig({}) } });
    expect(dup.status).toBe(409);
    expect(dup.json().error).toMatch(/already exists/);
    const malformed = await call('POST', '/api/v1/admin/clusters', { body: '{"name": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.json().error).toMatch(/malformed JSON/);
    const big = await call('POST', '/api/v1/admin/clusters', { json: { name: 'big', config: 'x'.repeat(10_000) } });
    expect(big.status).toBe(413);
    expect(big.json()).toEqual({ error: 'request body too large' });
    expect((await call('POST', '/api/v1/admin/clusters', { json: { config: fakeConfig({}) } })).status).toBe(400);
    expect((await call('POST', '/api/v1/admin/clusters', { json: { name: 'noconfig' } })).status).toBe(400);
    expect((await call('POST', '/api/v1/admin/clusters', { json: { name: 'x', config: 5 } })).status).toBe(400);
    const badConfig = await call('POST', '/api/v1/admin/clusters', { json: { name: 'bad', config: 'not a kubeconfig' } });
    expect(badConfig.status).toBe(400); // StoreError invalid
    expect((await call('POST', '/api/v1/admin/clusters', { json: [1, 2] })).status).toBe(400);
  });

  it('GET lists rows with state and never a config', async () => {
    const r = await call('GET', '/api/v1/admin/clusters');
    const list = r.json();
    expect(list.map((c: any) => c.name)).toContain('delta');
    for (const c of list) {
      expect(c).not.toHaveProperty('config');
      expect(c).toHaveProperty('state');
    }
    expect(list.find((c: any) => c.name === 'broken')).toMatchObject({ state: 'error' });
  });

  it('PUT updates and answers with the new state; 404 for an unknown id; 409 on a rename clash', async () => {
    const r = await call('PUT', `/api/v1/admin/clusters/${ids.delta}`, { json: { description: 'changed', config: fakeConfig({ server: beta.server, token: beta.token, state: 'error', error: 'boom' }) } });
    expect(r.status, r.text).toBe(200);
    expect(r.json()).toMatchObject({ name: 'delta', description: 'changed', state: 'error', error: 'boom' });
    expect((await call('PUT', '/api/v1/admin/clusters/9999', { json: { description: 'x' } })).status).toBe(404);
    expect((await call('PUT', '/api/v1/admin/clusters/abc', { json: { description: 'x' } })).status).toBe(400);
    expect((await call('PUT', `/api/v1/admin/clusters/${ids.delta}`, { json: { name: 'alpha' } })).status).toBe(409);
  });

  it('DELETE refuses the default (400) and removes others', async () => {
    const def = await call('DELETE', `/api/v1/admin/clusters/${ids.alpha}`);
    expect(def.status).toBe(400);
    expect(def.json().error).toMatch(/default/);
    const r = await call('DELETE', `/api/v1/admin/clusters/${ids.delta}`);
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ name: 'delta', deleted: true, inIndex: false });
    expect((await call('GET', '/api/v1/pods', { headers: { 'x-cluster-name': 'delta' } })).status).toBe(404);
    expect((await call('DELETE', `/api/v1/admin/clusters/${ids.delta}`)).status).toBe(404);
  });

  it('a barrier that times out gives 202 with a note', async () => {
    sync.commits = false;
    try {
      const r = await call('POST', '/api/v1/admin/clusters', { json: { name: 'epsilon', config: fakeConfig({ server: beta.server, token: beta.token }) } });
      expect(r.status).toBe(202);
      expect(r.json()).toMatchObject({ name: 'epsilon', state: 'pending' });
      expect(r.json().note).toMatch(/did not commit/);
    } finally {
      sync.commits = true;
    }
    sync.syncNow();
    const id = store.clusters.getByName('epsilon')!.id;
    expect((await call('DELETE', `/api/v1/admin/clusters/${id}`)).status).toBe(200);
  });

  it('import: one cluster per context, as text or JSON {config}; bad kubeconfig 400', async () => {
    const kc = JSON.stringify({ contexts: [{ name: 'imp-1', config: { server: beta.server, token: beta.token } }, { name: 'imp-2', config: { server: beta.server, token: beta.token } }] });
    const r = await call('POST', '/api/v1/admin/clusters/import', { body: kc, contentType: 'application/yaml' });
    expect(r.status, r.text).toBe(201);
    expect(r.json().clusters.map((c: any) => [c.name, c.state])).toEqual([['imp-1', 'ok'], ['imp-2', 'ok']]);
    expect(r.text).not.toContain(beta.token);
    const viaJson = await call('POST', '/api/v1/admin/clusters/import', { json: { config: JSON.stringify({ contexts: [{ name: 'imp-3', config: {} }] }) } });
    expect(viaJson.status).toBe(201);
    expect((await call('POST', '/api/v1/admin/clusters/import', { body: 'garbage', contentType: 'text/plain' })).status).toBe(400);
    expect((await call('POST', '/api/v1/admin/clusters/import', { json: { nope: 1 } })).status).toBe(400);
    const dup = await call('POST', '/api/v1/admin/clusters/import', { body: kc, contentType: 'application/yaml' });
    expect(dup.status).toBe(409);
    for (const n of ['imp-1', 'imp-2', 'imp-3']) await call('DELETE', `/api/v1/admin/clusters/${store.clusters.getByName(n)!.id}`);
  });
});

describe('tokens', () => {
  it('POST returns the secret once; GET never shows secrets; DELETE revokes at once', async () => {
    const created = await call('POST', '/api/v1/admin/tokens', { json: { name: 'ci', role: 'viewer', clusters: ['beta'] } });
    expect(created.status).toBe(201);
    const t = created.json();
    expect(t).toMatchObject({ name: 'ci', role: 'viewer', clusters: ['beta'] });
    expect(typeof t.token).toBe('string');
    const list = await call('GET', '/api/v1/admin/tokens');
    expect(list.text).not.toContain(t.token);
    expect(list.json().find((x: any) => x.id === t.id)).toEqual({ id: t.id, name: 'ci', role: 'viewer', clusters: ['beta'], createdAt: expect.anything(), expiresAt: null, lastUsedAt: null });
    expect((await call('GET', '/api/v1/clusters', { token: t.token })).json().map((c: any) => c.name)).toEqual(['beta']);
    expect((await call('DELETE', `/api/v1/admin/tokens/${t.id}`)).status).toBe(200);
    expect((await call('GET', '/api/v1/clusters', { token: t.token })).status).toBe(401);
    expect((await call('DELETE', `/api/v1/admin/tokens/${t.id}`)).status).toBe(404);
  });

  it('validates the body', async () => {
    expect((await call('POST', '/api/v1/admin/tokens', { json: { name: '' } })).status).toBe(400);
    expect((await call('POST', '/api/v1/admin/tokens', { json: { name: 'x', role: 'root' } })).status).toBe(400);
    expect((await call('POST', '/api/v1/admin/tokens', { json: { name: 'x', clusters: 'alpha' } })).status).toBe(400);
  });

  it('a token revoked elsewhere (another worker) stops working when the cache time is up', async () => {
    // The cache's clock is the thing under test: only Date is faked (timers and sockets stay
    // real), so the request at authCacheMs - 1 and the one at authCacheMs are exactly that.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { token, record } = store.tokens.create({ name: 'elsewhere', role: 'viewer' });
      expect((await call('GET', '/api/v1/clusters', { token })).status).toBe(200);
      store.tokens.delete(record.id);
      vi.advanceTimersByTime(kAuthCacheMs - 1);
      expect((await call('GET', '/api/v1/clusters', { token })).status).toBe(200);
      vi.advanceTimersByTime(1);
      expect((await call('GET', '/api/v1/clusters', { token })).status).toBe(401);
    } finally {
      vi.useRealTimers();
    }
  });

  it('caches verification briefly', async () => {
    const before = store.verifyCalls;
    for (let i = 0; i < 5; i++) await call('GET', '/healthz');
    for (let i = 0; i < 5; i++) await call('GET', '/api/v1/clusters');
    expect(store.verifyCalls - before).toBeLessThanOrEqual(2);
  });
});

describe('kubeconfig for kubectl', () => {
  it('points a plain-HTTP caller at the HTTPS port with the CA and its own token; kubectl can use it', async () => {
    const r = await call('GET', '/api/v1/clusters/beta/kubeconfig');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/yaml/);
    expect(r.text).toContain(`server: "https://127.0.0.1:${tlsPort}/k8s/beta"`);
    expect(r.text).toContain(`certificate-authority-data: "${Buffer.from(tlsFixtures.ca).toString('base64')}"`);
    expect(r.text).toContain(`token: "${adminToken}"`);
    expect(r.text).not.toContain(beta.token);
    expect((await call('GET', '/api/v1/clusters/nope/kubeconfig')).status).toBe(404);
    const dir = mkdtempSync(join(tmpdir(), 'fleetgate-http-'));
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, r.text);
    const { stdout } = await run('kubectl', ['--kubeconfig', file, 'get', '--raw', '/k8s/beta/api/v1/namespaces'], { timeout: 30_000 });
    expect(clusterOf(JSON.parse(stdout))).toEqual(['beta']);
  });

  it('a caller that came over HTTPS gets its own scheme, host and port back', async () => {
    const res = await new Promise<string>((resolve, reject) => {
      const req = httpsGet(
        { host: '127.0.0.1', port: tlsPort, path: '/api/v1/clusters/alpha/kubeconfig', ca: tlsFixtures.ca, headers: { authorization: `Bearer ${adminToken}`, host: `localhost:${tlsPort}` } },
        (res) => {
          let b = '';
          res.on('data', (c) => (b += c));
          res.on('end', () => resolve(b));
        },
      );
      req.on('error', reject);
    });
    bodies.push(res);
    expect(res).toContain(`server: "https://localhost:${tlsPort}/k8s/alpha"`);
  });
});

describe('/k8s passthrough', () => {
  it("replaces the caller's credentials, strips cookies, keeps the query and headers", async () => {
    const r = await call('GET', '/k8s/alpha/api/v1/pods?labelSelector=app%3Ddns&limit=5', {
      headers: { cookie: 'session=abc; x-cluster-name=beta', accept: 'application/json;as=Table', 'x-cluster-name': 'beta', 'user-agent': 'kubectl/v1.32' },
    });
    expect(r.status).toBe(200);
    expect(r.json().items.map((p: any) => p.metadata.name)).toEqual(['dns-1']);
    const seen = alpha.seen.at(-1)!;
    expect(seen.url).toBe('/api/v1/pods?labelSelector=app%3Ddns&limit=5');
    expect(seen.headers.authorization).toBe(`Bearer ${alpha.token}`);
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers['x-cluster-name']).toBeUndefined();
    expect(seen.headers.accept).toBe('application/json;as=Table');
    expect(seen.headers['user-agent']).toBe('kubectl/v1.32');
    expect(seen.headers.host).toBe(new URL(alpha.server).host);
  });

  it("relays the cluster's response fields as sent, repeats and spelling kept, without hop-by-hop ones", async () => {
    const raw = await new Promise<string[]>((resolve, reject) => {
      httpRequest(base + '/k8s/beta/headers', { headers: { authorization: `Bearer ${adminToken}` } }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.rawHeaders));
      })
        .once('error', reject)
        .end();
    });
    const fields = (name: string) => raw.filter((v, i) => i % 2 === 0 && v.toLowerCase() === name);
    const values = (name: string) => raw.flatMap((v, i) => (i % 2 === 1 && raw[i - 1]!.toLowerCase() === name ? [v] : []));
    expect(values('set-cookie')).toEqual(['a=1', 'b=2']);
    expect(values('warning')).toEqual(['199 - "one"', '199 - "two"']);
    expect(fields('x-mixed-case')).toEqual(['X-Mixed-Case']);
    expect(values('x-mixed-case')).toEqual(['v']);
    expect(values('proxy-authenticate')).toEqual([]);
    expect(values('trailer')).toEqual([]);
    expect(values('upgrade')).toEqual([]);
    // fleetgate's own keep-alive for the caller's connection, not the cluster's.
    expect(values('keep-alive')).not.toContain('timeout=99');
  });

  it('authenticates with a client certificate held by the agent', async () => {
    const r = await call('GET', '/k8s/gamma/api/v1/namespaces');
    expect(r.status).toBe(200);
    expect(clusterOf(r.json())).toEqual(['gamma']);
    expect(gamma.seen.at(-1)!.clientCert).toBe(true);
    expect(gamma.seen.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('streams request bodies up and responses down', async () => {
    const payload = JSON.stringify({ data: 'y'.repeat(100_000) }); // far above bodyLimit: /k8s has none
    const echo = await call('POST', '/k8s/beta/echo', { body: payload });
    expect(echo.status).toBe(200);
    expect(echo.text).toBe(payload);
    // The stream endpoint sends its first chunk, then holds the rest until the gate opens: the
    // first chunk must reach the caller while the gate is still shut (nothing buffered).
    const rest = gate();
    beta.fault.streamGate = rest.opened;
    try {
      const res = await fetch(base + '/k8s/beta/stream', { headers: { authorization: `Bearer ${adminToken}` } });
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(Buffer.from(first.value!).toString()).toBe('chunk 0\n');
      rest.open();
      let after = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        after += Buffer.from(value).toString();
      }
      expect(after).toBe('chunk 1\nchunk 2\n');
    } finally {
      rest.open();
      beta.fault.streamGate = undefined;
    }
  });

  it('a chunked body with Expect: 100-continue goes up chunked and whole; a refused cluster still answers 502', async () => {
    // Sends `pieces` as a chunked body (no Content-Length), resolving with status and body text.
    const send = (path: string, pieces: string[]) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(base + path, {
          method: 'PUT',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'text/plain', expect: '100-continue' },
        });
        req.on('continue', () => {
          for (const p of pieces) req.write(p);
          req.end();
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.flushHeaders();
      });
    const pieces = ['one ', 'two '.repeat(5000), 'three'];
    const echo = await send('/k8s/beta/echo', pieces);
    expect(echo).toEqual({ status: 200, text: pieces.join('') });
    const seen = beta.seen.at(-1)!;
    expect(seen.headers['transfer-encoding']).toBe('chunked');
    expect(seen.headers.expect).toBeUndefined();
    const refused = await send('/k8s/refused/echo', pieces);
    expect(refused.status).toBe(502);
    expect(JSON.parse(refused.text)).toMatchObject({ kind: 'Status', code: 502 });
  });

  it('passes upstream statuses through and creates/deletes as admin', async () => {
    const created = await call('POST', '/k8s/beta/api/v1/namespaces/team-a/configmaps', { json: { kind: 'ConfigMap', metadata: { name: 'made' } } });
    expect(created.status).toBe(201);
    expect((await call('GET', '/k8s/beta/api/v1/namespaces/team-a/configmaps/made')).status).toBe(200);
    expect((await call('DELETE', '/k8s/beta/api/v1/namespaces/team-a/configmaps/made')).status).toBe(200);
    const gone = await call('GET', '/k8s/beta/api/v1/namespaces/team-a/configmaps/made');
    expect(gone.status).toBe(404);
    expect(gone.json().kind).toBe('Status');
  });

  it('viewers may only read', async () => {
    const viewer = store.tokens.create({ name: 'v-k8s', role: 'viewer', clusters: ['beta'] }).token;
    expect((await call('GET', '/k8s/beta/api/v1/namespaces', { token: viewer })).status).toBe(200);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const r = await call(method, '/k8s/beta/api/v1/namespaces/team-a/configmaps/settings', { token: viewer, json: {} });
      expect(r.status).toBe(403);
      expect(r.json()).toMatchObject({ error: expect.stringMatching(/viewer/), kind: 'Status', reason: 'Forbidden', code: 403 });
    }
    const n = beta.seen.length;
    await call('GET', '/k8s/beta/api/v1/namespaces', { token: viewer, headers: { 'impersonate-user': 'system:admin' } });
    expect(beta.seen.length).toBe(n + 1);
    expect(beta.seen.at(-1)!.headers['impersonate-user']).toBeUndefined();
  });

  it('a hanging cluster answers 504 within the timeout while other clusters keep answering', async () => {
    alpha.fault.hang = true;
    try {
      const seen = alpha.seen.length;
      let settled = 0;
      const hung = call('GET', '/k8s/alpha/api/v1/pods').finally(() => settled++);
      const hungApi = call('GET', '/api/v1/pods').finally(() => settled++);
      // Both are with alpha, unanswered; meanwhile beta answers, many times, before either of
      // them has its 504.
      await alpha.seenCount(seen + 2);
      for (let i = 0; i < 10; i++) expect((await call('GET', '/k8s/beta/api/v1/namespaces')).status).toBe(200);
      expect(settled).toBe(0);
      const [r1, r2] = await Promise.all([hung, hungApi]);
      expect(r1.status).toBe(504);
      expect(r1.json().error).toMatch(/did not answer within 1500 ms/);
      expect(r2.status).toBe(504);
    } finally {
      alpha.fault.hang = false;
    }
  });
});

describe('upstream client cache', () => {
  it('reuses one pool and its connections for a cluster', async () => {
    const before = handle.clientCache.stats();
    const conns = beta.connections();
    await call('GET', '/k8s/beta/api/v1/namespaces');
    const pool = handle.clientCache.peek(ids.beta!)!.pool;
    for (let i = 0; i < 20; i++) await call('GET', '/k8s/beta/api/v1/namespaces');
    await Promise.all(Array.from({ length: 10 }, () => call('GET', '/api/v1/pods', { headers: { 'x-cluster-name': 'beta' } })));
    expect(handle.clientCache.peek(ids.beta!)!.pool).toBe(pool);
    const after = handle.clientCache.stats();
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(30);
    expect(after.misses).toBe(before.misses);
    // Sequential requests ride one keep-alive connection; concurrent ones at most a few more.
    expect(beta.connections() - conns).toBeLessThanOrEqual(11);
  });

  it('makes a new agent when the entry generation changes and destroys the old one', async () => {
    await call('GET', '/k8s/beta/api/v1/namespaces');
    const old = handle.clientCache.peek(ids.beta!)!;
    // Same config, new description: generation unchanged, same client.
    await call('PUT', `/api/v1/admin/clusters/${ids.beta}`, { json: { description: 'same config' } });
    await call('GET', '/k8s/beta/api/v1/namespaces');
    expect(handle.clientCache.peek(ids.beta!)).toBe(old);
    // New config: new generation, new client; the old one is destroyed (nothing in flight).
    const r = await call('PUT', `/api/v1/admin/clusters/${ids.beta}`, { json: { config: fakeConfig({ server: beta.server, token: beta.token, version: 'v1.31.0' }) } });
    expect(r.json().version).toBe('v1.31.0');
    const misses = handle.clientCache.stats().misses;
    expect((await call('GET', '/k8s/beta/api/v1/namespaces')).status).toBe(200);
    const fresh = handle.clientCache.peek(ids.beta!)!;
    expect(fresh).not.toBe(old);
    expect(fresh.generation).toBe(old.generation + 1);
    expect(old.destroyed).toBe(true);
    expect(handle.clientCache.stats().misses).toBe(misses + 1);
  });

  it('keeps a replaced agent alive until its in-flight request finishes', async () => {
    const answers = gate();
    try {
      await call('GET', '/k8s/beta/api/v1/namespaces');
      const old = handle.clientCache.peek(ids.beta!)!;
      // beta holds its answers until the gate opens: the first request is in flight on `old`
      // once beta has it.
      beta.fault.hold = answers.opened;
      const seen = beta.seen.length;
      const inflight = call('GET', '/k8s/beta/api/v1/namespaces');
      await beta.seenCount(seen + 1);
      store.clusters.update(ids.beta!, { config: fakeConfig({ server: beta.server, token: beta.token, version: 'v1.31.1' }) });
      sync.syncNow();
      // The second request reaches beta on the new client, so the app has replaced `old` by now.
      const second = call('GET', '/k8s/beta/api/v1/namespaces');
      await beta.seenCount(seen + 2);
      expect(handle.clientCache.peek(ids.beta!)).not.toBe(old);
      expect(old.retired).toBe(true);
      expect(old.destroyed).toBe(false);
      answers.open();
      expect((await inflight).status).toBe(200);
      expect((await second).status).toBe(200);
      expect(old.destroyed).toBe(true);
    } finally {
      answers.open();
      beta.fault.hold = undefined;
    }
  });

  it('closes the agents of clusters that vanished', async () => {
    const id = store.clusters.create({ name: 'zeta', config: fakeConfig({ server: beta.server, token: beta.token }) }).id;
    sync.syncNow();
    expect((await call('GET', '/k8s/zeta/api/v1/namespaces')).status).toBe(200);
    const z = handle.clientCache.peek(id)!;
    // zeta's pool holds one idle keep-alive connection; destroying the client closes it.
    const disconnected = once(z.pool, 'disconnect');
    store.clusters.delete(id);
    sync.syncNow();
    // Any request notices the new index generation and schedules the sweep (at most a second
    // away; the idle connection would last 4 s), which retires zeta's client and destroys it.
    await call('GET', '/k8s/beta/api/v1/namespaces');
    const [, , err] = await disconnected;
    expect(z.destroyed).toBe(true);
    expect((err as { code?: string }).code).toBe('UND_ERR_DESTROYED');
    expect(handle.clientCache.peek(id)).toBeUndefined();
  });
});

describe('secrets', () => {
  it('no response body or log line carries a cluster token, key or certificate', () => {
    const secrets = [alpha.token, beta.token, gamma.token, 'refused-secret-token', tlsFixtures.clientKey, tlsFixtures.clientCert, tlsFixtures.ca]
      .flatMap((s) => (s.includes('-----BEGIN') ? s.split('\n').filter((l) => l.length > 40 && !l.startsWith('-----')) : [s]));
    expect(bodies.length).toBeGreaterThan(50);
    for (const text of [...bodies, ...logs]) {
      for (const s of secrets) expect(text.includes(s), `leaked ${s.slice(0, 12)}… in ${text.slice(0, 200)}`).toBe(false);
    }
  });
});
