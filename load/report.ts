/**
 * The run report: one JSON object per run (`--json`), a readable table, and the side-by-side
 * table of `--compare`. Also the pass/fail rule.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChurnStats } from './churn.js';
import type { KindStats } from './scenario.js';

export type LockMode = 'rw' | 'mutex' | 'none';

export interface RunReport {
  lock: LockMode | 'unknown';
  target: string;
  workers: number | null;
  clusters: number;
  connections: number;
  durationSec: number;
  churnRate: number;
  /** Responses whose bodies were verified. */
  requests: number;
  autocannonResponses: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx responses by status. */
  non2xx: Record<string, number>;
  errors: number;
  timeouts: number;
  corrupt: number;
  corruptReasons: { reason: string; count: number }[];
  corruptSamples: string[];
  byKind: Record<string, KindStats>;
  /** Index commits during the run (fleetgate_index_commits_total delta). */
  commits: number | null;
  commitsPerSec: number | null;
  /** p99 write-lock hold per commit during the run, µs (histogram delta). */
  commitHoldP99Us: number | null;
  /** fleetgate_torn_reads_total delta: torn reads fleetgate's own checksums caught. */
  tornReadsReported: number | null;
  churn: ChurnStats | null;
  notes: string[];
  expectCorruption: boolean;
  ok: boolean;
  verdict: string;
}

/** Pass/fail: corruption fails rw/mutex; with expectCorruption, finding none fails. */
export function judge(r: Pick<RunReport, 'lock' | 'corrupt' | 'requests' | 'autocannonResponses' | 'expectCorruption'>): { ok: boolean; verdict: string } {
  if (r.requests === 0) return { ok: false, verdict: 'no responses were received' };
  if (r.requests !== r.autocannonResponses) {
    return { ok: false, verdict: `verified ${r.requests} responses but autocannon counted ${r.autocannonResponses}` };
  }
  if (r.expectCorruption) {
    return r.corrupt > 0
      ? { ok: true, verdict: `corruption found as expected (${r.corrupt} corrupt responses)` }
      : { ok: false, verdict: 'corruption was expected but none was found' };
  }
  if (r.corrupt > 0) {
    return r.lock === 'none'
      ? { ok: true, verdict: `${r.corrupt} corrupt responses (lock none: expected, not a failure)` }
      : { ok: false, verdict: `${r.corrupt} corrupt responses under lock ${r.lock}` };
  }
  return { ok: true, verdict: 'no corrupt responses' };
}

const fmtInt = (n: number | null | undefined) => (n === null || n === undefined ? '—' : Math.round(n).toLocaleString('en-US'));
const fmtMs = (n: number | null | undefined) => (n === null || n === undefined ? '—' : `${n.toFixed(n < 10 ? 2 : 1)} ms`);
const fmtUs = (n: number | null | undefined) => (n === null || n === undefined ? '—' : `${n.toFixed(1)} µs`);
const fmtStatuses = (m: Record<string, number>) =>
  Object.keys(m).length === 0 ? '0' : Object.entries(m).map(([s, n]) => `${s}×${n}`).join(' ');

function rows(r: RunReport): [string, string][] {
  return [
    ['lock', r.lock],
    ['requests (verified)', fmtInt(r.requests)],
    ['requests/s', fmtInt(r.rps)],
    ['latency p50', fmtMs(r.p50Ms)],
    ['latency p99', fmtMs(r.p99Ms)],
    ['non-2xx', fmtStatuses(r.non2xx)],
    ['errors / timeouts', `${r.errors} / ${r.timeouts}`],
    ['CORRUPT responses', fmtInt(r.corrupt)],
    ['index commits', fmtInt(r.commits)],
    ['commits/s', fmtInt(r.commitsPerSec)],
    ['commit hold p99', fmtUs(r.commitHoldP99Us)],
    ['torn reads (server)', fmtInt(r.tornReadsReported)],
    ['churn ops ok/failed', r.churn ? churnTotals(r.churn) : '—'],
  ];
}

function churnTotals(c: ChurnStats): string {
  let ok = 0;
  let failed = 0;
  for (const v of Object.values(c.ops)) {
    ok += v.ok;
    failed += v.failed;
  }
  return `${ok} / ${failed} (+${c.syncRequests} sync requests, ${c.syncFailures} failed)`;
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function formatReport(r: RunReport): string {
  const out = [
    `fleetgate load: ${r.target}, lock ${r.lock}, ${r.workers ?? '?'} workers, ${r.clusters} clusters, ${r.connections} connections, ${r.durationSec}s, churn ${r.churnRate}/s`,
    '',
    table(['metric', 'value'], rows(r)),
  ];
  if (Object.keys(r.byKind).length) {
    out.push('', table(['request kind', 'responses', 'corrupt'], Object.entries(r.byKind).map(([k, v]) => [k, fmtInt(v.responses), fmtInt(v.corrupt)])));
  }
  if (r.corruptReasons.length) {
    out.push('', 'corruption found (most frequent reasons):');
    for (const c of r.corruptReasons) out.push(`  ${String(c.count).padStart(7)}  ${c.reason}`);
  }
  if (r.corruptSamples.length) out.push('', `first corrupt responses saved: ${r.corruptSamples.join(', ')}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  out.push('', `${r.ok ? 'PASS' : 'FAIL'}: ${r.verdict}`);
  return out.join('\n');
}

/** rw, mutex and none side by side: the table a teacher would show. */
export function formatCompare(reports: RunReport[]): string {
  const header = ['metric', ...reports.map((r) => r.lock)];
  const metric = (name: string, f: (r: RunReport) => string) => [name, ...reports.map(f)];
  const body = [
    metric('requests/s', (r) => fmtInt(r.rps)),
    metric('requests verified', (r) => fmtInt(r.requests)),
    metric('latency p50', (r) => fmtMs(r.p50Ms)),
    metric('latency p99', (r) => fmtMs(r.p99Ms)),
    metric('non-2xx', (r) => fmtInt(Object.values(r.non2xx).reduce((a, b) => a + b, 0))),
    metric('CORRUPT responses', (r) => fmtInt(r.corrupt)),
    metric('torn reads (server)', (r) => fmtInt(r.tornReadsReported)),
    metric('index commits', (r) => fmtInt(r.commits)),
    metric('commit hold p99', (r) => fmtUs(r.commitHoldP99Us)),
    metric('verdict', (r) => (r.ok ? 'PASS' : 'FAIL')),
  ];
  const first = reports[0];
  const head = first
    ? `fleetgate load --compare: ${first.workers ?? '?'} workers, ${first.clusters} clusters, ${first.connections} connections, ${first.durationSec}s each, churn ${first.churnRate}/s`
    : 'fleetgate load --compare';
  return [head, '', table(header, body)].join('\n');
}

/** Writes the JSON report under `dir`; returns its path. */
export function saveReport(dir: string, stem: string, value: unknown): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${stem}.json`);
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
  return path;
}
