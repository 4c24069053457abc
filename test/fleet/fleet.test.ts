/**
 * Fleet queries end to end: an Express app wired like an HTTP worker's, the fleet service on a
 * real piscina pool reading a real shared index of simulated clusters. Expected answers come from
 * the simulator's own generator (the objects it serves), not from fleetgate code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleetService, type FleetService, type SearchItem, type SearchResult, type OverviewResult } from '../../src/fleet/index.js';
import { itemComparator } from '../../src/fleet/search.js';
import { IndexReader, IndexWriter } from '../../src/index/index.js';
import type { IndexEntryInput } from '../../src/index/types.js';
import { RwLock } from '../../src/lock/index.js';
import { createSharedRegion, headInt32, slotOwnerWord, slotStateWord } from '../../src/shm/layout.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { generateCluster, type GeneratedObject } from '../../src/sim/generate.js';
import { fleetApp, getJson, listen, simEntries, StaticTokens } from './harness.js';
import { eventually } from '../helpers/server.js';

const kPods = 120;
const kClusters = 4;
// Viewers search what Kubernetes' view role lets them list: no secrets, no nodes.
const kAdminKinds = ['pods', 'deployments', 'statefulsets', 'daemonsets', 'services', 'configmaps', 'secrets', 'namespaces', 'nodes', 'jobs', 'cronjobs', 'ingresses', 'persistentvolumeclaims'];
const kViewerKinds = kAdminKinds.filter((k) => k !== 'secrets' && k !== 'nodes');

let sim: Simulator;
let sab: SharedArrayBuffer;
let writer: IndexWriter;
let entries: IndexEntryInput[];
const generated = new Map<string, GeneratedObject[]>();
const tokens = new StaticTokens();
const admin = tokens.add('t-admin', 'admin', 'admin');
const viewer = tokens.add('t-viewer', 'viewer', 'viewer', ['sim-0001', 'sim-0003']);
const logs: string[] = [];

/** Expected matches straight from the simulator's generator. */
function expectedItems(q: string, kinds: string[], clusters: string[]): SearchItem[] {
  const ql = q.toLowerCase();
  const out: SearchItem[] = [];
  for (const c of clusters) {
    for (const g of generated.get(c)!) {
      if (!kinds.includes(g.key)) continue;
      const m = g.obj.metadata;
      if (!String(m.name).toLowerCase().includes(ql)) continue;
      out.push({ cluster: c, kind: g.key, namespace: m.namespace ?? '', name: m.name, createdAt: m.creationTimestamp });
    }
  }
  return out.sort(itemComparator(q));
}

async function serve(fleet: FleetService) {
  const reader = new IndexReader(sab, RwLock.attach(sab, { threadId: 70_001 + Math.floor(Math.random() * 1000) }));
  return listen(fleetApp(reader, tokens, fleet, (l) => logs.push(l)));
}

beforeAll(async () => {
  sim = await startSimulator({ clusters: kClusters, podsPerCluster: kPods });
  for (const c of sim.clusters) generated.set(c.name, generateCluster(c.name, 1, kPods, c.version));
  sab = createSharedRegion();
  writer = new IndexWriter(sab, RwLock.attach(sab, { threadId: 70_000 }));
  entries = simEntries(sim.clusters);
  writer.publish(entries);
});

afterAll(async () => {
  await sim?.stop();
});

