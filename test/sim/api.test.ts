import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, kClusterAnnotation, type Simulator, type SimCluster } from '../../src/sim/index.js';
import { generateCluster } from '../../src/sim/generate.js';
import { req } from './helpers.js';

let sim: Simulator;
let a: SimCluster;
let b: SimCluster;

beforeAll(async () => {
  sim = await startSimulator({ clusters: 2, podsPerCluster: 60, seed: 7, podsByCluster: { 'sim-0002': 30 } });
  [a, b] = sim.clusters;
});
afterAll(async () => {
  await sim?.stop();
});

describe('identity and discovery', () => {
  it('names clusters deterministically and gives each its own server, token and version', () => {
    expect(sim.clusters.map((c) => c.name)).toEqual(['sim-0001', 'sim-0002']);
    expect(a.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(a.port).not.toBe(b.port);
    expect(a.token).not.toBe(b.token);
    expect(a.version).not.toBe(b.version);
  });

  it('/version answers each cluster its own gitVersion', async () => {
    const va = await req(a, '/version');
    const vb = await req(b, '/version');
    expect(va.status).toBe(200);
    expect(va.json.gitVersion).toBe(a.version);
    expect(vb.json.gitVersion).toBe(b.version);
    expect(va.json.major).toBe('1');
    expect(va.json.minor).toBe(a.version.split('.')[1]);
  });

  it('serves discovery documents for every group', async () => {
    const api = await req(a, '/api');
    expect(api.json).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const v1 = await req(a, '/api/v1');
    expect(v1.json.kind).toBe('APIResourceList');
    const names = v1.json.resources.map((r: any) => r.name);
    for (const n of ['namespaces', 'nodes', 'pods', 'services', 'endpoints', 'configmaps', 'secrets', 'events', 'serviceaccounts', 'persistentvolumes', 'persistentvolumeclaims']) {
      expect(names).toContain(n);
    }
    const apis = await req(a, '/apis');
    expect(apis.json.kind).toBe('APIGroupList');
    const groups = apis.json.groups.map((g: any) => g.name).sort();
    expect(groups).toEqual(['apiextensions.k8s.io', 'apps', 'batch', 'networking.k8s.io', 'rbac.authorization.k8s.io', 'storage.k8s.io']);
    for (const g of groups) {
      const doc = await req(a, `/apis/${g}/v1`);
      expect(doc.status).toBe(200);
      expect(doc.json.groupVersion).toBe(`${g}/v1`);
      expect(doc.json.resources.length).toBeGreaterThan(0);
      expect((await req(a, `/apis/${g}`)).json.kind).toBe('APIGroup');
    }
    const apps = await req(a, '/apis/apps/v1');
    expect(apps.json.resources.map((r: any) => r.name)).toEqual(expect.arrayContaining(['deployments', 'replicasets', 'statefulsets', 'daemonsets']));
  });

  it('answers unknown paths and openapi with a 404 Status', async () => {
    for (const p of ['/openapi/v2', '/openapi/v3', '/apis/apps/v2/deployments', '/api/v1/widgets', '/nope']) {
      const r = await req(a, p);
      expect(r.status, p).toBe(404);
      expect(r.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    }
  });
});

describe('authentication and authorization', () => {
  it('401 for a missing or wrong token, with a Status body', async () => {
    for (const token of [null, 'wrong', b.token]) {
      const r = await req(a, '/api/v1/namespaces', { token });
      expect(r.status).toBe(401);
      expect(r.json).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    }
    expect((await req(a, '/version', { token: null })).status).toBe(401);
    expect((await req(a, '/healthz', { token: null })).text).toBe('ok');
  });

  it('403 for the viewer token on writes and secrets, reads otherwise allowed', async () => {
    const v = { token: a.viewerToken };
    expect((await req(a, '/api/v1/pods', v)).status).toBe(200);
    const secrets = await req(a, '/api/v1/namespaces/default/secrets', v);
    expect(secrets.status).toBe(403);
    expect(secrets.json).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    const create = await req(a, '/api/v1/namespaces/default/configmaps', { ...v, method: 'POST', body: { metadata: { name: 'x' } } });
    expect(create.status).toBe(403);
    expect(create.json.message).toContain(`User "viewer@${a.name}" cannot create resource "configmaps"`);
  });
});

describe('lists', () => {
  it('every object of every kind carries its cluster name', async () => {
    const v1 = (await req(a, '/api/v1')).json.resources.filter((r: any) => !r.name.includes('/'));
    const paths = v1.map((r: any) => `/api/v1/${r.name}`);
    for (const g of (await req(a, '/apis')).json.groups) {
      const doc = (await req(a, `/apis/${g.name}/v1`)).json;
      for (const r of doc.resources) if (!r.name.includes('/')) paths.push(`/apis/${g.name}/v1/${r.name}`);
    }
    expect(paths.length).toBe(24);
    for (const [c, p] of [a, b].flatMap((c) => paths.map((p: string) => [c, p] as const))) {
      const r = await req(c, p);
      expect(r.status, p).toBe(200);
      expect(r.json.items.length, `${c.name} ${p} has objects`).toBeGreaterThan(0);
      for (const item of r.json.items) expect(item.metadata.annotations[kClusterAnnotation], p).toBe(c.name);
      expect(r.json.kind).toMatch(/List$/);
      expect(r.json.metadata.resourceVersion).toMatch(/^\d+$/);
    }
  });

  it('generates exactly the requested pods, ready and not-ready nodes, several phases', async () => {
    const pods = (await req(a, '/api/v1/pods')).json.items;
    expect(pods.length).toBe(60);
    expect((await req(b, '/api/v1/pods')).json.items.length).toBe(30);
    const phases = new Set(pods.map((p: any) => p.status.phase));
    expect(phases.has('Running')).toBe(true);
    expect(phases.size).toBeGreaterThanOrEqual(3);
    expect(pods.filter((p: any) => p.spec.nodeName).length).toBeGreaterThan(pods.length / 2);
    const nodes = (await req(a, '/api/v1/nodes')).json.items;
    const ready = nodes.filter((n: any) => n.status.conditions.find((c: any) => c.type === 'Ready').status === 'True');
    expect(ready.length).toBeGreaterThan(0);
    expect(ready.length).toBeLessThan(nodes.length);
  });

  it('cluster-scope lists are the union of namespace-scope lists, in namespace/name order', async () => {
    const all = (await req(a, '/api/v1/pods')).json.items;
    const nss = (await req(a, '/api/v1/namespaces')).json.items.map((n: any) => n.metadata.name);
    const union: any[] = [];
    for (const ns of nss) union.push(...(await req(a, `/api/v1/namespaces/${ns}/pods`)).json.items);
    const key = (p: any) => `${p.metadata.namespace}/${p.metadata.name}`;
    expect(union.map(key).sort()).toEqual(all.map(key));
    expect(all.map(key)).toEqual([...all.map(key)].sort());
    expect((await req(a, '/api/v1/namespaces/does-not-exist/pods')).json.items).toEqual([]);
  });

  it('labelSelector: =, ==, !=, in, notin, exists, !exists', async () => {
    const all = (await req(a, '/api/v1/pods')).json.items;
    const sel = async (s: string) => (await req(a, `/api/v1/pods?labelSelector=${encodeURIComponent(s)}`)).json.items.map((p: any) => p.metadata.name);
    const names = (f: (l: Record<string, string>) => boolean) => all.filter((p: any) => f(p.metadata.labels ?? {})).map((p: any) => p.metadata.name);
    const app = all.find((p: any) => p.metadata.namespace !== 'kube-system').metadata.labels.app;
    expect(await sel(`app=${app}`)).toEqual(names((l) => l.app === app));
    expect(await sel(`app==${app}`)).toEqual(names((l) => l.app === app));
    expect(await sel(`app!=${app}`)).toEqual(names((l) => l.app !== app));
    expect(await sel('tier in (frontend)')).toEqual(names((l) => l.tier === 'frontend'));
    expect(await sel('env notin (prod,staging)')).toEqual(names((l) => l.env !== 'prod' && l.env !== 'staging'));
    expect(await sel('pod-template-hash')).toEqual(names((l) => 'pod-template-hash' in l));
    expect(await sel('!pod-template-hash')).toEqual(names((l) => !('pod-template-hash' in l)));
    expect(await sel(`tier=backend,env in (prod)`)).toEqual(names((l) => l.tier === 'backend' && l.env === 'prod'));
    expect((await sel('pod-template-hash')).length).toBeGreaterThan(0);
    const bad = await req(a, `/api/v1/pods?labelSelector=${encodeURIComponent('app in (a')}`);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
  });

  it('fieldSelector: metadata.name, metadata.namespace, spec.nodeName, status.phase', async () => {
    const all = (await req(a, '/api/v1/pods')).json.items;
    const sel = async (s: string) => (await req(a, `/api/v1/pods?fieldSelector=${encodeURIComponent(s)}`)).json.items.map((p: any) => p.metadata.name);
    const names = (f: (p: any) => boolean) => all.filter(f).map((p: any) => p.metadata.name);
    const p0 = all[5];
    expect(await sel(`metadata.name=${p0.metadata.name}`)).toEqual([p0.metadata.name]);
    expect(await sel(`metadata.namespace=${p0.metadata.namespace}`)).toEqual(names((p) => p.metadata.namespace === p0.metadata.namespace));
    expect(await sel('spec.nodeName=node-002')).toEqual(names((p) => p.spec.nodeName === 'node-002'));
    expect(await sel('spec.nodeName=')).toEqual(names((p) => !p.spec.nodeName));
    expect(await sel('status.phase=Running')).toEqual(names((p) => p.status.phase === 'Running'));
    expect(await sel('status.phase!=Running,metadata.namespace!=kube-system')).toEqual(names((p) => p.status.phase !== 'Running' && p.metadata.namespace !== 'kube-system'));
    const nodes = (await req(a, '/api/v1/nodes?fieldSelector=metadata.name%3Dnode-001')).json.items;
    expect(nodes.map((n: any) => n.metadata.name)).toEqual(['node-001']);
    const bad = await req(a, '/api/v1/pods?fieldSelector=spec.foo%3Dbar');
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('field label not supported: spec.foo');
  });

  it('limit and continue page through the whole list exactly once', async () => {
    const all = (await req(a, '/api/v1/pods')).json.items.map((p: any) => p.metadata.uid);
    const seen: string[] = [];
    let cont = '';
    let pages = 0;
    do {
      const r = await req(a, `/api/v1/pods?limit=7${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.json.items.length).toBeLessThanOrEqual(7);
      seen.push(...r.json.items.map((p: any) => p.metadata.uid));
      cont = r.json.metadata.continue ?? '';
      if (cont) expect(r.json.metadata.remainingItemCount).toBe(all.length - seen.length);
      pages++;
    } while (cont);
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 7));
    // Paging with a selector.
    const running = (await req(a, '/api/v1/pods?fieldSelector=status.phase%3DRunning')).json.items.map((p: any) => p.metadata.uid);
    const first = await req(a, '/api/v1/pods?fieldSelector=status.phase%3DRunning&limit=5');
    const rest = await req(a, `/api/v1/pods?fieldSelector=status.phase%3DRunning&continue=${encodeURIComponent(first.json.metadata.continue)}`);
    expect([...first.json.items, ...rest.json.items].map((p: any) => p.metadata.uid)).toEqual(running);
    expect((await req(a, '/api/v1/pods?limit=5&continue=garbage')).status).toBe(400);
  });

  it('serves a meta.k8s.io Table when asked, as kubectl does', async () => {
    const r = await req(a, '/api/v1/pods?limit=500', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json' });
    expect(r.headers['content-type']).toContain('as=Table');
    expect(r.json.kind).toBe('Table');
    expect(r.json.columnDefinitions.map((c: any) => c.name).slice(0, 5)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    expect(r.json.rows.length).toBe(60);
    expect(r.json.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { annotations: { [kClusterAnnotation]: a.name } } });
  });

  it('gets one object by name, and 404s a missing one with a Status', async () => {
    const pod = (await req(a, '/api/v1/pods')).json.items[3];
    const r = await req(a, `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`);
    expect(r.json).toEqual(pod);
    const ns = await req(a, '/api/v1/namespaces/kube-system');
    expect(ns.json.metadata.name).toBe('kube-system');
    const dep = (await req(a, '/apis/apps/v1/deployments')).json.items[0];
    expect((await req(a, `/apis/apps/v1/namespaces/${dep.metadata.namespace}/deployments/${dep.metadata.name}`)).json.metadata.uid).toBe(dep.metadata.uid);
    const miss = await req(a, '/api/v1/namespaces/default/pods/nope');
    expect(miss.status).toBe(404);
    expect(miss.json).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'pods "nope" not found', details: { name: 'nope', kind: 'pods' }, code: 404 });
  });

  it('generation is deterministic for a seed and differs between clusters and seeds', () => {
    const names = (seed: number, name: string) => generateCluster(name, seed, 50, 'v1.30.0').map((o) => `${o.key}/${o.obj.metadata.namespace ?? ''}/${o.obj.metadata.name}/${o.obj.metadata.uid}`);
    expect(names(3, 'x')).toEqual(names(3, 'x'));
    expect(names(3, 'x')).not.toEqual(names(4, 'x'));
    expect(names(3, 'x')).not.toEqual(names(3, 'y'));
  });

  it('generates 5,000 pods in one cluster', () => {
    const objs = generateCluster('big', 1, 5000, 'v1.30.0');
    expect(objs.filter((o) => o.key === 'pods').length).toBe(5000);
    const keys = objs.filter((o) => o.key === 'pods').map((o) => `${o.obj.metadata.namespace}/${o.obj.metadata.name}`);
    expect(new Set(keys).size).toBe(5000);
  });
});

describe('writes', () => {
  const base = '/api/v1/namespaces/default/configmaps';

  it('create 201, then 409 for the same name; the object is stamped with the cluster', async () => {
    const r = await req(a, base, { method: 'POST', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'w1', labels: { t: 'w' } }, data: { k: 'v' } } });
    expect(r.status).toBe(201);
    expect(r.json.metadata).toMatchObject({ name: 'w1', namespace: 'default', annotations: { [kClusterAnnotation]: a.name } });
    expect(r.json.metadata.uid).toBeTruthy();
    const again = await req(a, base, { method: 'POST', body: { metadata: { name: 'w1' } } });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ kind: 'Status', reason: 'AlreadyExists', code: 409, details: { name: 'w1', kind: 'configmaps' } });
    // The other cluster is untouched.
    expect((await req(b, `${base}/w1`)).status).toBe(404);
    const list = await req(a, `${base}?labelSelector=t%3Dw`);
    expect(list.json.items.map((i: any) => i.metadata.name)).toEqual(['w1']);
  });

  it('422 for invalid names and bodies, 400 for malformed JSON or a wrong kind', async () => {
    const bad = await req(a, base, { method: 'POST', body: { metadata: { name: 'Bad_Name' } } });
    expect(bad.status).toBe(422);
    expect(bad.json).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422, details: { causes: [{ field: 'metadata.name' }] } });
    expect((await req(a, base, { method: 'POST', body: { metadata: {} } })).status).toBe(422);
    expect((await req(a, base, { method: 'POST', body: { metadata: { name: 'x' }, data: { a: 1 } } })).status).toBe(422);
    expect((await req(a, base, { method: 'POST', body: [1, 2] })).status).toBe(422);
    expect((await req(a, '/api/v1/namespaces/default/pods', { method: 'POST', body: { metadata: { name: 'p' }, spec: {} } })).status).toBe(422);
    const malformed = await req(a, base, { method: 'POST', body: '{"metadata":' });
    expect(malformed.status).toBe(400);
    expect(malformed.json.reason).toBe('BadRequest');
    expect((await req(a, base, { method: 'POST', body: { kind: 'Secret', metadata: { name: 'k' } } })).status).toBe(400);
    expect((await req(a, '/api/v1/namespaces/nowhere/configmaps', { method: 'POST', body: { metadata: { name: 'k' } } })).status).toBe(404);
  });

  it('PUT updates and rejects a stale resourceVersion with 409 Conflict', async () => {
    const cur = (await req(a, `${base}/w1`)).json;
    const upd = await req(a, `${base}/w1`, { method: 'PUT', body: { ...cur, data: { k: 'v2' } } });
    expect(upd.status).toBe(200);
    expect(upd.json.data).toEqual({ k: 'v2' });
    expect(Number(upd.json.metadata.resourceVersion)).toBeGreaterThan(Number(cur.metadata.resourceVersion));
    expect(upd.json.metadata.uid).toBe(cur.metadata.uid);
    const stale = await req(a, `${base}/w1`, { method: 'PUT', body: { ...cur, data: { k: 'v3' } } });
    expect(stale.status).toBe(409);
    expect(stale.json.reason).toBe('Conflict');
    expect((await req(a, `${base}/nope`, { method: 'PUT', body: { metadata: { name: 'nope' } } })).status).toBe(404);
    expect((await req(a, `${base}/w1`, { method: 'PUT', body: { metadata: { name: 'other' } } })).status).toBe(400);
  });

  it('PATCH: merge, strategic merge (as merge) and JSON patch', async () => {
    const m = await req(a, `${base}/w1`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { data: { k: null, m: '1' }, metadata: { labels: { p: 'q' } } } });
    expect(m.status).toBe(200);
    expect(m.json.data).toEqual({ m: '1' });
    expect(m.json.metadata.labels).toEqual({ t: 'w', p: 'q' });
    expect(m.json.metadata.annotations[kClusterAnnotation]).toBe(a.name);
    const s = await req(a, `${base}/w1`, { method: 'PATCH', contentType: 'application/strategic-merge-patch+json', body: { data: { s: '2' } } });
    expect(s.json.data).toEqual({ m: '1', s: '2' });
    const j = await req(a, `${base}/w1`, {
      method: 'PATCH',
      contentType: 'application/json-patch+json',
      body: [
        { op: 'replace', path: '/data/m', value: 'x' },
        { op: 'add', path: '/data/j', value: 'y' },
        { op: 'remove', path: '/data/s' },
      ],
    });
    expect(j.status).toBe(200);
    expect(j.json.data).toEqual({ m: 'x', j: 'y' });
    const failed = await req(a, `${base}/w1`, { method: 'PATCH', contentType: 'application/json-patch+json', body: [{ op: 'test', path: '/data/m', value: 'nope' }] });
    expect(failed.status).toBe(422);
    expect((await req(a, `${base}/w1`, { method: 'PATCH', contentType: 'application/apply-patch+yaml', body: 'data: {}' })).status).toBe(415);
    expect((await req(a, `${base}/none`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: {} })).status).toBe(404);
    // The annotation cannot be patched away.
    const strip = await req(a, `${base}/w1`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { metadata: { annotations: { [kClusterAnnotation]: 'other' } } } });
    expect(strip.json.metadata.annotations[kClusterAnnotation]).toBe(a.name);
  });

  it('DELETE removes, then 404; deletecollection by label; namespace delete takes its objects', async () => {
    // dryRun=All answers as a delete would and deletes nothing, for one object and a collection.
    const dry = await req(a, `${base}/w1?dryRun=All`, { method: 'DELETE' });
    expect(dry.status).toBe(200);
    expect(dry.json.metadata.name).toBe('w1');
    expect((await req(a, `${base}/w1`)).status).toBe(200);
    const listed = (await req(a, base)).json.items.length;
    const dryAll = await req(a, `${base}?dryRun=All`, { method: 'DELETE' });
    expect(dryAll.json.items.length).toBe(listed);
    expect((await req(a, base)).json.items.length).toBe(listed);

    const d = await req(a, `${base}/w1`, { method: 'DELETE' });
    expect(d.status).toBe(200);
    expect(d.json.metadata.name).toBe('w1');
    expect((await req(a, `${base}/w1`)).status).toBe(404);
    expect((await req(a, `${base}/w1`, { method: 'DELETE' })).status).toBe(404);

    expect((await req(a, '/api/v1/namespaces', { method: 'POST', body: { metadata: { name: 'tmp' } } })).status).toBe(201);
    for (const n of ['c1', 'c2', 'c3']) {
      expect((await req(a, '/api/v1/namespaces/tmp/configmaps', { method: 'POST', body: { metadata: { name: n, labels: { g: n === 'c3' ? 'b' : 'a' } } } })).status).toBe(201);
    }
    const dc = await req(a, '/api/v1/namespaces/tmp/configmaps?labelSelector=g%3Da', { method: 'DELETE' });
    expect(dc.json.items.map((i: any) => i.metadata.name)).toEqual(['c1', 'c2']);
    expect((await req(a, '/api/v1/namespaces/tmp/configmaps')).json.items.map((i: any) => i.metadata.name)).toEqual(['c3']);
    expect((await req(a, '/api/v1/namespaces/tmp', { method: 'DELETE' })).status).toBe(200);
    expect((await req(a, '/api/v1/namespaces/tmp/configmaps')).json.items).toEqual([]);
    expect((await req(a, '/api/v1/configmaps?fieldSelector=metadata.namespace%3Dtmp')).json.items).toEqual([]);
  });

  it('watch streams ADDED and DELETED events', async () => {
    const https = await import('node:https');
    const events: any[] = [];
    const rv = (await req(a, base)).json.metadata.resourceVersion;
    const done = new Promise<void>((resolve, reject) => {
      const r = https.get(
        { host: '127.0.0.1', port: a.port, path: `${base}?watch=true&resourceVersion=${rv}&timeoutSeconds=10`, ca: a.caPem, headers: { authorization: `Bearer ${a.token}` }, agent: false },
        (res) => {
          // serveWatch sends the status and subscribes in one turn: once the status is here, the
          // watch sees every change made from now on.
          void req(a, base, { method: 'POST', body: { metadata: { name: 'watched' } } }).then(() => req(a, `${base}/watched`, { method: 'DELETE' })).catch(reject);
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            buf += d;
            let i;
            while ((i = buf.indexOf('\n')) >= 0) {
              events.push(JSON.parse(buf.slice(0, i)));
              buf = buf.slice(i + 1);
              if (events.length === 2) {
                r.destroy();
                resolve();
              }
            }
          });
        },
      );
      r.on('error', (e) => (events.length === 2 ? undefined : reject(e)));
    });
    await done;
    expect(events.map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual(['ADDED:watched', 'DELETED:watched']);
  });

  it('@kubernetes/client-node reads through the generated kubeconfig', async () => {
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    kc.loadFromString(sim.kubeconfig());
    expect(kc.getContexts().map((c) => c.name)).toEqual(['sim-0001', 'sim-0002']);
    expect(kc.getCurrentContext()).toBe('sim-0001');
    kc.setCurrentContext('sim-0002');
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const list = await core.listNamespace();
    expect(list.items.map((n) => n.metadata?.annotations?.[kClusterAnnotation])).toEqual(list.items.map(() => 'sim-0002'));
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toBe(b.version);
    const one = new k8s.KubeConfig();
    one.loadFromString(sim.singleKubeconfig('sim-0001'));
    expect(one.getContexts().map((c) => c.name)).toEqual(['sim-0001']);
    const pods = await one.makeApiClient(k8s.CoreV1Api).listPodForAllNamespaces({ labelSelector: 'pod-template-hash' });
    expect(pods.items.length).toBeGreaterThan(0);
  });
});
