/**
 * One load run, end to end: start the simulator and fleetgate (or use a running target), register
 * stable clusters and wait until they answer, run autocannon and the churn together (a warm-up,
 * then the measurement), scrape /metrics before and after, and produce the RunReport.
 *
 * A run stops after `durationSec`, or, with `maxDurationSec`, once `until`'s counts are reached
 * (verified responses and content commits) or at that cap: tests stop on counts, not clocks.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChurnDriver, churnWrites, idOf, requiredCounts, type ChurnStats, type SimTarget, type StableCluster } from './churn.js';
import { FindingLog } from './corruption.js';
import { contextKubeconfigs } from './kubeconfig.js';
import { bucketDelta, histogramBuckets, histogramQuantile, sumOf, type Sample } from './prom.js';
import { WriteRegistry } from './registry.js';
import { judge, kDefaultMinimums, saveReport, type LockMode, type Minimums, type RunReport } from './report.js';
import { buildMix, kDefaultMix, newLiveCounts, runLoad, statusClass, type KindStats, type LoadResult, type MixWeights } from './scenario.js';
import { startFleetgate, waitFor200, type Child } from './processes.js';
import { stableDescription } from './scheme.js';
import { HttpSimControl } from './sim-control.js';
import { emptyNotes } from './verify.js';
import { kMetrics, RunWatch, scrape } from './watch.js';

export interface SuiteOptions {
  lock: LockMode;
  /** Seconds measured; with maxDurationSec and `until`, the least the run lasts (0: stop on counts alone). */
  durationSec: number;
  /** Seconds of load (and churn) before the measurement starts; judged, not measured. */
  warmupSec?: number;
  /** Simulated clusters (managed mode). */
  clusters: number;
  workers: number;
  connections: number;
  churnRate: number;
  /** Admin writes in flight at once. */
  churnConcurrency?: number;
  slots: number;
  /** Sync request period (ms). */
  syncEveryMs: number;
  mix: MixWeights;
  expectCorruption: boolean;
  resultsDir: string;
  /** Run against an already-running fleetgate. */
  target?: string;
  token?: string;
  /** Pods per simulated cluster. */
  pods: number;
  /** serve --read-cache for the managed server; undefined: the server's default. */
  readCache?: number;
  /** What the run must reach (default kDefaultMinimums). */
  minimums?: Minimums;
  /** Counts that end the measurement (checked twice a second once durationSec has passed). */
  until?: { responses?: number; contentCommits?: number };
  /** Cap of the measurement when `until` is given. */
  maxDurationSec?: number;
  /** A progress line every this many seconds (0 or undefined: none). */
  progressSec?: number;
  /** --lock was given explicitly (with --target it labels the run; the server is not asked). */
  lockGiven?: boolean;
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void;
}

function delta(before: Sample[] | undefined, after: Sample[] | undefined, name: string): number | null {
  const a = after && sumOf(after, name);
  if (a === undefined) return null;
  return a - ((before && sumOf(before, name)) ?? 0);
}

async function api(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

interface Setup {
  baseUrl: string;
  token: string;
  adminToken?: string;
  registry: WriteRegistry;
  loadClusters: string[];
  stable: StableCluster[];
  targets: SimTarget[];
  versionSims: string[];
  sim?: HttpSimControl;
  workers: number | null;
  lock: LockMode | 'unknown';
  requireAnnotation: boolean;
  /** Target mode: the server's original default, handed back after the churn. */
  restoreDefaultId?: number;
  cleanup: () => Promise<void>;
}

/**
 * Polls the cluster list until every stable cluster is probed (state ok): before that, requests
 * for it answer 503, which the verdict would rightly count against the run.
 */
async function waitStableOk(baseUrl: string, token: string, names: string[], timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    const r = await api(baseUrl, token, 'GET', '/api/v1/clusters');
    const list = Array.isArray(r.body) ? (r.body as { name?: unknown; state?: unknown }[]) : [];
    const notOk = names.filter((n) => !list.some((e) => e.name === n && e.state === 'ok'));
    if (notOk.length === 0) return;
    last = `${r.status}; not ok yet: ${notOk.join(', ')}`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`stable clusters not ok after ${timeoutMs} ms (${last})`);
}