describe('fleet search and overview on the pool', () => {
  let fleet: FleetService;
  let http: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    fleet = createFleetService({ sab, threads: 2, maxQueue: 16, timeoutMs: 20_000, log: (l) => logs.push(l) });
    http = await serve(fleet);
  });
  afterAll(async () => {
    await http?.close();
    await fleet?.close();
  });

  it('finds exactly the objects the simulator serves, sorted, across every cluster', async () => {
    const r = await getJson(`${http.url}/api/v1/fleet/search?q=cache&limit=1000`, admin);
    expect(r.status).toBe(200);
    const body = r.body as SearchResult;
    const want = expectedItems('cache', kAdminKinds, sim.clusters.map((c) => c.name));
    expect(want.length).toBeGreaterThan(20);
    expect(want.length).toBeLessThanOrEqual(1000);
    expect(body.partial).toEqual([]);
    expect(body.clusters).toBe(kClusters);
    expect(body.total).toBe(want.length);
    expect(body.items).toEqual(want);
    expect(new Set(body.items.map((i) => i.cluster)).size).toBe(kClusters);
    expect(body.items.some((i) => i.kind === 'secrets')).toBe(true);
  });

  it('is case-insensitive, honours kinds and limit, ranks exact and prefix matches first', async () => {
    const all = expectedItems('NODE-00', ['nodes'], sim.clusters.map((c) => c.name));
    const r = await getJson(`${http.url}/api/v1/fleet/search?q=NODE-00&kinds=nodes&limit=5`, admin);
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(all.length);
    expect(r.body.items).toEqual(all.slice(0, 5));
    expect(r.body.kinds).toEqual(['nodes']);

    const exact = await getJson(`${http.url}/api/v1/fleet/search?q=web&kinds=namespaces,pods&limit=3`, admin);
    expect(exact.body.items.map((i: SearchItem) => [i.name, i.kind])).toEqual(
      sim.clusters.slice(0, 3).map(() => ['web', 'namespaces']),
    );
  });

  it('limits a viewer to its clusters and never searches secrets for it', async () => {
    const r = await getJson(`${http.url}/api/v1/fleet/search?q=api&limit=1000`, viewer);
    expect(r.status).toBe(200);
    expect(r.body.clusters).toBe(2);
    expect(r.body.kinds).toEqual(kViewerKinds);
    const want = expectedItems('api', kViewerKinds, ['sim-0001', 'sim-0003']);
    expect(r.body.total).toBe(want.length);
    expect(r.body.items).toEqual(want.slice(0, 1000));
    expect(new Set(r.body.items.map((i: SearchItem) => i.cluster))).toEqual(new Set(['sim-0001', 'sim-0003']));

    const secrets = await getJson(`${http.url}/api/v1/fleet/search?q=api&kinds=secrets`, viewer);
    expect(secrets.status).toBe(403);
    expect(secrets.body.error).toMatch(/admin/);

    const ov = await getJson(`${http.url}/api/v1/fleet/overview`, viewer);
    expect(ov.body.clusters.map((c: { cluster: string }) => c.cluster)).toEqual(['sim-0001', 'sim-0003']);
  });

  it('rejects bad parameters with 400 and a JSON error; needs a token', async () => {
    for (const q of ['', '?q=', '?q=x&kinds=widgets', '?q=x&limit=0', '?q=x&limit=abc', `?q=${'a'.repeat(300)}`]) {
      const r = await getJson(`${http.url}/api/v1/fleet/search${q}`, admin);
      expect(r.status, q).toBe(400);
      expect(typeof r.body.error).toBe('string');
    }
    expect((await getJson(`${http.url}/api/v1/fleet/search?q=x`, 'nope')).status).toBe(401);
  });

  it('overview: Kite counts per cluster from the objects served, state and version, totals', async () => {
    const r = await getJson(`${http.url}/api/v1/fleet/overview`, admin);
    expect(r.status).toBe(200);
    const body = r.body as OverviewResult;
    expect(body.partial).toEqual([]);
    const totals = { nodes: 0, ready: 0, pods: 0, running: 0, ns: 0, svc: 0 };
    for (const c of sim.clusters) {
      const objs = generated.get(c.name)!;
      const of = (k: string) => objs.filter((o) => o.key === k).map((o) => o.obj);
      const nodes = of('nodes');
      const ready = nodes.filter((n) => n.status.conditions.some((x: any) => x.type === 'Ready' && x.status === 'True')).length;
      const pods = of('pods');
      const running = pods.filter((p) => p.status.phase === 'Running').length;
      const got = body.clusters.find((x) => x.cluster === c.name)!;
      expect(got).toEqual({
        cluster: c.name,
        state: 'ok',
        version: c.version,
        prometheusEnabled: false,
        totalNodes: nodes.length,
        readyNodes: ready,
        totalPods: kPods,
        runningPods: running,
        totalNamespaces: of('namespaces').length,
        totalServices: of('services').length,
      });
      totals.nodes += nodes.length;
      totals.ready += ready;
      totals.pods += pods.length;
      totals.running += running;
      totals.ns += of('namespaces').length;
      totals.svc += of('services').length;
    }
    expect(body.totals).toEqual({
      clusters: kClusters,
      answered: kClusters,
      totalNodes: totals.nodes,
      readyNodes: totals.ready,
      totalPods: totals.pods,
      runningPods: totals.running,
      totalNamespaces: totals.ns,
      totalServices: totals.svc,
    });
  });

  it('a down cluster shows in partial while the others answer', async () => {
    await sim.setFault('sim-0002', { down: true });
    try {
      const r = await getJson(`${http.url}/api/v1/fleet/search?q=cache&limit=1000`, admin);
      expect(r.status).toBe(200);
      expect(r.body.partial).toHaveLength(1);
      expect(r.body.partial[0].cluster).toBe('sim-0002');
      expect(r.body.partial[0].error).toMatch(/sim-0002/);
      expect(r.body.items).toEqual(expectedItems('cache', kAdminKinds, ['sim-0001', 'sim-0003', 'sim-0004']));

      const ov = await getJson(`${http.url}/api/v1/fleet/overview`, admin);
      expect(ov.status).toBe(200);
      expect(ov.body.totals.answered).toBe(kClusters - 1);
      const down = ov.body.clusters.find((c: { cluster: string }) => c.cluster === 'sim-0002');
      expect(down.totalPods).toBeNull();
      expect(down.error).toMatch(/sim-0002/);
      expect(ov.body.partial.map((p: { cluster: string }) => p.cluster)).toEqual(['sim-0002']);
    } finally {
      await sim.setFault('sim-0002', { down: false });
    }
  });

  it('a cluster the index marks as failed is reported from the index, not contacted', async () => {
    const failed = entries.map((e) => (e.name === 'sim-0004' ? { ...e, state: 'error' as const, error: 'probe: connection refused' } : e));
    writer.publish(failed);
    try {
      const before = sim.stats().byCluster['sim-0004'] ?? 0;
      const r = await getJson(`${http.url}/api/v1/fleet/search?q=web&kinds=namespaces`, admin);
      expect(r.status).toBe(200);
      expect(r.body.partial).toEqual([{ cluster: 'sim-0004', error: expect.stringMatching(/connection refused/) }]);
      expect(r.body.items.map((i: SearchItem) => i.cluster)).toEqual(['sim-0001', 'sim-0002', 'sim-0003']);
      expect(sim.stats().byCluster['sim-0004'] ?? 0).toBe(before);
    } finally {
      writer.publish(entries);
    }
  });
});

