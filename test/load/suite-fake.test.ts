/**
 * The load machinery against a fake fleetgate of our own: a clean fake under churn must never be
 * flagged (no false positives), a corrupting fake must be caught on every kind of request, and
 * every response autocannon counts must have been verified.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChurnDriver, idOf, withToken } from '../../load/churn.js';
import { CorruptionLog, reasonClass } from '../../load/corruption.js';
import { bucketDelta, histogramBuckets, histogramQuantile, parsePrometheus, sumOf } from '../../load/prom.js';
import { WriteRegistry } from '../../load/registry.js';
import { formatCompare, formatReport, judge, type RunReport } from '../../load/report.js';
import { buildMix, parseMix, runLoad } from '../../load/scenario.js';
import { stableDescription } from '../../load/scheme.js';
import { checkClusterList, emptyNotes } from '../../load/verify.js';
import { parseLoadArgs } from '../../load/run.js';
import { fakeKubeconfig, startFakeFleetgate, type FakeFleetgate } from './fake-fleetgate.js';

const token = 'test-admin-token';
let fake: FakeFleetgate | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function setup(corrupt: boolean) {
  fake = await startFakeFleetgate({ token, corrupt, corruptEvery: 7 });
  const reg = new WriteRegistry('churn');
  const sims = ['sim-0001', 'sim-0002', 'sim-0003', 'sim-0004'];
  for (const s of sims) {
    reg.recordSimVersion(s, 'v1.30.0');
    await fake.sim.setVersion(s, 'v1.30.0');
  }
  const stable = [];
  for (const [i, name] of ['sim-0001', 'sim-0002'].entries()) {
    const description = stableDescription(name, 0);
    reg.recordStable(name, name, description);
    const r = await fetch(`${fake.url}/api/v1/admin/clusters`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, description, config: fakeKubeconfig(name), isDefault: i === 0 }),
    });
    expect(r.status).toBe(201);
    stable.push({ id: idOf(await r.json())!, name, d: 0 });
  }
  const churn = new ChurnDriver({
    baseUrl: fake.url,
    adminToken: token,
    registry: reg,
    targets: ['sim-0003', 'sim-0004'].map((name) => ({ name, kubeconfig: fakeKubeconfig(name) })),
    versionSims: sims,
    stable,
    sim: fake.sim,
    slots: 4,
    ratePerSec: 300,
    syncEveryMs: 5,
  });
  return { reg, churn, stable };
}

describe('churn driver and load against a clean fake', () => {
  it('churns every kind of operation and is never flagged', async () => {
    const { reg, churn, stable } = await setup(false);
    const corruption = new CorruptionLog(3);
    const notes = emptyNotes();
    const commitsBefore = fake!.commits;
    const load = await runLoad({
      baseUrl: fake!.url,
      token,
      durationSec: 2,
      connections: 4,
      mix: buildMix(stable.map((s) => s.name)),
      registry: reg,
      verify: { requireAnnotation: true },
      corruption,
      notes,
      onStart: () => churn.start(),
    });
    const stats = await churn.stop();
    expect(corruption.samples).toEqual([]);
    expect(load.corrupt).toBe(0);
    expect(load.requests).toBeGreaterThan(500);
    expect(load.requests).toBe(load.autocannonResponses);
    for (const k of ['clusters', 'overview', 'resource', 'passthrough']) expect(load.byKind[k]!.responses).toBeGreaterThan(0);
    for (const op of ['create', 'rename', 'describe', 'reconfig', 'toggle', 'delete', 'default', 'stable-describe', 'version']) {
      expect(stats.ops[op]?.ok, `op ${op}: ${JSON.stringify(stats)}`).toBeGreaterThan(0);
    }
    expect(stats.syncRequests).toBeGreaterThan(100);
    expect(fake!.commits - commitsBefore).toBeGreaterThan(100);
    expect(notes.missingDescription).toBe(0);
    // The final state verifies too.
    const final = await (await fetch(`${fake!.url}/api/v1/clusters`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(checkClusterList(final, reg)).toBeUndefined();
  }, 20_000);
});

describe('load against a corrupting fake', () => {
  it('catches every kind of corruption and saves samples', async () => {
    const { reg, churn, stable } = await setup(true);
    const corruption = new CorruptionLog(4);
    const load = await runLoad({
      baseUrl: fake!.url,
      token,
      durationSec: 2,
      connections: 4,
      mix: buildMix(stable.map((s) => s.name)),
      registry: reg,
      verify: { requireAnnotation: true },
      corruption,
      onStart: () => churn.start(),
    });
    await churn.stop();
    expect(load.requests).toBe(load.autocannonResponses);
    // Every 7th read is broken; all of them are caught, less the few answers still in flight when
    // autocannon stopped (at most one per connection) and the rare slot where the fake has nothing
    // to break (a reversed one-entry list, an empty list): allow 1% for those.
    const broken = Math.floor(fake!.reads / 7);
    expect(load.corrupt).toBeLessThanOrEqual(broken);
    expect(load.corrupt).toBeGreaterThanOrEqual(broken - 4 - Math.ceil(broken / 100));
    for (const k of ['clusters', 'overview', 'resource', 'passthrough']) expect(load.byKind[k]!.corrupt, k).toBeGreaterThan(0);
    const reasons = [...corruption.byReason.keys()].join('\n');
    expect(reasons).toMatch(/JSON does not parse/);
    expect(reasons).toMatch(/not sorted|duplicate/);
    expect(reasons).toMatch(/never written/);
    expect(reasons).toMatch(/never served/);
    expect(reasons).toMatch(/came from cluster/);
    expect(reasons).toMatch(/overview is for cluster/);
    const dir = mkdtempSync(join(tmpdir(), 'load-test-'));
    try {
      const paths = corruption.save(dir, 'run');
      expect(paths).toHaveLength(4);
      const first = JSON.parse(readFileSync(paths[0]!, 'utf8'));
      expect(first).toMatchObject({ reason: expect.any(String), body: expect.any(String), status: expect.any(Number) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});

describe('pieces', () => {
  it('parses Prometheus text and takes a histogram quantile over a delta', () => {
    const before = parsePrometheus(['# HELP x', 'fleetgate_index_commits_total 5', 'h_bucket{le="10"} 1', 'h_bucket{le="100"} 1', 'h_bucket{le="+Inf"} 1'].join('\n'));
    const after = parsePrometheus(
      ['fleetgate_index_commits_total 305', 'fleetgate_torn_reads_total{thread="a"} 2', 'fleetgate_torn_reads_total{thread="b"} 3', 'h_bucket{le="10"} 91', 'h_bucket{le="100"} 101', 'h_bucket{le="+Inf"} 101'].join('\n'),
    );
    expect(sumOf(after, 'fleetgate_index_commits_total')! - sumOf(before, 'fleetgate_index_commits_total')!).toBe(300);
    expect(sumOf(after, 'fleetgate_torn_reads_total')).toBe(5);
    expect(sumOf(after, 'missing')).toBeUndefined();
    const d = bucketDelta(histogramBuckets(before, 'h'), histogramBuckets(after, 'h'));
    expect(d.get(10)).toBe(90);
    // 99th of 100 observations: 90 ≤ 10, 10 in (10,100] → 10 + 90 * 9/10 = 91.
    expect(histogramQuantile(0.99, d)).toBeCloseTo(91, 5);
    expect(histogramQuantile(0.5, d)).toBeCloseTo(10 * (50 / 90), 5);
    expect(histogramQuantile(0.99, new Map())).toBeUndefined();
  });
  it('judges runs', () => {
    const base = { requests: 10, autocannonResponses: 10, expectCorruption: false };
    expect(judge({ ...base, lock: 'rw', corrupt: 0 }).ok).toBe(true);
    expect(judge({ ...base, lock: 'rw', corrupt: 1 }).ok).toBe(false);
    expect(judge({ ...base, lock: 'mutex', corrupt: 1 }).ok).toBe(false);
    expect(judge({ ...base, lock: 'none', corrupt: 3 }).ok).toBe(true);
    expect(judge({ ...base, lock: 'none', corrupt: 0, expectCorruption: true }).ok).toBe(false);
    expect(judge({ ...base, lock: 'none', corrupt: 2, expectCorruption: true }).ok).toBe(true);
    expect(judge({ ...base, autocannonResponses: 11, lock: 'rw', corrupt: 0 }).ok).toBe(false);
    expect(judge({ ...base, requests: 0, autocannonResponses: 0, lock: 'rw', corrupt: 0 }).ok).toBe(false);
  });
  it('formats reports and the comparison', () => {
    const r = (lock: 'rw' | 'mutex' | 'none', corrupt: number): RunReport => ({
      lock, target: 't', workers: 2, clusters: 8, connections: 16, durationSec: 10, churnRate: 50,
      requests: 1000, autocannonResponses: 1000, rps: 100, p50Ms: 1.5, p99Ms: 12, non2xx: { '503': 2 }, errors: 0, timeouts: 0,
      corrupt, corruptReasons: corrupt ? [{ reason: 'x', count: corrupt }] : [], corruptSamples: [], byKind: { clusters: { responses: 1000, corrupt } },
      commits: 500, commitsPerSec: 50, commitHoldP99Us: 12.5, tornReadsReported: 0, churn: null, notes: [], expectCorruption: false,
      ...judge({ lock, corrupt, requests: 1000, autocannonResponses: 1000, expectCorruption: false }),
    });
    expect(formatReport(r('rw', 0))).toMatch(/PASS: no corrupt responses/);
    expect(formatReport(r('mutex', 3))).toMatch(/FAIL: 3 corrupt responses under lock mutex/);
    const table = formatCompare([r('rw', 0), r('mutex', 0), r('none', 42)]);
    expect(table).toMatch(/metric\s+rw\s+mutex\s+none/);
    expect(table).toMatch(/CORRUPT responses\s+0\s+0\s+42/);
  });
  it('parses the CLI, the mix and groups reasons', () => {
    const p = parseLoadArgs(['--lock', 'none', '--expect-corruption', '--duration', '10', '--json', '--mix', 'clusters=1,passthrough=2']);
    expect(p).not.toBe('help');
    if (p === 'help') return;
    expect(p.opts).toMatchObject({ lock: 'none', expectCorruption: true, durationSec: 10, workers: 2, clusters: 8, churnRate: 100, churnConcurrency: 6 });
    expect(p.opts.mix).toEqual({ clusters: 1, overview: 0, resource: 0, passthrough: 2 });
    expect(p.json).toBe(true);
    expect(() => parseLoadArgs(['--lock', 'spin'])).toThrow(/--lock/);
    expect(() => parseLoadArgs(['--compare', '--target', 'http://x'])).toThrow(/compare/);
    expect(() => parseMix('clusters=x')).toThrow();
    expect(parseLoadArgs(['--help'])).toBe('help');
    expect(reasonClass('[3] entry "churn-1-r2": description of rev 1')).toBe('entry "…": description of rev N');
    expect(JSON.parse(withToken(fakeKubeconfig('a'), 'new')).users[0].user.token).toBe('new');
  });
  it('builds an interleaved mix that covers every cluster and kind', () => {
    const mix = buildMix(['a', 'b'], { clusters: 2, overview: 1, resource: 1, passthrough: 1 });
    expect(mix.map((m) => m.kind)).toEqual(['clusters', 'overview', 'clusters', 'resource', 'passthrough', 'clusters', 'overview', 'clusters', 'resource', 'passthrough']);
    expect(mix.filter((m) => m.asked === 'b')).toHaveLength(3);
    expect(mix.find((m) => m.kind === 'passthrough')!.path).toBe('/k8s/a/api/v1/namespaces');
  });
});
