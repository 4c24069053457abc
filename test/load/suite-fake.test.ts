/**
 * The load machinery against a fake fleetgate of our own: a clean fake under churn must never be
 * flagged (no false positives), a corrupting fake must be caught on every kind of request, and
 * every response autocannon counts must have been verified. Whole runs (runSuite with --target)
 * against fakes that answer 500, 404 or truncated bodies show that the verdict cannot be fooled.
 * Runs stop on counts of responses, never on a clock.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ChurnDriver, idOf, withToken, type StableCluster } from '../../load/churn.js';
import { contextKubeconfigs } from '../../load/kubeconfig.js';
import { FindingLog, reasonClass, zeroCounts } from '../../load/corruption.js';
import { bucketDelta, histogramBuckets, histogramQuantile, parsePrometheus, sumOf } from '../../load/prom.js';
import { WriteRegistry } from '../../load/registry.js';
import { formatCompare, formatReport, judge, kDefaultMinimums, summarise, type JudgeInput, type RunReport } from '../../load/report.js';
import { buildMix, newLiveCounts, parseMix, runLoad, type LiveCounts } from '../../load/scenario.js';
import { stableDescription } from '../../load/scheme.js';
import { checkClusterList, emptyNotes, type VerifierNotes } from '../../load/verify.js';
import { parseLoadArgs } from '../../load/run.js';
import { runSuite, type SuiteOptions } from '../../load/suite.js';
import { fakeKubeconfig, startFakeFleetgate, type FakeFleetgate, type FakeMode } from './fake-fleetgate.js';

const token = 'test-admin-token';
let fake: FakeFleetgate | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function setup(mode: FakeMode) {
  fake = await startFakeFleetgate({ token, mode, corruptEvery: 7 });
  const reg = new WriteRegistry('churn');
  const sims = ['sim-0001', 'sim-0002', 'sim-0003', 'sim-0004'];
  for (const s of sims) {
    reg.recordSimVersion(s, 'v1.30.0');
    await fake.sim.setVersion(s, 'v1.30.0');
  }
  const stable: StableCluster[] = [];
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
  /**
   * The full mix on 4 connections, churn starting with the load, every answer verified; it stops
   * once `enough` says so (counts, not a clock: a busy machine is slower), capped at 50 s.
   */
  const loadUnderChurn = (findings: FindingLog, enough: (live: LiveCounts) => boolean, notes?: VerifierNotes) => {
    const live = newLiveCounts();
    return runLoad({
      baseUrl: fake!.url,
      token,
      durationSec: 0,
      maxDurationSec: 50,
      enough: () => enough(live),
      live,
      connections: 4,
      mix: buildMix(stable.map((s) => s.name)),
      registry: reg,
      verify: { requireAnnotation: true },
      findings,
      notes,
      onStart: () => churn.start(),
    });
  };
  return { reg, churn, loadUnderChurn };
}