describe('a slow cluster costs one budget, not the answer', () => {
  it('times a hanging cluster out into partial', async () => {
    const fleet = createFleetService({ sab, threads: 1, timeoutMs: 1500, log: (l) => logs.push(l) });
    const http = await serve(fleet);
    await sim.setFault('sim-0003', { hang: true });
    try {
      const r = await getJson(`${http.url}/api/v1/fleet/search?q=web&kinds=namespaces`, admin);
      expect(r.status).toBe(200);
      expect(r.body.partial).toEqual([{ cluster: 'sim-0003', error: expect.stringMatching(/sim-0003.*1500 ms/) }]);
      expect(r.body.items.map((i: SearchItem) => i.cluster)).toEqual(['sim-0001', 'sim-0002', 'sim-0004']);
    } finally {
      await sim.setFault('sim-0003', { hang: false });
      await http.close();
      await fleet.close();
    }
  });
});

describe('pool threads: crash, replacement, lock-slot recovery, back-pressure', () => {
  it('a thread that dies inside a read lock mid-query is replaced, its slot recovered, commits go on', async () => {
    const exits: { threadId: number; code: number; readerCleared: boolean }[] = [];
    const starts: number[] = [];
    const fleet = createFleetService({
      sab,
      threads: 1,
      tasksPerThread: 2,
      timeoutMs: 30_000,
      testHooks: true,
      log: (l) => logs.push(l),
      onThreadStart: (threadId) => starts.push(threadId),
      onThreadExit: (threadId, code, r) => exits.push({ threadId, code, readerCleared: r.readerCleared }),
    });
    const http = await serve(fleet);
    try {
      const first = await fleet.runTask<{ threadId: number; slot: number }>({ op: 'whoami' });
      expect(fleet.threadIds()).toEqual([first.threadId]);
      const head = headInt32(sab);
      expect(Atomics.load(head, slotOwnerWord(first.slot))).toBe(first.threadId + 1);

      // A query in flight on that thread (a hanging cluster keeps it busy), then the crash.
      await sim.setFault('sim-0001', { hang: true });
      const seen = sim.stats().byCluster['sim-0001'] ?? 0;
      const inFlight = getJson(`${http.url}/api/v1/fleet/search?q=web`, admin);
      // In flight on the pool thread once the hanging cluster holds its first call.
      await eventually(async () => (sim.stats().byCluster['sim-0001'] ?? 0) > seen);
      await expect(fleet.runTask({ op: 'crash', holdReadLock: true, exitCode: 7 })).rejects.toMatchObject({ status: 503 });
      const lost = await inFlight;
      expect(lost.status).toBe(503);
      expect(lost.headers.get('retry-after')).toBe('1');
      await sim.setFault('sim-0001', { hang: false });

      expect(exits).toEqual([{ threadId: first.threadId, code: 7, readerCleared: true }]);
      expect(fleet.stats().pool?.recoveredReads).toBe(1);
      expect(Atomics.load(head, slotStateWord(first.slot))).toBe(0);
      expect(Atomics.load(head, slotOwnerWord(first.slot))).not.toBe(first.threadId + 1);

      // The writer is not blocked by the dead reader: try first (never waits), then a real commit.
      expect(writer.lock.tryWriteLock()).toBe(true);
      writer.lock.writeUnlock();
      const gen = writer.publish(entries).generation;
      expect(gen).toBeGreaterThan(1);

      // Replaced: a new thread answers queries over the new generation.
      const r = await getJson(`${http.url}/api/v1/fleet/search?q=web&kinds=namespaces`, admin);
      expect(r.status).toBe(200);
      expect(r.body.items).toHaveLength(kClusters);
      const second = await fleet.runTask<{ threadId: number; slot: number }>({ op: 'whoami' });
      expect(second.threadId).not.toBe(first.threadId);
      expect(fleet.threadIds()).toEqual([second.threadId]);
      expect(starts).toEqual([first.threadId, second.threadId]);
    } finally {
      await sim.setFault('sim-0001', { hang: false });
      await http.close();
      await fleet.close();
    }
  });

  it('closing the pool frees every slot its threads claimed', async () => {
    const fleet = createFleetService({ sab, threads: 2, testHooks: true, log: (l) => logs.push(l) });
    const a = await fleet.runTask<{ threadId: number; slot: number }>({ op: 'whoami' });
    await fleet.close();
    expect(Atomics.load(headInt32(sab), slotOwnerWord(a.slot))).toBe(0);
  });

  it('refuses test tasks unless created with testHooks', async () => {
    const fleet = createFleetService({ sab, threads: 1, log: (l) => logs.push(l) });
    try {
      await expect(fleet.runTask({ op: 'crash', holdReadLock: false, exitCode: 1 })).rejects.toMatchObject({ status: 500 });
      expect(fleet.stats().pool?.exited).toBe(0);
    } finally {
      await fleet.close();
    }
  });

  it('a full queue answers 503 with Retry-After instead of growing', async () => {
    const fleet = createFleetService({ sab, threads: 1, tasksPerThread: 1, maxQueue: 1, timeoutMs: 30_000, log: (l) => logs.push(l) });
    const http = await serve(fleet);
    await sim.setFault('sim-0002', { hang: true });
    try {
      const seen = sim.stats().byCluster['sim-0002'] ?? 0;
      const running = getJson(`${http.url}/api/v1/fleet/search?q=web`, admin);
      // Running once the hanging cluster holds its call; queued once the pool counts it.
      await eventually(async () => (sim.stats().byCluster['sim-0002'] ?? 0) > seen);
      const queued = getJson(`${http.url}/api/v1/fleet/overview`, admin);
      await eventually(async () => fleet.stats().pool?.queued === 1);
      const refused = await getJson(`${http.url}/api/v1/fleet/search?q=web`, admin);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.body.error).toMatch(/queue is full/);
      expect(fleet.stats().pool?.rejected).toBe(1);
      // The admitted ones still answer once the cluster does (lifting the hang answers the calls
      // it held), whole, however long the machine took to get here.
      await sim.setFault('sim-0002', { hang: false });
      for (const r of await Promise.all([running, queued])) {
        expect(r.status).toBe(200);
        expect(r.body.partial).toEqual([]);
      }
    } finally {
      await sim.setFault('sim-0002', { hang: false });
      await http.close();
      await fleet.close();
    }
  });
});

