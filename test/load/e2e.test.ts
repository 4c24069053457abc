/**
 * The load suite end to end against the real server: a simulator and fleetgate on loopback,
 * churn and autocannon together. Under the reader-writer lock nothing may be corrupt; with the
 * lock off the verifier must find corruption. About 30 s in all.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatReport } from '../../load/report.js';
import { kDefaultMix, runSuite, type SuiteOptions } from '../../load/suite.js';

const results = mkdtempSync(join(tmpdir(), 'fleetgate-load-e2e-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));

const built = existsSync(new URL('../../dist/src/cli.js', import.meta.url));

// Weighted towards the cluster list (served from the index, so the cheapest request and the one
// torn reads reach first), so a loaded 2-core machine still verifies 20,000 responses in time.
const mix = { ...kDefaultMix, clusters: 10 };

function options(lock: SuiteOptions['lock'], durationSec: number): SuiteOptions {
  return {
    lock,
    durationSec,
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

describe.skipIf(!built)('load suite against fleetgate (dist/ must be built)', () => {
  it('rw: at least 20,000 verified responses and 300 commits, zero corrupt', async () => {
    // 10 s, extended (up to 20 s) while the minimums are not reached on a busy machine.
    const r = await runSuite({ ...options('rw', 10), minRequests: 21_000, minCommits: 320, maxDurationSec: 20 });
    console.log(formatReport(r));
    expect(r.corrupt, r.corruptReasons.map((c) => c.reason).join('\n')).toBe(0);
    expect(r.requests).toBe(r.autocannonResponses);
    expect(r.requests).toBeGreaterThanOrEqual(20_000);
    expect(r.commits).toBeGreaterThanOrEqual(300);
    expect(r.ok).toBe(true);
  }, 40_000);

  it('none: the verifier finds corruption', async () => {
    // A little more churn than the default: more commits that move bytes, more chances to tear.
    const r = await runSuite({ ...options('none', 10), churnRate: 150, churnConcurrency: 8 });
    console.log(formatReport(r));
    expect(r.requests).toBe(r.autocannonResponses);
    expect(r.corrupt).toBeGreaterThan(0);
    expect(r.ok).toBe(true);
  }, 40_000);
});