/** Managed mode: a simulator and a fresh fleetgate on loopback, stable clusters registered. */
async function setupManaged(o: SuiteOptions): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-load-'));
  const children: Child[] = [];
  const cleanup = async () => {
    await Promise.all(children.reverse().map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const kubeconfigPath = join(dir, 'sim.kubeconfig');
    const infoPath = join(dir, 'sim.json');
    o.log(`starting simulator: ${o.clusters} clusters`);
    const sim = await startFleetgate(
      ['sim', '--clusters', String(o.clusters), '--out', kubeconfigPath, '--info', infoPath, '--control-port', '0', '--pods', String(o.pods)],
      process.env,
      /control interface at (http:\/\/127\.0\.0\.1:\d+)/,
    );
    children.push(sim.child);
    const control = new HttpSimControl(sim.match[1]!);
    const info = JSON.parse(readFileSync(infoPath, 'utf8')) as { clusters: { name: string; version: string }[] };
    const byName = contextKubeconfigs(kubeconfigPath);

    const registry = new WriteRegistry('churn', true);
    for (const c of info.clusters) registry.recordSimVersion(c.name, c.version);
    // The last third (at least one, when there are two or more) back the churn slots and get
    // their credentials rotated; the rest are stable clusters the load reads from.
    const nTargets = o.clusters >= 2 ? Math.max(1, Math.floor(o.clusters / 3)) : 0;
    const stableSims = info.clusters.slice(0, o.clusters - nTargets);
    const targetSims = info.clusters.slice(o.clusters - nTargets);
    const targets: SimTarget[] = targetSims.map((c) => ({ name: c.name, kubeconfig: byName.get(c.name)! }));

    const adminToken = `load-${randomBytes(16).toString('hex')}`;
    const env: NodeJS.ProcessEnv = { ...process.env, FLEETGATE_ADMIN_TOKEN: adminToken };
    delete env.FLEETGATE_ENCRYPTION_KEY;
    o.log(`starting fleetgate: lock ${o.lock}, ${o.workers} workers`);
    const server = await startFleetgate(
      ['serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, 'data'), '--lock', o.lock, '--workers', String(o.workers), '--sync-interval', '60s',
        // No HTTPS listener: the load speaks plain HTTP, and the fixed default port (8443) would
        // collide with any other fleetgate on the machine.
        '--tls-port', 'off',
        ...(o.readCache === undefined ? [] : ['--read-cache', String(o.readCache)])],
      env,
      /fleetgate: listening on (http:\/\/[^\s]+)/,
    );
    children.push(server.child);
    const baseUrl = server.match[1]!.replace(/\/$/, '');
    await waitFor200(`${baseUrl}/readyz`);

    const stable: StableCluster[] = [];
    for (let i = 0; i < stableSims.length; i++) {
      const name = stableSims[i]!.name;
      const description = stableDescription(name, 0);
      registry.recordStable(name, name, description);
      const r = await api(baseUrl, adminToken, 'POST', '/api/v1/admin/clusters', { name, description, config: byName.get(name), isDefault: i === 0 });
      const id = idOf(r.body);
      if (r.status !== 201 && r.status !== 200) throw new Error(`registering ${name}: ${r.status} ${r.text.slice(0, 300)}`);
      if (id === undefined) throw new Error(`registering ${name}: no id in ${r.text.slice(0, 300)}`);
      stable.push({ id, name, d: 0 });
    }
    await waitStableOk(baseUrl, adminToken, stable.map((s) => s.name));
    return {
      baseUrl,
      token: adminToken,
      adminToken,
      registry,
      loadClusters: stable.map((s) => s.name),
      stable,
      targets,
      versionSims: info.clusters.map((c) => c.name),
      sim: control,
      workers: o.workers,
      lock: o.lock,
      requireAnnotation: true,
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Target mode: someone else's fleetgate; names that are not ours get structural checks only. */
async function setupTarget(o: SuiteOptions): Promise<Setup> {
  const baseUrl = o.target!.replace(/\/$/, '');
  const token = o.token ?? '';
  const registry = new WriteRegistry(`churn-${randomBytes(2).toString('hex')}`, false);
  const list = await api(baseUrl, token, 'GET', '/api/v1/clusters');
  if (list.status !== 200 || !Array.isArray(list.body)) throw new Error(`GET /api/v1/clusters on ${baseUrl}: ${list.status} ${list.text.slice(0, 300)}`);
  const loadClusters = (list.body as { name: string; state?: string }[])
    .filter((c) => c.state === undefined || c.state === 'ok')
    .map((c) => c.name)
    .slice(0, 8);
  const admin = await api(baseUrl, token, 'GET', '/api/v1/admin/clusters');
  const isAdmin = admin.status === 200;
  if (!isAdmin) o.log(`token is not an admin token (GET /api/v1/admin/clusters → ${admin.status}): load and verifier only, no churn`);
  const rows = isAdmin && Array.isArray(admin.body) ? (admin.body as { id?: unknown; isDefault?: unknown }[]) : [];
  const original = rows.find((r) => r.isDefault === true && typeof r.id === 'number');
  // /metrics does not say which lock mode the server runs; --lock labels the run when given.
  const lock: LockMode | 'unknown' = o.lockGiven ? o.lock : 'unknown';
  return {
    baseUrl,
    token,
    adminToken: isAdmin ? token : undefined,
    registry,
    loadClusters,
    stable: [],
    targets: [],
    versionSims: [],
    workers: null,
    lock,
    requireAnnotation: false,
    restoreDefaultId: original?.id as number | undefined,
    cleanup: async () => {},
  };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

export async function runSuite(o: SuiteOptions): Promise<RunReport> {
  const setup = o.target ? await setupTarget(o) : await setupManaged(o);
  const findings = new FindingLog(5);
  const notes = emptyNotes();
  const live = newLiveCounts();
  const minimums = o.minimums ?? kDefaultMinimums;
  let churn: ChurnDriver | undefined;
  let churnStats: ChurnStats | null = null;
  const stem = `${new Date().toISOString().replace(/[:.]/g, '-')}-${setup.lock}`;
  let watch: RunWatch | undefined;
  try {
    if (setup.adminToken && o.churnRate > 0) {
      churn = new ChurnDriver({
        baseUrl: setup.baseUrl,
        adminToken: setup.adminToken,
        registry: setup.registry,
        targets: setup.targets,
        versionSims: setup.versionSims,
        stable: setup.stable,
        sim: setup.sim,
        slots: o.slots,
        ratePerSec: o.churnRate,
        concurrency: o.churnConcurrency,
        syncEveryMs: o.syncEveryMs,
        // Steer a little above the minimum, so a run on a busy machine still meets it.
        floorPerSec: minimums.churnPerSec * 1.5,
      });
    }
    const before = await scrape(setup.baseUrl);
    const warmupSec = o.warmupSec ?? 0;
    const countStop = o.until !== undefined && o.maxDurationSec !== undefined;
    o.log(
      `${warmupSec ? `${warmupSec}s warm-up, then ` : ''}${countStop ? `until ${o.until!.responses ?? 0} responses and ${o.until!.contentCommits ?? 0} content commits (cap ${o.maxDurationSec}s)` : `${o.durationSec}s`}, ` +
        `${o.connections} connections, ${setup.loadClusters.length} clusters read, churn ${churn ? `${o.churnRate}/s` : 'off'}`,
    );

    const w = new RunWatch({
      baseUrl: setup.baseUrl,
      before,
      live,
      findings,
      churnWrites: () => churnWrites(churn?.stats ?? null),
      progressSec: o.progressSec,
      log: o.log,
    });
    watch = w;
    const common = {
      baseUrl: setup.baseUrl,
      token: setup.token,
      connections: o.connections,
      mix: buildMix(setup.loadClusters, o.mix),
      registry: setup.registry,
      verify: { requireAnnotation: setup.requireAnnotation },
      findings,
      notes,
      live,
    };
    const startLoad = () => {
      churn?.start();
      w.start();
    };
    let warm: LoadResult | undefined;
    if (warmupSec > 0) warm = await runLoad({ ...common, durationSec: warmupSec, onStart: startLoad });
    const load = await runLoad({
      ...common,
      durationSec: o.durationSec,
      maxDurationSec: countStop ? o.maxDurationSec : undefined,
      enough: () => live.responses >= (o.until?.responses ?? 0) && w.contentCommits >= (o.until?.contentCommits ?? 0),
      onStart: warm ? undefined : startLoad,
    });
    if (churn) {
      churnStats = await churn.stop();
      if (o.target) await churn.cleanup(setup.restoreDefaultId);
    }
    w.stop();
    const loadedSec = w.elapsedSec();
    const after = await scrape(setup.baseUrl);
    const commits = delta(before, after, kMetrics.commits);
    const contentCommits = delta(before, after, kMetrics.contentCommits);
    const holdDelta = after ? bucketDelta(before ? histogramBuckets(before, kMetrics.hold) : new Map(), histogramBuckets(after, kMetrics.hold)) : new Map<number, number>();
    // No lock, no hold (none mode observes 0): say 0 rather than interpolate inside the first bucket.
    const holdSum = delta(before, after, `${kMetrics.hold}_sum`);
    const hold = holdSum === 0 ? (histogramQuantile(0.99, holdDelta) === undefined ? undefined : 0) : histogramQuantile(0.99, holdDelta);
    const reportNotes: string[] = [];
    if (notes.missingDescription > 0) {
      reportNotes.push(`${notes.missingDescription} cluster list entries had no "description" field: the description checks were skipped for them (names, versions, order and defaults were still checked)`);
    }
    if (!after) reportNotes.push('GET /metrics failed: commits, commit hold and torn reads are unknown');
    else {
      if (commits === null) reportNotes.push(`${kMetrics.commits} is missing from /metrics`);
      if (contentCommits === null) reportNotes.push(`${kMetrics.contentCommits} is missing from /metrics`);
      if (hold === undefined) reportNotes.push(`${kMetrics.hold}_bucket is missing from /metrics or empty`);
      if (sumOf(after, kMetrics.torn) === undefined) reportNotes.push(`${kMetrics.torn} is missing from /metrics`);
    }
    if (countStop && (live.responses < (o.until!.responses ?? 0) || w.contentCommits < (o.until!.contentCommits ?? 0))) {
      reportNotes.push(`stopped at the ${o.maxDurationSec} s cap before reaching the counts asked for`);
    }
    if (churnStats?.lastError) reportNotes.push(`last churn error: ${churnStats.lastError}`);
    if (!churn) reportNotes.push(o.churnRate > 0 ? 'no churn: the token is not an admin token' : 'no churn: --churn-rate 0');
    const samplePaths = findings.save(o.resultsDir, stem);
    const statuses = addCounts({ ...(warm?.statuses ?? {}) }, load.statuses);
    const statusCounts: Record<string, number> = {};
    for (const [s, n] of Object.entries(statuses)) statusCounts[statusClass(s)] = (statusCounts[statusClass(s)] ?? 0) + n;
    const byKind: Record<string, KindStats> = {};
    for (const r of [warm, load]) {
      for (const [k, v] of Object.entries(r?.byKind ?? {})) {
        const t = (byKind[k] ??= { responses: 0, corrupt: 0 });
        t.responses += v.responses;
        t.corrupt += v.corrupt;
      }
    }
    const base = {
      lock: setup.lock,
      target: o.target ?? 'managed (simulator + fleetgate on loopback)',
      workers: setup.workers,
      clusters: o.target ? setup.loadClusters.length : o.clusters,
      connections: o.connections,
      durationSec: load.durationSec,
      warmupSec,
      loadedSec,
      churnRate: churn ? o.churnRate : 0,
      readCache: o.target ? null : (o.readCache ?? null),
      requests: live.responses,
      autocannonResponses: load.autocannonResponses + (warm?.autocannonResponses ?? 0),
      rps: load.rps,
      p50Ms: load.p50Ms,
      p99Ms: load.p99Ms,
      statusCounts,
      statuses,
      errorCounts: { ...live.errors },
      corrupt: findings.count,
      corruptByClass: { ...findings.byClass },
      corruptReasons: findings.topReasons(8),
      findingExamples: findings.examples(3),
      findingSamples: samplePaths,
      byKind,
      commits,
      contentCommits,
      commitsPerSec: commits === null ? null : Math.round(commits / loadedSec),
      commitHoldP99Us: hold ?? null,
      tornReadsReported: delta(before, after, kMetrics.torn),
      churnWrites: churnWrites(churnStats),
      churnByKind: requiredCounts(churnStats),
      churn: churnStats,
      minimums,
      notes: reportNotes,
      expectCorruption: o.expectCorruption,
    };
    const verdict = judge(base);
    const report: RunReport = { ...base, ...verdict };
    saveReport(o.resultsDir, stem, report);
    return report;
  } finally {
    watch?.stop();
    if (churn && churnStats === null) await churn.stop().catch(() => undefined);
    await setup.cleanup();
  }
}

export { kDefaultMix };
