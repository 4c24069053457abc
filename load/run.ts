/**
 * `npm run load`: the race-corruption load suite.
 *
 *   npm run load                                   30 s, lock rw, simulator + fleetgate on loopback
 *   npm run load -- --lock none --expect-corruption --duration 10
 *   npm run load -- --compare --duration 10        rw, mutex, none: rotated rounds, medians
 *   npm run load -- --duration 600                 a soak, with a progress line every 5 s
 *   npm run load -- --target http://127.0.0.1:8080 --token T
 *
 * Exit status: 1 when a run fails (see report.ts judge: findings, 5xx, lost requests or torn reads
 * under rw/mutex; no torn answer with --expect-corruption; a minimum not met; responses not all
 * verified), 2 on bad arguments or a setup failure.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './processes.js';
import { formatCompare, formatReport, kDefaultMinimums, saveReport, summarise, type LockMode, type RunReport } from './report.js';
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
  --expect-corruption    fail unless some 2xx answer was torn (for --lock none)
  --warmup S             seconds of load before measuring (default 0; 3 with --compare)
  --progress S           a progress line on stderr every S seconds (default 5; 0 = none)
  --read-cache N         serve --read-cache for the started server (default: the server's;
                         0 with --compare, so all three modes decode every read alike)
  --min-responses N      fail below N verified responses (default ${kDefaultMinimums.responses})
  --min-content-commits R  fail below R content commits per second of run (default ${kDefaultMinimums.contentCommitsPerSec})
  --min-churn R          fail below R successful adds, renames, deletes, disables and config
                         changes each per second of run (default ${kDefaultMinimums.churnPerSec}); 0 turns a minimum off
  --until-responses N    with --max-duration: stop once N responses were verified ...
  --until-content-commits N  ... and N content commits made (after --duration, default 0 then)
  --max-duration S       the cap of a run that stops on counts
  --compare              rw, mutex and none in rotated order over --rounds rounds, medians side by side
  --rounds N             rounds of --compare (default 3)
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

export interface ParsedArgs {
  opts: Omit<SuiteOptions, 'log'>;
  compare: boolean;
  rounds: number;
  json: boolean;
}

export function parseLoadArgs(argv: string[]): ParsedArgs | 'help' {
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
      warmup: { type: 'string' },
      progress: { type: 'string' },
      'read-cache': { type: 'string' },
      'min-responses': { type: 'string' },
      'min-content-commits': { type: 'string' },
      'min-churn': { type: 'string' },
      'until-responses': { type: 'string' },
      'until-content-commits': { type: 'string' },
      'max-duration': { type: 'string' },
      compare: { type: 'boolean' },
      rounds: { type: 'string' },
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
  if (values.target && values['read-cache'] !== undefined) throw new Error('--read-cache sets up the server this command starts; it cannot be combined with --target');
  const compare = values.compare ?? false;
  const untilGiven = values['until-responses'] !== undefined || values['until-content-commits'] !== undefined;
  if (untilGiven !== (values['max-duration'] !== undefined)) throw new Error('--until-responses/--until-content-commits and --max-duration go together');
  const maxDurationSec = values['max-duration'] === undefined ? undefined : num(values['max-duration'], '--max-duration', 0, 1);
  return {
    compare,
    rounds: num(values.rounds, '--rounds', 3, 1),
    json: values.json ?? false,
    opts: {
      lock,
      durationSec: num(values.duration, '--duration', untilGiven ? 0 : 30, untilGiven ? 0 : 1),
      warmupSec: num(values.warmup, '--warmup', compare ? 3 : 0),
      progressSec: num(values.progress, '--progress', 5),
      readCache: values['read-cache'] === undefined ? (compare ? 0 : undefined) : num(values['read-cache'], '--read-cache', 0),
      minimums: {
        responses: num(values['min-responses'], '--min-responses', kDefaultMinimums.responses),
        contentCommitsPerSec: num(values['min-content-commits'], '--min-content-commits', kDefaultMinimums.contentCommitsPerSec),
        churnPerSec: num(values['min-churn'], '--min-churn', kDefaultMinimums.churnPerSec),
      },
      until: untilGiven
        ? { responses: num(values['until-responses'], '--until-responses', 0), contentCommits: num(values['until-content-commits'], '--until-content-commits', 0) }
        : undefined,
      maxDurationSec,
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
  const { opts, compare, rounds, json } = parsed;
  const log = (line: string) => console.error(`load: ${line}`);
  try {
    if (!compare) {
      const r = await runSuite({ ...opts, log });
      console.log(json ? JSON.stringify(r) : formatReport(r));
      return r.ok ? 0 : 1;
    }
    // Rotated order: every mode goes first, second and third equally often (with 3 rounds), so
    // neither warm-up nor the machine's drift favours one.
    const modes: LockMode[] = ['rw', 'mutex', 'none'];
    const orders = Array.from({ length: rounds }, (_, i) => modes.map((_m, j) => modes[(i + j) % modes.length]!));
    const runs: RunReport[] = [];
    for (const [i, order] of orders.entries()) {
      for (const lock of order) {
        log(`round ${i + 1}/${rounds}: ${lock}`);
        runs.push(await runSuite({ ...opts, lock, expectCorruption: lock === 'none' && opts.expectCorruption, log }));
      }
    }
    const summaries = modes.map((m) => summarise(m, runs.filter((r) => r.lock === m)));
    const result = { rounds, orders, warmupSec: opts.warmupSec ?? 0, durationSec: opts.durationSec, readCache: opts.readCache ?? null, modes: summaries, runs };
    const path = saveReport(opts.resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-compare`, result);
    if (json) console.log(JSON.stringify(result));
    else {
      const first = runs[0]!;
      const head = `fleetgate load --compare: ${first.workers ?? '?'} workers, ${first.clusters} clusters, ${first.connections} connections, churn ${first.churnRate}/s`;
      console.log(formatCompare(summaries, { rounds, orders, warmupSec: opts.warmupSec ?? 0, durationSec: opts.durationSec, readCache: opts.readCache ?? null, head }));
      for (const r of runs) if (!r.ok) console.log(`FAIL ${r.lock}: ${r.verdict}`);
      console.log(`\nreports: ${path}`);
    }
    return runs.every((r) => r.ok) ? 0 : 1;
  } catch (err) {
    console.error(`load: ${(err as Error).message ?? err}`);
    return 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
