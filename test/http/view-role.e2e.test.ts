/**
 * Attacker's walk of every route that reaches a cluster with a viewer token, through the real
 * server (`fleetgate serve`, a child process) in front of the simulator (in this process, so its
 * request counter shows whether a refused request reached the cluster at all).
 *
 * A viewer gets exactly Kubernetes' `view` role (src/access/view-role.ts): each forbidden request
 * answers 403 and the cluster sees no request; each allowed one answers 200. Paths that could be
 * read two ways answer 400 for any token and are never forwarded. Admins keep what they had.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { eventually, startServer, type ServerHandle } from '../helpers/server.js';

let sim: Simulator;
let server: ServerHandle;
let dir: string;
let viewer: string;
let cluster: string;
let ns: string;
let pod: string;

/** One raw request: node:http sends the path byte for byte (fetch would resolve dot segments). */
function raw(method: string, path: string, token: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: '127.0.0.1', port: server.port, method, path, headers: { authorization: `Bearer ${token}`, ...headers } });
    r.on('response', (res) => {
      // A watch that was let through stays open: its status is the answer; stop reading.
      if (res.statusCode === 200 && /[?&]watch=(1|true)/.test(path)) {
        res.destroy();
        return resolve({ status: 200, body: '' });
      }
      let body = '';
      res.on('data', (c) => (body += String(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

beforeAll(async () => {
  sim = await startSimulator({ clusters: 2, podsPerCluster: 4 });
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-view-'));
  const kc = join(dir, 'sim.kubeconfig');
  writeFileSync(kc, sim.kubeconfig());
  server = await startServer(['--kubeconfig', kc, '--workers', '1']);
  await eventually(async () => {
    const list = (await server.get('/api/v1/clusters')).json() as { name: string; state: string }[];
    return list.length === 2 && list.every((c) => c.state === 'ok');
  }, 30_000);
  cluster = sim.clusters[0]!.name;
  viewer = (await server.send('POST', '/api/v1/admin/tokens', { name: 'attacker', role: 'viewer', clusters: ['*'] })).json().token;
  const pods = JSON.parse((await raw('GET', `/k8s/${cluster}/api/v1/pods?limit=1`, server.token)).body);
  ns = pods.items[0].metadata.namespace;
  pod = pods.items[0].metadata.name;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The /k8s paths (after /k8s/NAME) `view` does not grant, for GET. */
const forbiddenK8s = (): string[] => [
  // secrets: list, get, watch, old watch prefix, all namespaces, encoded letters, case
  '/api/v1/secrets',
  '/api/v1/secrets?watch=1',
  '/api/v1/watch/secrets',
  `/api/v1/namespaces/${ns}/secrets`,
  `/api/v1/namespaces/${ns}/secrets/default-token`,
  `/api/v1/namespaces/${ns}/secrets?watch=true`,
  `/api/v1/watch/namespaces/${ns}/secrets`,
  '/api/v1/%73ecrets',
  `/api/v1/namespaces/${ns}/%73%65crets/x`,
  `/api/v1/namespaces/${ns}/Secrets`,
  '/api/v1/secrets/',
  // proxy subresources and the old proxy verb
  '/api/v1/nodes/node-1/proxy/metrics',
  `/api/v1/namespaces/${ns}/pods/${pod}/proxy`,
  `/api/v1/namespaces/${ns}/pods/${pod}/proxy/some/path`,
  `/api/v1/namespaces/${ns}/services/web/proxy/`,
  `/api/v1/namespaces/${ns}/services/https:web:443/proxy`,
  `/api/v1/proxy/namespaces/${ns}/pods/${pod}`,
  `/api/v1/namespaces/${ns}/pods/${pod}/%70roxy`,
  // credentials and command execution
  `/api/v1/namespaces/${ns}/serviceaccounts/default/token`,
  `/api/v1/namespaces/${ns}/pods/${pod}/exec?command=ls`,
  `/api/v1/namespaces/${ns}/pods/${pod}/attach`,
  `/api/v1/namespaces/${ns}/pods/${pod}/portforward?ports=80`,
  '/apis/authentication.k8s.io/v1/tokenreviews',
  '/apis/authorization.k8s.io/v1/subjectaccessreviews',
  // outside view: nodes, cluster RBAC, storage, non-resource URLs
  '/api/v1/nodes',
  '/api/v1/nodes?watch=1',
  '/api/v1/persistentvolumes',
  '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
  '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  '/',
  '/metrics',
  '/logs/',
  '/debug/pprof/',
];

describe('a viewer gets Kubernetes view and no more', () => {
  it('403 for every forbidden /k8s read, through the fast path and the Express route, and the cluster never sees it', async () => {
    const before = sim.stats().requests;
    const answers: string[] = [];
    for (const prefix of ['/k8s/', '/K8S/']) {
      for (const p of forbiddenK8s()) {
        const r = await raw('GET', `${prefix}${cluster}${p}`, viewer);
        answers.push(`${r.status} GET ${prefix}…${p}`);
        if (r.status === 403) expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
      }
    }
    expect(answers.filter((a) => !a.startsWith('403 '))).toEqual([]);
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      expect((await raw(m, `/k8s/${cluster}/apis/authentication.k8s.io/v1/tokenreviews`, viewer)).status).toBe(403);
      expect((await raw(m, `/k8s/${cluster}/api/v1/namespaces/${ns}/serviceaccounts/default/token`, viewer)).status).toBe(403);
    }
    expect(sim.stats().requests).toBe(before);
  });

  it('403 on the resource routes for kinds view does not grant, by header, query and namespace', async () => {
    const before = sim.stats().requests;
    for (const p of ['/api/v1/secrets', `/api/v1/secrets/${ns}`, `/api/v1/secrets/${ns}/x`, '/api/v1/nodes', '/api/v1/persistentvolumes', '/api/v1/clusterroles', '/api/v1/customresourcedefinitions', `/api/v1/secrets?x-cluster-name=${cluster}`]) {
      const r = await raw('GET', p, viewer, { 'x-cluster-name': sim.clusters[1]!.name });
      expect([p, r.status]).toEqual([p, 403]);
    }
    expect((await raw('GET', '/api/v1/fleet/search?q=a&kinds=secrets', viewer)).status).toBe(403);
    expect((await raw('GET', '/api/v1/fleet/search?q=a&kinds=nodes', viewer)).status).toBe(403);
    expect((await raw('GET', '/api/v1/fleet/search?q=a&kinds=pods,SECRETS', viewer)).status).toBe(403);
    expect(sim.stats().requests).toBe(before);
  });

  it('200 for what view grants: discovery, reads, watches and logs, on every route', async () => {
    const allowed = [
      '/api',
      '/apis',
      '/version',
      '/api/v1',
      '/apis/apps/v1',
      '/api/v1/namespaces',
      '/api/v1/pods',
      '/api/v1/pods?watch=1',
      `/api/v1/namespaces/${ns}/pods/${pod}`,
      `/api/v1/namespaces/${ns}/pods/${pod}/log`,
      `/api/v1/namespaces/${ns}/configmaps`,
      '/apis/apps/v1/deployments',
    ];
    for (const p of allowed) {
      const r = await raw('GET', `/k8s/${cluster}${p}`, viewer);
      expect([p, r.status]).toEqual([p, 200]);
    }
    for (const p of ['/api/v1/pods', '/api/v1/configmaps', '/api/v1/deployments', '/api/v1/namespaces', `/api/v1/pods/${ns}/${pod}`]) {
      expect([p, (await raw('GET', p, viewer)).status]).toEqual([p, 200]);
    }
    const search = await raw('GET', '/api/v1/fleet/search?q=a&limit=1000', viewer);
    expect(search.status).toBe(200);
    const s = JSON.parse(search.body);
    expect(s.kinds).not.toContain('secrets');
    expect(s.kinds).not.toContain('nodes');
    expect(s.items.some((i: { kind: string }) => i.kind === 'secrets' || i.kind === 'nodes')).toBe(false);
    // Overviews count what view may read; node counts are withheld, not zero.
    const one = JSON.parse((await raw('GET', '/api/v1/overview', viewer)).body);
    expect(one).toMatchObject({ totalNodes: null, readyNodes: null, totalPods: expect.any(Number) });
    const fleet = JSON.parse((await raw('GET', '/api/v1/fleet/overview', viewer)).body);
    expect(fleet.totals).toMatchObject({ totalNodes: null, readyNodes: null, answered: 2 });
  });

  it('admins keep everything: secrets, nodes, node counts', async () => {
    expect((await raw('GET', `/k8s/${cluster}/api/v1/secrets`, server.token)).status).toBe(200);
    expect((await raw('GET', '/api/v1/secrets', server.token)).status).toBe(200);
    expect((await raw('GET', '/api/v1/nodes', server.token)).status).toBe(200);
    const one = JSON.parse((await raw('GET', '/api/v1/overview', server.token)).body);
    expect(one.totalNodes).toBeGreaterThan(0);
    const search = JSON.parse((await raw('GET', '/api/v1/fleet/search?q=a&limit=1000', server.token)).body);
    expect(search.kinds).toContain('secrets');
  });
});

describe('paths that could be read two ways', () => {
  const ambiguous = [
    `/api/v1/namespaces/NS/pods/../../secrets`,
    '/api/v1/./secrets',
    '/api/v1/namespaces/NS/pods/%2e%2e/%2E%2E/secrets',
    '/api/v1/namespaces/NS/configmaps/%2e',
    '/api%2Fv1/secrets',
    '/api/v1/namespaces/NS/configmaps/a%2fb',
    '/api/v1/namespaces/NS/configmaps/a%5cb',
    '//api/v1/secrets',
    '/api/v1//secrets',
    '/api/v1/%zz',
    '/..',
    '/../../etc/passwd',
  ];
  it('400 for any token, through both routes, and nothing is forwarded', async () => {
    const before = sim.stats().requests;
    for (const token of [viewer, server.token]) {
      for (const prefix of ['/k8s/', '/K8S/']) {
        for (const p of ambiguous) {
          const path = `${prefix}${cluster}${p.replace('NS', ns)}`;
          const r = await raw('GET', path, token);
          expect([path, r.status]).toEqual([path, 400]);
        }
      }
    }
    expect(sim.stats().requests).toBe(before);
  });
});
