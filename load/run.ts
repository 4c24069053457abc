/**
 * `npm run load`: the race-corruption load suite.
 *
 *   npm run load                                   30 s, lock rw, simulator + fleetgate on loopback
 *   npm run load -- --lock none --expect-corruption --duration 10
 *   npm run load -- --compare --duration 10        rw, mutex, none side by side
 *   npm run load -- --target http://127.0.0.1:8080 --token T
 *
 * Exit status: 1 when a run fails (corruption under rw/mutex; none found with
 * --expect-corruption; responses not all verified), 2 on bad arguments or a setup failure.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './processes.js';
import { formatCompare, formatReport, saveReport, type LockMode, type RunReport } from './report.js';
import { kDefaultMix, parseMix } from './scenario.js';
import { runSuite, type SuiteOptions } from './suite.js';

export const USAGE = `usage: npm run load -- [options]

  --duration S           seconds of load per run (default 30)
  --lock MODE            rw (default), mutex or none (with --target: names the server's mode)
  --workers N            fleetgate HTTP workers (default 2)
  --clusters K           simulated clusters (default 8; a third back the churn slots)
  --connections N        autocannon connections (default 16)
  --churn-rate R         churn operations per second (default 100; 0 = no churn)
  --churn-concurrency N  churn writes in flight at once (default 6)
  --slots N              churn slots (default 6)
  --sync-every MS        period of POST /api/v1/admin/sync (default 5)
  --mix SPEC             request weights (default clusters=${kDefaultMix.clusters},overview=${kDefaultMix.overview},resource=${kDefaultMix.resource},passthrough=${kDefaultMix.passthrough})
  --pods N               pods per simulated cluster (default 20)
  --expect-corruption    fail when no corruption is found (for --lock none)
  --compare              run rw, mutex and none back to back and print them side by side
  --target URL           load an already-running fleetgate instead of starting one
  --token T              its bearer token (churn runs only when it is an admin token)
  --results DIR          where reports and corrupt samples go (default load/results)
  --json                 print one JSON object instead of the table
  -h, --help             this help`;

const kResults = join(repoRoot(), 'load', 'results');

function num(v: string | undefined, name: string, def: number, min = 0): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

export function parseLoadArgs(argv: string[]): { opts: Omit<SuiteOptions, 'log'>; compare: boolean; json: boolean } | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      duration: { type: 'string' },
      lock: { type: 'string' },
      workers: { type: 'string' },
      clusters: { type: 'string' },
      connections: { type: 'string' },
      'churn-rate': { type: 'string' },
      'churn-concurrency': { type: 'string' },
      slots: { type: 'string' },
      'sync-every': { type: 'string' },
      mix: { type: 'string' },
      pods: { type: 'string' },
      'expect-corruption': { type: 'boolean' },
      compare: { type: 'boolean' },
      target: { type: 'string' },
      token: { type: 'string' },
      results: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const lock = (values.lock ?? 'rw') as LockMode;
  if (!['rw', 'mutex', 'none'].includes(lock)) throw new Error(`--lock must be rw, mutex or none, got ${JSON.stringify(values.lock)}`);
  if (values.compare && values.target) throw new Error('--compare starts its own servers; it cannot be combined with --target');
  if (values.target && !/^https?:\/\//.test(values.target)) throw new Error(`--target must be an http(s) URL, got ${JSON.stringify(values.target)}`);
  return {
    compare: values.compare ?? false,
    json: values.json ?? false,
    opts: {
      lock,
      durationSec: num(values.duration, '--duration', 30, 1),
      workers: num(values.workers, '--workers', 2, 1),
      clusters: num(values.clusters, '--clusters', 8, 1),
      connections: num(values.connections, '--connections', 16, 1),
      churnRate: num(values['churn-rate'], '--churn-rate', 100),
      churnConcurrency: num(values['churn-concurrency'], '--churn-concurrency', 6, 1),
      slots: num(values.slots, '--slots', 6, 1),
      syncEveryMs: num(values['sync-every'], '--sync-every', 5),
      mix: values.mix ? parseMix(values.mix) : kDefaultMix,
      pods: num(values.pods, '--pods', 20),
      expectCorruption: values['expect-corruption'] ?? false,
      resultsDir: values.results ?? kResults,
      target: values.target,
      token: values.token,
      lockGiven: values.lock !== undefined,
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseLoadArgs(argv);
  } catch (err) {
    console.error(`load: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  const { opts, compare, json } = parsed;
  const log = (line: string) => console.error(`load: ${line}`);
  try {
    if (!compare) {
      const r = await runSuite({ ...opts, log });
      console.log(json ? JSON.stringify(r) : formatReport(r));
      return r.ok ? 0 : 1;
    }
    const reports: RunReport[] = [];
    for (const lock of ['rw', 'mutex', 'none'] as const) {
      reports.push(await runSuite({ ...opts, lock, expectCorruption: lock === 'none' && opts.expectCorruption, log }));
    }
    const path = saveReport(opts.resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-compare`, { runs: reports });
    if (json) console.log(JSON.stringify({ runs: reports }));
    else {
      console.log(formatCompare(reports));
      for (const r of reports) if (!r.ok) console.log(`FAIL ${r.lock}: ${r.verdict}`);
      console.log(`\nreports: ${path}`);
    }
    return reports.every((r) => r.ok) ? 0 : 1;
  } catch (err) {
    console.error(`load: ${(err as Error).message ?? err}`);
    return 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
