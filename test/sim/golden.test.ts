/**
 * Golden digests of the simulator: what it generates and what it answers, pinned as SHA-256
 * constants, so that a refactoring of generate.ts or of the request path provably changes
 * nothing a client sees. A change that is meant to alter objects or answers updates the
 * constant in the same commit, and says why.
 *
 * - Generated objects: a few clusters of different sizes and seeds, each object in a canonical
 *   JSON (keys sorted), in generation order.
 * - Answers: a fixed sequence of REST calls against a started simulator (discovery, lists of every
 *   resource, get, Table, selectors and paging, logs, a watch's first events, errors, and a few
 *   writes), each as status, content type and body. Date is frozen so Table ages and written
 *   creationTimestamps do not move; written objects' uids (random) are masked.
 */
import https from 'node:https';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateCluster } from '../../src/sim/generate.js';
import { kResources } from '../../src/sim/resources.js';
import { startSimulator, type SimCluster, type Simulator } from '../../src/sim/index.js';
import { req, type ReqOpts } from './helpers.js';

/** Keys sorted at every level; undefined members dropped, as JSON.stringify drops them. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Sizes that reach every branch of the generator: empty, tiny, no room for nginx, many namespaces and nodes. */
const kGoldenClusters: [name: string, seed: number, pods: number, version: string][] = [
  ['sim-0001', 1, 20, 'v1.28.0'],
  ['sim-0002', 7, 60, 'v1.29.0'],
  ['empty', 3, 0, 'v1.30.1'],
  ['tiny', 3, 5, 'v1.31.0'],
  ['edge', 11, 700, 'v1.30.2'],
  ['big', 42, 2500, 'v1.31.4'],
];

const kGeneratedObjects = 12376;
const kGeneratedDigest = '1a60dcd80cd478cf576ee0abd24813b6cd908f6f2c8e6301a6c9ff6f7ce8be38';
const kAnswersDigest = '082d25c1d64b9b2bab24587065013585c85d075b7a7a6979b8c149afd32d9949';

describe('golden: generated objects', () => {
  it('the objects generated for fixed seeds are unchanged', () => {
    const h = createHash('sha256');
    let objects = 0;
    for (const [name, seed, pods, version] of kGoldenClusters) {
      const objs = generateCluster(name, seed, pods, version);
      expect(objs.filter((o) => o.key === 'pods').length, name).toBe(pods);
      for (const o of objs) h.update(`${name} ${o.key} ${canonical(o.obj)}\n`);
      objects += objs.length;
    }
    const digest = h.digest('hex');
    expect({ objects, digest }).toEqual({ objects: kGeneratedObjects, digest: kGeneratedDigest });
  });
});

/** The first `n` lines of a watch stream, then the connection is dropped. */
function watchLines(c: SimCluster, path: string, n: number): Promise<{ status: number; type: string; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const r = https.get({ host: '127.0.0.1', port: c.port, path, headers: { authorization: `Bearer ${c.token}` }, ca: c.caPem, agent: false }, (res) => {
      let buf = '';
      const lines: string[] = [];
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i: number;
        while (lines.length < n && (i = buf.indexOf('\n')) >= 0) {
          lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
        if (lines.length >= n) {
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), lines });
          r.destroy();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), lines }));
    });
    r.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
    });
  });
}

