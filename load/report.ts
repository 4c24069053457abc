/**
 * The run report: one JSON object per run (`--json`), a readable table, and the side-by-side
 * table of `--compare`. Also the pass/fail rule, which names every reason a run fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kRequiredKinds, type ChurnStats, type RequiredKind } from './churn.js';
import type { ClassCounts, FindingExample } from './corruption.js';
import type { KindStats } from './scenario.js';
import { kFindingClasses, type FindingClass } from './verify.js';

export type LockMode = 'rw' | 'mutex' | 'none';

/** What a run must reach; 0 turns a minimum off. */
export interface Minimums {
  /** Verified responses. */
  responses: number;
  /** Content commits per second of loaded run. */
  contentCommitsPerSec: number;
  /** Successful churn writes of each kind in kRequiredKinds per second of loaded run. */
  churnPerSec: number;
}

export const kDefaultMinimums: Minimums = { responses: 1000, contentCommitsPerSec: 5, churnPerSec: 1 };

export interface RunReport {
  lock: LockMode | 'unknown';
  target: string;
  workers: number | null;
  clusters: number;
  connections: number;
  /** Seconds measured (requests/s and latency come from these). */
  durationSec: number;
  /** Seconds of load before the measurement (responses judged, not measured). */
  warmupSec: number;
  /** Seconds the churn ran (warm-up and measurement): the minimums are per second of these. */
  loadedSec: number;
  churnRate: number;
  /** HTTP workers' read cache (serve --read-cache); null when the server's own default. */
  readCache: number | null;
  /** Responses verified, warm-up included. */
  requests: number;
  autocannonResponses: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses by status class (`2xx`, `4xx`, `5xx`…). */
  statusCounts: Record<string, number>;
  /** Responses by status. */
  statuses: Record<string, number>;
  /** Requests that got no response, by kind: connection error code, `timeout`, `closed`. */
  errorCounts: Record<string, number>;
  /** Findings of every class. */
  corrupt: number;
  corruptByClass: ClassCounts;
  corruptReasons: { reason: string; count: number }[];
  findingExamples: Record<FindingClass, FindingExample[]>;
  findingSamples: string[];
  byKind: Record<string, KindStats>;
  /** Index commits during the run (fleetgate_index_commits_total delta). */
  commits: number | null;
  /** Commits that changed the index (fleetgate_index_content_commits_total delta). */
  contentCommits: number | null;
  commitsPerSec: number | null;
  /** p99 write-lock hold per commit during the run, µs (histogram delta). */
  commitHoldP99Us: number | null;
  /** fleetgate_torn_reads_total delta: torn reads fleetgate's own checksums caught. */
  tornReadsReported: number | null;
  /** Successful writes of the churn client to the cluster table. */
  churnWrites: number;
  /** Successful churn writes of each required kind. */
  churnByKind: Record<RequiredKind, number>;
  churn: ChurnStats | null;
  minimums: Minimums;
  notes: string[];
  expectCorruption: boolean;
  /** Every reason the run failed (empty when it passed). */
  failures: string[];
  ok: boolean;
  verdict: string;
}

export type JudgeInput = Pick<
  RunReport,
  | 'lock'
  | 'requests'
  | 'autocannonResponses'
  | 'statusCounts'
  | 'errorCounts'
  | 'corruptByClass'
  | 'tornReadsReported'
  | 'contentCommits'
  | 'churnByKind'
  | 'loadedSec'
  | 'minimums'
  | 'expectCorruption'
>;

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** What a run falls short of, by name; empty when every minimum is met. */
export function missingMinimums(r: Pick<JudgeInput, 'requests' | 'contentCommits' | 'churnByKind' | 'loadedSec' | 'minimums'>): string[] {
  const out: string[] = [];
  const m = r.minimums;
  if (r.requests < m.responses) out.push(`${plural(r.requests, 'verified response')} (minimum ${m.responses.toLocaleString('en-US')})`);
  const commitsNeeded = Math.floor(m.contentCommitsPerSec * r.loadedSec);
  if (commitsNeeded > 0) {
    if (r.contentCommits === null) out.push(`content commits unknown (fleetgate_index_content_commits_total not in /metrics; minimum ${commitsNeeded})`);
    else if (r.contentCommits < commitsNeeded) out.push(`${plural(r.contentCommits, 'content commit')} (minimum ${commitsNeeded}: ${m.contentCommitsPerSec}/s over ${r.loadedSec.toFixed(1)} s)`);
  }
  const churnNeeded = Math.floor(m.churnPerSec * r.loadedSec);
  if (churnNeeded > 0) {
    const short = (Object.keys(kRequiredKinds) as RequiredKind[]).filter((k) => r.churnByKind[k] < churnNeeded);
    if (short.length > 0) {
      out.push(`churn too thin: ${short.map((k) => `${r.churnByKind[k]} ${kRequiredKinds[k]}`).join(', ')} (minimum ${churnNeeded} of each: ${m.churnPerSec}/s over ${r.loadedSec.toFixed(1)} s)`);
    }
  }
  return out;
}