describe('churn driver and load against a clean fake', () => {
  it('churns every kind of operation and is never flagged', async () => {
    const { reg, churn, loadUnderChurn } = await setup('clean');
    const findings = new FindingLog(3);
    const notes = emptyNotes();
    const commitsBefore = fake!.commits;
    const ops = ['create', 'rename', 'describe', 'reconfig', 'disable', 'enable', 'delete', 'default', 'stable-describe', 'version'];
    const load = await loadUnderChurn(
      findings,
      (live) =>
        live.responses > 500 &&
        churn.stats.syncRequests > 100 &&
        fake!.commits - commitsBefore > 100 &&
        ops.every((op) => (churn.stats.ops[op]?.ok ?? 0) > 0),
      notes,
    );
    const stats = await churn.stop();
    expect(findings.samples).toEqual([]);
    expect(findings.count).toBe(0);
    expect(load.errors).toEqual({});
    expect(load.requests).toBeGreaterThan(500);
    expect(load.requests).toBe(load.autocannonResponses);
    for (const k of ['clusters', 'overview', 'resource', 'passthrough']) expect(load.byKind[k]!.responses).toBeGreaterThan(0);
    for (const op of ops) {
      expect(stats.ops[op]?.ok, `op ${op}: ${JSON.stringify(stats)}`).toBeGreaterThan(0);
    }
    expect(stats.syncRequests).toBeGreaterThan(100);
    expect(fake!.commits - commitsBefore).toBeGreaterThan(100);
    expect(notes.missingDescription).toBe(0);
    // The final state verifies too.
    const final = await (await fetch(`${fake!.url}/api/v1/clusters`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(checkClusterList(final, reg)).toBeUndefined();
  });
});

describe('load against a corrupting fake', () => {
  it('catches every kind of corruption and saves samples', async () => {
    const { churn, loadUnderChurn } = await setup('corrupt');
    const findings = new FindingLog(4);
    // Enough answers that every kind of read has been broken in every way the fake breaks it.
    const load = await loadUnderChurn(findings, (live) => live.responses >= 1500);
    await churn.stop();
    expect(load.requests).toBe(load.autocannonResponses);
    // Every 7th read is broken; all of them are caught, less the few answers still in flight when
    // autocannon stopped (at most one per connection) and the rare slot where the fake has nothing
    // to break (a reversed one-entry list, an empty list): allow 1% for those.
    const broken = Math.floor(fake!.reads / 7);
    expect(findings.count).toBeLessThanOrEqual(broken);
    expect(findings.count).toBeGreaterThanOrEqual(broken - 4 - Math.ceil(broken / 100));
    // Truncated bodies are errors; everything else the fake breaks is data no commit ever held.
    expect(findings.byClass.torn).toBeGreaterThan(0);
    expect(findings.byClass.error).toBeGreaterThan(0);
    expect(findings.byClass.torn + findings.byClass.error).toBe(findings.count);
    for (const k of ['clusters', 'overview', 'resource', 'passthrough']) expect(load.byKind[k]!.corrupt, k).toBeGreaterThan(0);
    const reasons = [...findings.byReason.keys()].join('\n');
    expect(reasons).toMatch(/^error: JSON does not parse/m);
    expect(reasons).toMatch(/not sorted|duplicate/);
    expect(reasons).toMatch(/never written/);
    expect(reasons).toMatch(/never served/);
    expect(reasons).toMatch(/came from cluster/);
    expect(reasons).toMatch(/overview is for cluster/);
    const dir = mkdtempSync(join(tmpdir(), 'load-test-'));
    try {
      const paths = findings.save(dir, 'run');
      expect(paths).toHaveLength(8); // 4 of each class found
      const first = JSON.parse(readFileSync(paths[0]!, 'utf8'));
      expect(first).toMatchObject({ cls: expect.any(String), request: expect.stringMatching(/^GET \//), reason: expect.any(String), body: expect.any(String), status: expect.any(Number) });
      expect(findings.examples(2).torn).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
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
  it('judges runs: every answer counts, only torn answers satisfy --expect-corruption, minimums name what is missing', () => {
    const base: JudgeInput = {
      lock: 'rw',
      requests: 5000,
      autocannonResponses: 5000,
      statusCounts: { '2xx': 5000 },
      errorCounts: {},
      corruptByClass: zeroCounts(),
      tornReadsReported: 0,
      contentCommits: 100,
      churnByKind: { create: 10, rename: 10, delete: 10, disable: 10, reconfig: 10 },
      loadedSec: 10,
      minimums: kDefaultMinimums,
      expectCorruption: false,
    };
    const cls = (c: Partial<ReturnType<typeof zeroCounts>>) => ({ ...zeroCounts(), ...c });
    expect(judge(base)).toMatchObject({ ok: true, failures: [] });
    expect(judge({ ...base, lock: 'mutex' }).ok).toBe(true);
    for (const k of ['torn', 'caught', 'error', 'missing'] as const) {
      expect(judge({ ...base, corruptByClass: cls({ [k]: 1 }) }).verdict).toMatch(new RegExp(`findings under lock rw: 1 ${k}`));
      expect(judge({ ...base, lock: 'mutex', corruptByClass: cls({ [k]: 1 }) }).ok).toBe(false);
    }
    expect(judge({ ...base, statusCounts: { '2xx': 4990, '5xx': 10 } }).verdict).toMatch(/10 5xx answers/);
    expect(judge({ ...base, errorCounts: { ECONNRESET: 2, timeout: 1 } }).verdict).toMatch(/3 requests without a response \(ECONNRESET×2 timeout×1\)/);
    expect(judge({ ...base, tornReadsReported: 4 }).verdict).toMatch(/fleetgate counted 4 torn reads itself/);
    expect(judge({ ...base, tornReadsReported: null }).verdict).toMatch(/fleetgate_torn_reads_total unknown/);
    expect(judge({ ...base, autocannonResponses: 5001 }).ok).toBe(false);
    expect(judge({ ...base, requests: 0, autocannonResponses: 0 }).verdict).toMatch(/no responses/);
    // none: findings and 5xx are the expected evidence, not failures.
    const none = { ...base, lock: 'none' as const, statusCounts: { '2xx': 4000, '5xx': 1000 }, corruptByClass: cls({ torn: 3, error: 9 }) };
    expect(judge(none).ok).toBe(true);
    expect(judge({ ...none, expectCorruption: true }).ok).toBe(true);
    const noTorn = judge({ ...none, expectCorruption: true, corruptByClass: cls({ caught: 2, error: 9, missing: 5 }) });
    expect(noTorn.ok).toBe(false);
    expect(noTorn.verdict).toMatch(/no 2xx answer was torn \(2 caught, 9 error, 5 missing do not count\)/);
    // Minimums, per second of loaded run.
    const thin = judge({ ...base, requests: 500, autocannonResponses: 500, contentCommits: 20, churnByKind: { create: 10, rename: 10, delete: 3, disable: 0, reconfig: 10 } });
    expect(thin.ok).toBe(false);
    expect(thin.failures).toEqual([
      '500 verified responses (minimum 1,000)',
      '20 content commits (minimum 50: 5/s over 10.0 s)',
      'churn too thin: 3 deletes, 0 disables (minimum 10 of each: 1/s over 10.0 s)',
    ]);
    expect(judge({ ...base, contentCommits: null }).verdict).toMatch(/content commits unknown/);
    expect(judge({ ...base, churnByKind: { create: 0, rename: 0, delete: 0, disable: 0, reconfig: 0 }, minimums: { ...kDefaultMinimums, churnPerSec: 0 } }).ok).toBe(true);
  });
  it('formats reports, examples and the comparison', () => {
    const r = (lock: 'rw' | 'mutex' | 'none', torn: number, rps: number): RunReport => {
      const input: JudgeInput = {
        lock, requests: 1000, autocannonResponses: 1000, statusCounts: { '2xx': 1000 }, errorCounts: {}, corruptByClass: { ...zeroCounts(), torn },
        tornReadsReported: 0, contentCommits: 100, churnByKind: { create: 10, rename: 10, delete: 10, disable: 10, reconfig: 10 }, loadedSec: 10,
        minimums: kDefaultMinimums, expectCorruption: false,
      };
      return {
        ...input, target: 't', workers: 2, clusters: 8, connections: 16, durationSec: 10, warmupSec: 0, churnRate: 50, readCache: 0, rps, p50Ms: 1.5, p99Ms: 12,
        statuses: { 200: 1000 }, corrupt: torn, corruptReasons: torn ? [{ reason: 'torn: x', count: torn }] : [],
        findingExamples: { torn: torn ? [{ request: 'GET /api/v1/clusters', status: 200, seen: '{"name":""}', reason: 'entry name is empty' }] : [], caught: [], error: [], missing: [] },
        findingSamples: [], byKind: { clusters: { responses: 1000, corrupt: torn } }, commits: 500, commitsPerSec: 50, commitHoldP99Us: 12.5,
        churnWrites: 80, churn: null, notes: [], ...judge(input),
      };
    };
    expect(formatReport(r('rw', 0, 100))).toMatch(/PASS: every answer consistent, every minimum met/);
    const bad = formatReport(r('mutex', 3, 100));
    expect(bad).toMatch(/FAIL: findings under lock mutex: 3 torn/);
    expect(bad).toMatch(/torn examples:\n  GET \/api\/v1\/clusters → 200\n    seen: \{"name":""\}\n    why:  entry name is empty/);
    const modes = (['rw', 'mutex', 'none'] as const).map((m, i) => summarise(m, [r(m, m === 'none' ? 42 : 0, 100 + i), r(m, 0, 300 + i), r(m, 0, 200 + i)]));
    expect(modes[0]).toMatchObject({ rps: 200, rounds: 3, ok: true });
    const table = formatCompare(modes, { rounds: 3, orders: [['rw', 'mutex', 'none']], warmupSec: 3, durationSec: 10, readCache: 0, head: 'h' });
    expect(table).toMatch(/metric \(median\)\s+rw\s+mutex\s+none/);
    expect(table).toMatch(/requests\/s\s+200\s+201\s+202/);
    expect(table).toMatch(/torn \(all rounds\)\s+0\s+0\s+42/);
    expect(table).toMatch(/caching: the same in all three modes/);
    expect(formatCompare(modes, { rounds: 3, orders: [], warmupSec: 3, durationSec: 10, readCache: 256, head: 'h' })).toMatch(/caching differs: rw and mutex keep a read cache of 256 entries/);
  });
  it('parses the CLI, the mix and groups reasons', () => {
    const p = parseLoadArgs(['--lock', 'none', '--expect-corruption', '--duration', '10', '--json', '--mix', 'clusters=1,passthrough=2']);
    expect(p).not.toBe('help');
    if (p === 'help') return;
    expect(p.opts).toMatchObject({ lock: 'none', expectCorruption: true, durationSec: 10, workers: 2, clusters: 8, churnRate: 100, churnConcurrency: 6, warmupSec: 0, progressSec: 5 });
    expect(p.opts.minimums).toEqual(kDefaultMinimums);
    expect(p.opts.readCache).toBeUndefined();
    expect(p.opts.mix).toEqual({ clusters: 1, overview: 0, resource: 0, passthrough: 2 });
    expect(p.json).toBe(true);
    const c = parseLoadArgs(['--compare', '--min-churn', '0', '--min-content-commits', '2', '--min-responses', '5']);
    if (c === 'help') throw new Error('help');
    expect(c).toMatchObject({ compare: true, rounds: 3, opts: { warmupSec: 3, readCache: 0, minimums: { churnPerSec: 0, contentCommitsPerSec: 2, responses: 5 } } });
    const u = parseLoadArgs(['--until-responses', '20000', '--until-content-commits', '300', '--max-duration', '120']);
    if (u === 'help') throw new Error('help');
    expect(u.opts).toMatchObject({ durationSec: 0, until: { responses: 20000, contentCommits: 300 }, maxDurationSec: 120 });
    expect(() => parseLoadArgs(['--until-responses', '5'])).toThrow(/go together/);
    expect(() => parseLoadArgs(['--target', 'http://x', '--read-cache', '0'])).toThrow(/--read-cache/);
    expect(() => parseLoadArgs(['--lock', 'spin'])).toThrow(/--lock/);
    expect(() => parseLoadArgs(['--compare', '--target', 'http://x'])).toThrow(/compare/);
    expect(() => parseMix('clusters=x')).toThrow();
    expect(parseLoadArgs(['--help'])).toBe('help');
    expect(reasonClass('[3] entry "churn-1-r2": description of rev 1')).toBe('entry "…": description of rev N');
    expect(JSON.parse(withToken(fakeKubeconfig('a'), 'new')).users[0].user.token).toBe('new');
  });
  it('imports nothing from fleetgate\'s src/', () => {
    const dir = new URL('../../load/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = readFileSync(new URL(f, dir), 'utf8');
      expect(text, f).not.toMatch(/from\s+['"][^'"]*\/src\//);
      expect(text, f).not.toMatch(/import\(\s*['"][^'"]*\/src\//);
    }
  });
  it('splits a kubeconfig into one-context kubeconfigs with @kubernetes/client-node', () => {
    const dir = mkdtempSync(join(tmpdir(), 'load-kc-'));
    try {
      const path = join(dir, 'kc.yaml');
      writeFileSync(
        path,
        [
          'apiVersion: v1', 'kind: Config',
          'clusters:',
          '- {name: a, cluster: {server: "https://127.0.0.1:1001", insecure-skip-tls-verify: true}}',
          '- {name: b, cluster: {server: "https://127.0.0.1:1002", certificate-authority-data: Q0E=}}',
          'users:', '- {name: ua, user: {token: ta}}', '- {name: ub, user: {token: tb}}',
          'contexts:', '- {name: ctx-a, context: {cluster: a, user: ua}}', '- {name: ctx-b, context: {cluster: b, user: ub}}',
          'current-context: ctx-a', '',
        ].join('\n'),
      );
      const m = contextKubeconfigs(path);
      expect([...m.keys()]).toEqual(['ctx-a', 'ctx-b']);
      const b = JSON.parse(m.get('ctx-b')!);
      expect(b).toMatchObject({
        'current-context': 'ctx-b',
        clusters: [{ name: 'b', cluster: { server: 'https://127.0.0.1:1002', 'certificate-authority-data': 'Q0E=' } }],
        users: [{ name: 'ub', user: { token: 'tb' } }],
        contexts: [{ name: 'ctx-b', context: { cluster: 'b', user: 'ub' } }],
      });
      expect(b.clusters).toHaveLength(1);
      expect(JSON.parse(withToken(m.get('ctx-a')!, 'rotated')).users[0].user.token).toBe('rotated');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('builds an interleaved mix that covers every cluster and kind', () => {
    const mix = buildMix(['a', 'b'], { clusters: 2, overview: 1, resource: 1, passthrough: 1 });
    expect(mix.map((m) => m.kind)).toEqual(['clusters', 'overview', 'clusters', 'resource', 'passthrough', 'clusters', 'overview', 'clusters', 'resource', 'passthrough']);
    expect(mix.filter((m) => m.asked === 'b')).toHaveLength(3);
    expect(mix.find((m) => m.kind === 'passthrough')!.path).toBe('/k8s/a/api/v1/namespaces');
  });
});

describe('whole runs against a fake fleetgate (--target): the verdict cannot be fooled', () => {
  const results = mkdtempSync(join(tmpdir(), 'load-fake-runs-'));
  afterAll(() => rmSync(results, { recursive: true, force: true }));

  /** The fake with two clusters registered; the run stops after 3,000 verified responses. */
  async function run(mode: FakeMode, lock: SuiteOptions['lock'], expectCorruption: boolean, churnRate = 100) {
    fake = await startFakeFleetgate({ token, mode, corruptEvery: 5 });
    for (const [i, name] of ['sim-0001', 'sim-0002'].entries()) {
      await fake.sim.setVersion(name, 'v1.30.0');
      const r = await fetch(`${fake.url}/api/v1/admin/clusters`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, description: 'stable', config: fakeKubeconfig(name), isDefault: i === 0 }),
      });
      expect(r.status).toBe(201);
    }
    return runSuite({
      lock, lockGiven: true, target: fake.url, token, expectCorruption,
      durationSec: 0, until: { responses: 3000 }, maxDurationSec: 60,
      clusters: 2, workers: 1, connections: 4, churnRate, churnConcurrency: 4, slots: 4, syncEveryMs: 5,
      mix: { clusters: 2, overview: 1, resource: 1, passthrough: 1 }, pods: 0, resultsDir: results,
      minimums: { responses: 3000, contentCommitsPerSec: 1, churnPerSec: 1 },
      log: () => {},
    });
  }

  it('a clean fake passes under rw (the control for the runs below)', async () => {
    const r = await run('clean', 'rw', false);
    expect(r.verdict).toBe('every answer consistent, every minimum met');
    expect(r.ok).toBe(true);
    expect(r.corrupt).toBe(0);
    expect(r.statusCounts).toEqual({ '2xx': r.requests });
    expect(r.churnWrites).toBeGreaterThan(0);
  }, 90_000);

  it('500s with a JSON body fail an rw run', async () => {
    const r = await run('error500', 'rw', false);
    expect(r.ok).toBe(false);
    expect(r.statusCounts['5xx']).toBeGreaterThan(0);
    expect(r.corruptByClass.error).toBe(r.statusCounts['5xx']);
    expect(r.verdict).toMatch(/findings under lock rw: \d+ error/);
    expect(r.verdict).toMatch(/\d+ 5xx answers/);
    expect(r.findingExamples.error[0]).toMatchObject({ status: 500, reason: 'status 500: internal error' });
  }, 90_000);

  for (const mode of ['notfound', 'truncated'] as const) {
    it(`${mode} answers do not satisfy --expect-corruption`, async () => {
      const r = await run(mode, 'none', true);
      expect(r.corruptByClass.torn).toBe(0);
      expect(r.corruptByClass.error).toBeGreaterThan(0);
      expect(r.ok).toBe(false);
      expect(r.verdict).toMatch(/corruption was expected but no 2xx answer was torn \(\d+ error do not count\)/);
    }, 90_000);
  }

  it('torn-looking data does satisfy --expect-corruption', async () => {
    const r = await run('corrupt', 'none', true);
    expect(r.corruptByClass.torn).toBeGreaterThan(0);
    expect(r.ok).toBe(true);
  }, 90_000);

  it('no churn fails the minimums, naming what is missing', async () => {
    const r = await run('clean', 'rw', false, 0);
    expect(r.ok).toBe(false);
    expect(r.churnWrites).toBe(0);
    expect(r.verdict).toMatch(/churn too thin: 0 adds, 0 renames, 0 deletes, 0 disables, 0 config changes/);
  }, 90_000);
});