describe('golden: REST answers', () => {
  let sim: Simulator;
  let a: SimCluster;
  let b: SimCluster;
  beforeAll(async () => {
    sim = await startSimulator({ clusters: 2, seed: 5, podsPerCluster: 40, podsByCluster: { 'sim-0002': 12 } });
    [a, b] = sim.clusters;
    // After start: the CA's validity is taken from the real clock.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2025, 6, 1, 12, 0, 0) });
  });
  afterAll(async () => {
    vi.useRealTimers();
    await sim?.stop();
  });

  it('a fixed sequence of calls answers as before', async () => {
    const transcript: string[] = [];
    const call = async (c: SimCluster, path: string, o: ReqOpts = {}) => {
      const r = await req(c, path, o);
      transcript.push(`${o.method ?? 'GET'} ${c.name}${path} -> ${r.status} ${r.headers['content-type']} ${r.headers['x-fleetgate-cluster']}\n${r.text}`);
      return r;
    };
    const table = 'application/json;as=Table;v=v1;g=meta.k8s.io';

    // Discovery and version.
    for (const p of ['/version', '/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/apis/rbac.authorization.k8s.io/v1']) await call(a, p);
    // Every resource, listed on both clusters.
    for (const c of [a, b]) {
      for (const r of kResources) await call(c, `${r.group ? `/apis/${r.groupVersion}` : '/api/v1'}/${r.plural}`);
    }
    // Get, scoped lists, selectors, paging, Table, logs.
    const dep = (await call(a, '/apis/apps/v1/deployments')).json.items[0];
    await call(a, `/apis/apps/v1/namespaces/${dep.metadata.namespace}/deployments/${dep.metadata.name}`);
    await call(a, `/apis/apps/v1/namespaces/${dep.metadata.namespace}/deployments/${dep.metadata.name}/scale`);
    await call(a, '/api/v1/namespaces/kube-system/pods');
    await call(a, '/api/v1/pods?labelSelector=tier%3Dfrontend');
    await call(a, '/api/v1/pods?fieldSelector=status.phase%21%3DRunning');
    const page = await call(a, '/api/v1/pods?limit=7');
    await call(a, `/api/v1/pods?limit=7&continue=${encodeURIComponent(page.json.metadata.continue)}`);
    await call(a, '/api/v1/pods', { accept: table });
    await call(a, '/api/v1/nodes?limit=2', { accept: table });
    await call(a, '/apis/apps/v1/deployments?includeObject=Object', { accept: table });
    const pod = page.json.items[0];
    await call(a, `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, { accept: table });
    await call(a, `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/log?tailLines=3`);
    // Watches: initial events without a resourceVersion, and a replay from a kept one.
    const w1 = await watchLines(a, '/api/v1/namespaces/kube-system/pods?watch=true', 3);
    transcript.push(`WATCH pods -> ${w1.status} ${w1.type}\n${w1.lines.join('\n')}`);
    // Errors.
    await call(a, '/api/v1/namespaces/default/pods/nope');
    await call(a, '/apis/apps/v2/deployments');
    await call(a, '/nope');
    await call(a, '/api/v1/pods', { token: null });
    await call(a, '/api/v1/secrets', { token: a.viewerToken });
    await call(a, '/api/v1/pods?labelSelector=%3D%3D');
    await call(a, '/api/v1/pods?continue=garbage');
    // Writes, in order: create, conflict, invalid, patch, replace, scale, viewer write, delete.
    const cm = '/api/v1/namespaces/default/configmaps';
    const created = await call(a, cm, { method: 'POST', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'golden', labels: { t: 'g' } }, data: { k: 'v' } } });
    await call(a, cm, { method: 'POST', body: { metadata: { name: 'golden' } } });
    await call(a, cm, { method: 'POST', body: { metadata: { name: 'Not_Valid' } } });
    await call(a, cm, { method: 'POST', body: '{not json' });
    await call(a, '/api/v1/namespaces/nowhere/configmaps', { method: 'POST', body: { metadata: { name: 'x' } } });
    await call(a, `${cm}/golden`, { method: 'PATCH', body: { data: { k2: 'v2' } }, contentType: 'application/merge-patch+json' });
    await call(a, `${cm}/golden`, { method: 'PATCH', body: [{ op: 'add', path: '/data/k3', value: 'v3' }], contentType: 'application/json-patch+json' });
    await call(a, `${cm}/golden`, { method: 'PUT', body: { ...created.json, data: { stale: 'yes' } } });
    await call(a, `${cm}/golden`, { method: 'PUT', body: { metadata: { name: 'golden', labels: { t: 'g' } }, data: { k: 'replaced' } } });
    await call(a, `${cm}?dryRun=All`, { method: 'POST', body: { metadata: { name: 'golden-dry' } } });
    await call(a, `/apis/apps/v1/namespaces/${dep.metadata.namespace}/deployments/${dep.metadata.name}/scale`, { method: 'PATCH', body: { spec: { replicas: 5 } }, contentType: 'application/merge-patch+json' });
    await call(a, `/apis/apps/v1/namespaces/${dep.metadata.namespace}/deployments/${dep.metadata.name}`);
    await call(a, `${cm}/golden`, { method: 'DELETE', token: a.viewerToken });
    const w2 = await watchLines(a, `${cm}?watch=true&resourceVersion=${created.json.metadata.resourceVersion}`, 3);
    expect(w2.lines.map((l) => JSON.parse(l).type)).toEqual(['MODIFIED', 'MODIFIED', 'MODIFIED']);
    transcript.push(`WATCH configmaps -> ${w2.status} ${w2.type}\n${w2.lines.join('\n')}`);
    await call(a, `${cm}/golden`, { method: 'DELETE' });
    await call(a, `${cm}?labelSelector=t%3Dg`, { method: 'DELETE' });
    const ns = await call(a, '/api/v1/namespaces', { method: 'POST', body: { metadata: { name: 'golden-ns' } } });
    await call(a, '/api/v1/namespaces/golden-ns', { method: 'DELETE' });
    await call(b, '/api/v1/namespaces/web/pods', { method: 'DELETE' });

    // Written objects get random uids (and dry runs a fresh one each): mask them.
    let text = transcript.join('\n\n');
    const dry = transcript.find((t) => t.startsWith('POST sim-0001/api/v1/namespaces/default/configmaps?dryRun=All'))!;
    for (const uid of [created.json.metadata.uid, ns.json.metadata.uid, JSON.parse(dry.slice(dry.indexOf('\n') + 1)).metadata.uid]) {
      expect(uid).toMatch(/^[0-9a-f-]{36}$/);
      text = text.replaceAll(uid, '<random uid>');
    }
    expect(transcript.length).toBeGreaterThan(60);
    expect(sha256(text)).toBe(kAnswersDigest);
  });
});