const fmtCounts = (m: Record<string, number>) =>
  Object.keys(m).length === 0 ? 'none' : Object.entries(m).sort().map(([s, n]) => `${s}×${n}`).join(' ');

/**
 * Pass/fail. Every run needs its responses all verified and its minimums met. Under rw and mutex
 * (and a target of unknown mode) a run also fails on any finding, any 5xx, any request without a
 * response, and any torn read fleetgate counted itself (or an unknown count). With
 * expectCorruption it fails unless some 2xx answer was torn.
 */
export function judge(r: JudgeInput): { ok: boolean; verdict: string; failures: string[] } {
  const failures: string[] = [];
  if (r.requests === 0) failures.push('no responses were received');
  if (r.requests !== r.autocannonResponses) failures.push(`verified ${r.requests} responses but autocannon counted ${r.autocannonResponses}`);
  const c = r.corruptByClass;
  if (r.lock !== 'none') {
    const found = kFindingClasses.filter((k) => c[k] > 0);
    if (found.length > 0) failures.push(`findings under lock ${r.lock}: ${found.map((k) => `${c[k]} ${k}`).join(', ')}`);
    const fivexx = r.statusCounts['5xx'] ?? 0;
    if (fivexx > 0) failures.push(`${plural(fivexx, '5xx answer')}`);
    const lost = Object.values(r.errorCounts).reduce((a, b) => a + b, 0);
    if (lost > 0) failures.push(`${plural(lost, 'request')} without a response (${fmtCounts(r.errorCounts)})`);
    if (r.tornReadsReported === null) failures.push('fleetgate_torn_reads_total unknown (GET /metrics failed or lacks it)');
    else if (r.tornReadsReported > 0) failures.push(`fleetgate counted ${plural(r.tornReadsReported, 'torn read')} itself`);
  }
  if (r.expectCorruption && c.torn === 0) {
    const other = kFindingClasses.filter((k) => k !== 'torn' && c[k] > 0).map((k) => `${c[k]} ${k}`);
    failures.push(`corruption was expected but no 2xx answer was torn${other.length ? ` (${other.join(', ')} do not count)` : ''}`);
  }
  failures.push(...missingMinimums(r));
  if (failures.length > 0) return { ok: false, verdict: failures.join('; '), failures };
  const total = kFindingClasses.reduce((a, k) => a + c[k], 0);
  if (r.expectCorruption) return { ok: true, verdict: `torn answers found as expected (${c.torn} torn of ${total} findings)`, failures };
  if (total > 0) return { ok: true, verdict: `${total} findings (${c.torn} torn; lock none: expected, not a failure)`, failures };
  return { ok: true, verdict: 'every answer consistent, every minimum met', failures };
}

const fmtInt = (n: number | null | undefined) => (n === null || n === undefined ? '—' : Math.round(n).toLocaleString('en-US'));
const fmtMs = (n: number | null | undefined) => (n === null || n === undefined ? '—' : `${n.toFixed(n < 10 ? 2 : 1)} ms`);
const fmtUs = (n: number | null | undefined) => (n === null || n === undefined ? '—' : `${n.toFixed(1)} µs`);
const fmtClasses = (c: ClassCounts) => kFindingClasses.map((k) => `${k} ${c[k]}`).join(', ');

