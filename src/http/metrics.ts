/**
 * Per-worker request metrics: counters by (route template, method, status) and a latency
 * histogram by route template, kept as plain numbers so a snapshot can be posted between threads,
 * summed by the supervisor (sumHttpSnapshots) and rendered once (renderHttpMetrics).
 *
 * Route labels are Express route templates ('/api/v1/:resource'), never raw paths, so the label
 * set stays bounded whatever clients send.
 */
import type { RequestHandler } from 'express';
import { labels, PromText } from '../metrics/prom.js';
import { emptyUpstreamStats, type UpstreamCacheStats, type UpstreamOutcome, type UpstreamOutcomes } from '../upstream/index.js';

/** Upper bounds of the latency buckets, in seconds (Prometheus `le`). +Inf is implicit. */
export const kLatencyBuckets: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface HttpMetricsSnapshot {
  /** Key `${route}\t${method}\t${status}` → count. */
  requests: Record<string, number>;
  /** Route → per-bucket counts (non-cumulative, length kLatencyBuckets.length + 1, last is +Inf). */
  latencyBuckets: Record<string, number[]>;
  latencySumSeconds: Record<string, number>;
  upstream: UpstreamCacheStats;
  /** Upstream request outcomes: 'ok' | 'timeout' | 'error' → count. */
  upstreamResults: Record<string, number>;
  /** Connections upgraded through /k8s (exec, attach, port-forward) open now. */
  upgradedSessions: number;
  /** Audit records written to the store, and lost (queue full or store failure). */
  audit?: { written: number; dropped: number };
}

export class HttpMetrics implements UpstreamOutcomes {
  private readonly requests = new Map<string, number>();
  private readonly buckets = new Map<string, number[]>();
  private readonly sums = new Map<string, number>();
  readonly upstreamResults: Record<string, number> = {};
  /** Upgraded /k8s sessions open now (upgrade.ts counts them in and out). */
  upgradedSessions = 0;

  observe(route: string, method: string, status: number, seconds: number): void {
    const key = `${route}\t${method}\t${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let b = this.buckets.get(route);
    if (!b) {
      b = new Array<number>(kLatencyBuckets.length + 1).fill(0);
      this.buckets.set(route, b);
    }
    let i = 0;
    while (i < kLatencyBuckets.length && seconds > kLatencyBuckets[i]!) i++;
    b[i]!++;
    this.sums.set(route, (this.sums.get(route) ?? 0) + seconds);
  }

  countUpstream(result: UpstreamOutcome): void {
    this.upstreamResults[result] = (this.upstreamResults[result] ?? 0) + 1;
  }

  snapshot(upstream: UpstreamCacheStats, audit?: { written: number; dropped: number }): HttpMetricsSnapshot {
    return {
      ...(audit ? { audit: { written: audit.written, dropped: audit.dropped } } : {}),
      requests: Object.fromEntries(this.requests),
      latencyBuckets: Object.fromEntries([...this.buckets].map(([k, v]) => [k, [...v]])),
      latencySumSeconds: Object.fromEntries(this.sums),
      upstream: { ...upstream },
      upstreamResults: { ...this.upstreamResults },
      upgradedSessions: this.upgradedSessions,
    };
  }

  /** Middleware recording every response under its route template (res.locals.route or req.route). */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const start = performance.now();
      res.once('finish', () => {
        const route = (res.locals.route as string | undefined) ?? routeTemplate(req, res.locals.mount as string | undefined);
        this.observe(route, req.method, res.statusCode, (performance.now() - start) / 1e3);
      });
      next();
    };
  }
}

function routeTemplate(req: { route?: { path?: unknown } }, mount: string | undefined): string {
  const p = req.route?.path;
  if (mount !== undefined) return mount + (typeof p === 'string' ? p : '/*');
  return typeof p === 'string' ? p : 'unmatched';
}

function addInto(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** Sums snapshots from several workers into one. */
export function sumHttpSnapshots(snaps: readonly HttpMetricsSnapshot[]): HttpMetricsSnapshot {
  const out: HttpMetricsSnapshot = {
    requests: {},
    latencyBuckets: {},
    latencySumSeconds: {},
    upstream: emptyUpstreamStats(),
    upstreamResults: {},
    upgradedSessions: 0,
  };
  for (const s of snaps) {
    out.upgradedSessions += s.upgradedSessions;
    if (s.audit) {
      out.audit ??= { written: 0, dropped: 0 };
      out.audit.written += s.audit.written;
      out.audit.dropped += s.audit.dropped;
    }
    addInto(out.requests, s.requests);
    addInto(out.latencySumSeconds, s.latencySumSeconds);
    addInto(out.upstreamResults, s.upstreamResults);
    for (const k of Object.keys(out.upstream) as (keyof UpstreamCacheStats)[]) out.upstream[k] += s.upstream[k];
    for (const [route, counts] of Object.entries(s.latencyBuckets)) {
      const into = (out.latencyBuckets[route] ??= new Array<number>(counts.length).fill(0));
      counts.forEach((c, i) => (into[i] = (into[i] ?? 0) + c));
    }
  }
  return out;
}

/** Prometheus text exposition of a (summed) snapshot. */
export function renderHttpMetrics(s: HttpMetricsSnapshot): string {
  const prom = new PromText();
  const requests = 'fleetgate_http_requests_total';
  prom.family(requests, 'HTTP requests by route template, method and status.', 'counter');
  for (const key of Object.keys(s.requests).sort()) {
    const [route, method, status] = key.split('\t') as [string, string, string];
    prom.sample(requests, labels({ route, method, status }), s.requests[key]!);
  }
  const duration = 'fleetgate_http_request_duration_seconds';
  prom.family(duration, 'HTTP request latency by route template.', 'histogram');
  for (const route of Object.keys(s.latencyBuckets).sort()) {
    prom.histogram(duration, { route }, kLatencyBuckets, s.latencyBuckets[route]!, s.latencySumSeconds[route] ?? 0);
  }
  const u = s.upstream;
  prom.metric('fleetgate_upstream_agent_cache_total', 'Upstream agent cache lookups by result.', 'counter', [
    [labels({ result: 'hit' }), u.hits],
    [labels({ result: 'miss' }), u.misses],
  ]);
  prom.metric('fleetgate_upstream_agents_destroyed_total', 'Upstream agents closed after their cluster changed or vanished.', 'counter', [['', u.destroyed]]);
  prom.metric('fleetgate_upstream_agents', 'Upstream keep-alive agents alive, summed over workers.', 'gauge', [
    [labels({ status: 'live' }), u.live],
    [labels({ status: 'retired' }), u.retired],
  ]);
  prom.metric(
    'fleetgate_upstream_requests_total',
    'Upstream requests by outcome.',
    'counter',
    Object.keys(s.upstreamResults)
      .sort()
      .map((k) => [labels({ result: k }), s.upstreamResults[k]!] as const),
  );
  prom.metric('fleetgate_http_upgraded_sessions', 'Connections upgraded through /k8s (exec, attach, port-forward) open now.', 'gauge', [['', s.upgradedSessions]]);
  if (s.audit) {
    prom.metric('fleetgate_audit_records_total', 'Audit records by fate: written (handed to the writer), or dropped (queue full, store failure).', 'counter', [
      [labels({ fate: 'written' }), s.audit.written],
      [labels({ fate: 'dropped' }), s.audit.dropped],
    ]);
  }
  return prom.text();
}
