/**
 * The load suite end to end against the real server: a simulator and fleetgate on loopback,
 * churn and autocannon together, the default minimums enforced. Under the reader-writer lock and
 * the mutex no answer of any class may be wrong; with the lock off the verifier must find torn
 * answers; without churn the run must fail its minimums. Every run stops on counts (verified
 * responses, content commits) with a generous cap, never on a fixed duration.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatReport, type RunReport } from '../../load/report.js';
import { kDefaultMix, runSuite, type SuiteOptions } from '../../load/suite.js';

const results = mkdtempSync(join(tmpdir(), 'fleetgate-load-e2e-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));

const built = existsSync(new URL('../../dist/src/cli.js', import.meta.url));

// Weighted towards the cluster list (served from the index, so the cheapest request and the one
// torn reads reach first).
const mix = { ...kDefaultMix, clusters: 10 };

function options(lock: SuiteOptions['lock'], responses: number, contentCommits: number): SuiteOptions {
  return {
    lock,
    durationSec: 0,
    until: { responses, contentCommits },
    maxDurationSec: 240,
    clusters: 8,
    workers: 2,
    connections: 16,
    churnRate: 100,
    churnConcurrency: 6,
    slots: 6,
    syncEveryMs: 5,
    mix,
    pods: 20,
    expectCorruption: lock === 'none',
    resultsDir: results,
    log: () => {},
  };
}

function expectClean(r: RunReport, responses: number, contentCommits: number): void {
  console.log(formatReport(r));
  expect(r.corruptByClass, r.corruptReasons.map((c) => c.reason).join('\n')).toEqual({ torn: 0, caught: 0, error: 0, missing: 0 });
  expect(r.statusCounts).toEqual({ '2xx': r.requests });
  expect(r.errorCounts).toEqual({});
  expect(r.tornReadsReported).toBe(0);
  expect(r.requests).toBe(r.autocannonResponses);
  expect(r.requests).toBeGreaterThanOrEqual(responses);
  expect(r.contentCommits).toBeGreaterThanOrEqual(contentCommits);
  expect(r.commits).toBeGreaterThanOrEqual(r.contentCommits!);
  expect(r.verdict).toBe('every answer consistent, every minimum met');
  expect(r.ok).toBe(true);
}

describe.skipIf(!built)('load suite against fleetgate (dist/ must be built)', () => {
  it('rw: 20,000 verified responses and 300 content commits, no finding of any class', async () => {
    expectClean(await runSuite(options('rw', 20_000, 300)), 20_000, 300);
  }, 300_000);

  it('mutex: 10,000 verified responses and 200 content commits, no finding of any class', async () => {
    expectClean(await runSuite(options('mutex', 10_000, 200)), 10_000, 200);
  }, 300_000);

  it('none: torn answers reach clients', async () => {
    // A little more churn than the default: more commits that move bytes, more chances to tear.
    const r = await runSuite({ ...options('none', 20_000, 300), churnRate: 150, churnConcurrency: 8 });
    console.log(formatReport(r));
    expect(r.requests).toBe(r.autocannonResponses);
    expect(r.corruptByClass.torn).toBeGreaterThan(0);
    expect(r.findingExamples.torn.length).toBeGreaterThan(0);
    expect(r.ok).toBe(true);
  }, 300_000);

  it('no churn: the run fails its minimums and says which', async () => {
    const r = await runSuite({ ...options('rw', 2_000, 0), churnRate: 0 });
    expect(r.corrupt).toBe(0);
    expect(r.ok).toBe(false);
    expect(r.churnWrites).toBe(0);
    expect(r.verdict).toMatch(/content commits \(minimum \d+/);
    expect(r.verdict).toMatch(/churn too thin: 0 adds, 0 renames, 0 deletes, 0 disables, 0 config changes/);
  }, 300_000);
});
