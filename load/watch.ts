/**
 * Watching a run from outside: /metrics scrapes, and twice a second while the load runs the
 * commits made so far (for count-based stops and progress) and, every few seconds, a progress
 * line: responses, responses/s, commits (content commits), churn writes, findings by class and
 * requests without a response.
 */
import type { FindingLog } from './corruption.js';
import { parsePrometheus, sumOf, type Sample } from './prom.js';
import type { LiveCounts } from './scenario.js';
import { kFindingClasses } from './verify.js';

export const kMetrics = {
  commits: 'fleetgate_index_commits_total',
  contentCommits: 'fleetgate_index_content_commits_total',
  torn: 'fleetgate_torn_reads_total',
  hold: 'fleetgate_commit_hold_microseconds',
};

/** GET /metrics, parsed; undefined when it fails. */
export async function scrape(baseUrl: string): Promise<Sample[] | undefined> {
  try {
    const r = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (!r.ok) return undefined;
    return parsePrometheus(await r.text());
  } catch {
    return undefined;
  }
}

export interface WatchOptions {
  baseUrl: string;
  /** The scrape before the run: counts are deltas from it. */
  before: Sample[] | undefined;
  live: LiveCounts;
  findings: FindingLog;
  churnWrites: () => number;
  /** Seconds between progress lines; 0 or undefined: none. */
  progressSec?: number;
  log: (line: string) => void;
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');

export class RunWatch {
  /** Commits and content commits since `before`, as of the latest scrape. */
  commits = 0;
  contentCommits = 0;
  private startedAt = 0;
  private last = { at: 0, responses: 0 };
  private timer: NodeJS.Timeout | undefined;
  private scraping = false;

  constructor(private readonly o: WatchOptions) {}

  start(): void {
    this.startedAt = performance.now();
    this.last = { at: this.startedAt, responses: 0 };
    this.timer = setInterval(() => this.tick(), 500);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Seconds since start(). */
  elapsedSec(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  private tick(): void {
    if (this.scraping) return;
    this.scraping = true;
    const base = (name: string) => (this.o.before ? (sumOf(this.o.before, name) ?? 0) : 0);
    void scrape(this.o.baseUrl)
      .then((s) => {
        if (!s) return;
        this.commits = (sumOf(s, kMetrics.commits) ?? 0) - base(kMetrics.commits);
        this.contentCommits = (sumOf(s, kMetrics.contentCommits) ?? 0) - base(kMetrics.contentCommits);
      })
      .finally(() => {
        this.scraping = false;
        if (this.o.progressSec && performance.now() - this.last.at >= this.o.progressSec * 1000) this.progress();
      });
  }

  private progress(): void {
    const { live, findings } = this.o;
    const now = performance.now();
    const rps = ((live.responses - this.last.responses) * 1000) / Math.max(1, now - this.last.at);
    this.last = { at: now, responses: live.responses };
    const lost = Object.values(live.errors).reduce((a, b) => a + b, 0);
    this.o.log(
      `t=${this.elapsedSec().toFixed(0)}s responses ${n(live.responses)} (${n(rps)}/s) commits ${n(this.commits)} (content ${n(this.contentCommits)}) ` +
        `churn writes ${n(this.o.churnWrites())} findings ${kFindingClasses.map((k) => `${k} ${findings.byClass[k]}`).join(' ')} no-response ${lost}`,
    );
  }
}