function rows(r: RunReport): [string, string][] {
  return [
    ['lock', r.lock],
    ['responses verified', fmtInt(r.requests)],
    ['requests/s (measured)', fmtInt(r.rps)],
    ['latency p50 / p99', `${fmtMs(r.p50Ms)} / ${fmtMs(r.p99Ms)}`],
    ['status classes', fmtCounts(r.statusCounts)],
    ['no response', fmtCounts(r.errorCounts)],
    ['FINDINGS', `${fmtInt(r.corrupt)} (${fmtClasses(r.corruptByClass)})`],
    ['torn reads (server)', fmtInt(r.tornReadsReported)],
    ['index commits (content)', `${fmtInt(r.commits)} (${fmtInt(r.contentCommits)})`],
    ['commit hold p99', fmtUs(r.commitHoldP99Us)],
    ['churn writes', `${fmtInt(r.churnWrites)} (${(Object.keys(kRequiredKinds) as RequiredKind[]).map((k) => `${fmtInt(r.churnByKind[k])} ${kRequiredKinds[k]}`).join(', ')})`],
  ];
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** A few examples of each class: the request, what was seen, why it is impossible. */
export function formatExamples(ex: Record<FindingClass, FindingExample[]>): string[] {
  const out: string[] = [];
  for (const k of kFindingClasses) {
    if (ex[k].length === 0) continue;
    out.push(`${k} examples:`);
    for (const e of ex[k]) out.push(`  ${e.request} → ${e.status}`, `    seen: ${e.seen}`, `    why:  ${e.reason}`);
  }
  return out;
}

export function formatReport(r: RunReport): string {
  const out = [
    `fleetgate load: ${r.target}, lock ${r.lock}, ${r.workers ?? '?'} workers, ${r.clusters} clusters, ${r.connections} connections, ` +
      `${r.durationSec.toFixed(1)} s measured${r.warmupSec ? ` after ${r.warmupSec} s warm-up` : ''}, churn ${r.churnRate}/s`,
    '',
    table(['metric', 'value'], rows(r)),
  ];
  if (Object.keys(r.byKind).length) {
    out.push('', table(['request kind', 'responses', 'findings'], Object.entries(r.byKind).map(([k, v]) => [k, fmtInt(v.responses), fmtInt(v.corrupt)])));
  }
  if (r.corruptReasons.length) {
    out.push('', 'findings (most frequent reasons):');
    for (const c of r.corruptReasons) out.push(`  ${String(c.count).padStart(7)}  ${c.reason}`);
  }
  const ex = formatExamples(r.findingExamples);
  if (ex.length) out.push('', ...ex);
  if (r.findingSamples.length) out.push('', `whole answers saved: ${r.findingSamples.join(', ')}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  out.push('', `${r.ok ? 'PASS' : 'FAIL'}: ${r.verdict}`);
  return out.join('\n');
}

function median(xs: number[]): number | null {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

export interface ModeSummary {
  lock: LockMode;
  rounds: number;
  rps: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  commitHoldP99Us: number | null;
  contentCommitsPerSec: number | null;
  /** Sums over the rounds. */
  requests: number;
  corruptByClass: ClassCounts;
  tornReadsReported: number;
  ok: boolean;
}

/** Medians (and sums of findings) of one mode's rounds. */
export function summarise(lock: LockMode, runs: RunReport[]): ModeSummary {
  const by = { torn: 0, caught: 0, error: 0, missing: 0 };
  for (const r of runs) for (const k of kFindingClasses) by[k] += r.corruptByClass[k];
  return {
    lock,
    rounds: runs.length,
    rps: median(runs.map((r) => r.rps)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    commitHoldP99Us: median(runs.flatMap((r) => (r.commitHoldP99Us === null ? [] : [r.commitHoldP99Us]))),
    contentCommitsPerSec: median(runs.flatMap((r) => (r.contentCommits === null ? [] : [r.contentCommits / r.loadedSec]))),
    requests: runs.reduce((a, r) => a + r.requests, 0),
    corruptByClass: by,
    tornReadsReported: runs.reduce((a, r) => a + (r.tornReadsReported ?? 0), 0),
    ok: runs.every((r) => r.ok),
  };
}

/** What differs between the modes besides the lock, for the comparison's header. */
export function cachingNote(readCache: number | null): string {
  if (readCache === 0) return 'caching: the same in all three modes (serve --read-cache 0: every read decodes shared memory)';
  const size = readCache === null ? "the server's default read cache" : `a read cache of ${readCache} entries`;
  return `caching differs: rw and mutex keep ${size} per index generation; none never caches (a cached copy would hide the tears it exists to show)`;
}

/** rw, mutex and none side by side (medians over rounds): the table a teacher would show. */
export function formatCompare(modes: ModeSummary[], o: { rounds: number; orders: LockMode[][]; warmupSec: number; durationSec: number; readCache: number | null; head: string }): string {
  const header = ['metric (median)', ...modes.map((m) => m.lock)];
  const metric = (name: string, f: (m: ModeSummary) => string) => [name, ...modes.map(f)];
  const body = [
    metric('requests/s', (m) => fmtInt(m.rps)),
    metric('latency p50', (m) => fmtMs(m.p50Ms)),
    metric('latency p99', (m) => fmtMs(m.p99Ms)),
    metric('commit hold p99', (m) => fmtUs(m.commitHoldP99Us)),
    metric('content commits/s', (m) => fmtInt(m.contentCommitsPerSec)),
    metric('responses (all rounds)', (m) => fmtInt(m.requests)),
    ...kFindingClasses.map((k) => metric(`${k} (all rounds)`, (m) => fmtInt(m.corruptByClass[k]))),
    metric('torn reads (server)', (m) => fmtInt(m.tornReadsReported)),
    metric('verdict', (m) => (m.ok ? 'PASS' : 'FAIL')),
  ];
  return [
    o.head,
    `${o.rounds} rounds, order rotated (${o.orders.map((r) => r.join('→')).join(', ')}); each run: ${o.warmupSec} s warm-up, then ${o.durationSec} s measured`,
    cachingNote(o.readCache),
    '',
    table(header, body),
  ].join('\n');
}

/** Writes the JSON report under `dir`; returns its path. */
export function saveReport(dir: string, stem: string, value: unknown): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${stem}.json`);
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
  return path;
}