describe('inline mode', () => {
  it('answers exactly as the pool does, on the calling thread', async () => {
    const pool = createFleetService({ sab, threads: 1, log: (l) => logs.push(l) });
    const inline = createFleetService({ sab, inline: true, log: (l) => logs.push(l) });
    try {
      expect(inline.mode).toBe('inline');
      const access = { name: 'admin', role: 'admin' as const, clusters: null };
      const query = { q: 'worker', kinds: ['pods', 'deployments', 'secrets'], limit: 200 };
      const [a, b] = await Promise.all([pool.search(access, query), inline.search(access, query)]);
      expect(b.items).toEqual(a.items);
      expect(b.total).toBe(a.total);
      expect(b.items).toEqual(expectedItems('worker', query.kinds, sim.clusters.map((c) => c.name)).slice(0, 200));
      const [oa, ob] = await Promise.all([pool.overview(access), inline.overview(access)]);
      expect(ob.totals).toEqual(oa.totals);
    } finally {
      await pool.close();
      await inline.close();
    }
  });

  it('FLEETGATE_FLEET_INLINE=1 selects inline mode when the option is not given', async () => {
    const before = process.env.FLEETGATE_FLEET_INLINE;
    process.env.FLEETGATE_FLEET_INLINE = '1';
    try {
      const s = createFleetService({ sab });
      expect(s.mode).toBe('inline');
      await s.close();
    } finally {
      if (before === undefined) delete process.env.FLEETGATE_FLEET_INLINE;
      else process.env.FLEETGATE_FLEET_INLINE = before;
    }
  });
});
