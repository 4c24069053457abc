/**
 * The load: autocannon (programmatic API) on a request mix, with every response body handed to
 * the verifier. autocannon collects a body only for requests that have `onResponse`, so every
 * request in the mix has one; its call count is checked against autocannon's own response count.
 * What never became a response is counted too, by kind: connection errors by code, timeouts, and
 * requests lost when the server closed the connection under them (autocannon reconnects silently).
 */
import autocannon from 'autocannon';
import type { FindingLog } from './corruption.js';
import type { WriteRegistry } from './registry.js';
import { checkResponse, type RequestKind, type VerifierNotes, type VerifyOptions } from './verify.js';

export interface MixWeights {
  clusters: number;
  overview: number;
  resource: number;
  passthrough: number;
}

export const kDefaultMix: MixWeights = { clusters: 6, overview: 1, resource: 2, passthrough: 1 };

export function parseMix(text: string): MixWeights {
  const out: MixWeights = { clusters: 0, overview: 0, resource: 0, passthrough: 0 };
  for (const part of text.split(',')) {
    const [k, v] = part.split('=');
    if (!k || !(k in out) || v === undefined || !/^\d+$/.test(v)) throw new Error(`--mix: expected kind=N[,kind=N…] with kinds ${Object.keys(out).join(', ')}; got ${JSON.stringify(part)}`);
    out[k as keyof MixWeights] = Number(v);
  }
  if (Object.values(out).every((v) => v === 0)) throw new Error('--mix: every weight is 0');
  return out;
}

export interface MixEntry {
  kind: RequestKind;
  path: string;
  /** The cluster a cluster-scoped request asks for. */
  asked?: string;
  headers?: Record<string, string>;
}

/** Resource lists the mix rotates through; small, so the verifier is not the bottleneck. */
export const kResourcePaths = ['/api/v1/namespaces', '/api/v1/deployments', '/api/v1/pods?limit=20', '/api/v1/services'];

/**
 * One cycle of requests that autocannon's clients walk through in order. Cluster-scoped requests
 * rotate over `clusters`; weights are repetitions per cluster-scoped round, interleaved so that
 * every client sends every kind within a few requests.
 */
export function buildMix(clusters: readonly string[], w: MixWeights = kDefaultMix): MixEntry[] {
  const out: MixEntry[] = [];
  const rounds = Math.max(clusters.length, 1);
  let res = 0;
  for (let i = 0; i < rounds; i++) {
    const c = clusters.length ? clusters[i % clusters.length]! : undefined;
    const seq: MixEntry[] = [];
    for (let k = 0; k < w.clusters; k++) seq.push({ kind: 'clusters', path: '/api/v1/clusters' });
    if (c !== undefined) {
      const h = { 'x-cluster-name': c };
      for (let k = 0; k < w.overview; k++) seq.push({ kind: 'overview', path: '/api/v1/overview', asked: c, headers: h });
      for (let k = 0; k < w.resource; k++) seq.push({ kind: 'resource', path: kResourcePaths[res++ % kResourcePaths.length]!, asked: c, headers: h });
      for (let k = 0; k < w.passthrough; k++) seq.push({ kind: 'passthrough', path: `/k8s/${encodeURIComponent(c)}/api/v1/namespaces`, asked: c });
    }
    // Interleave: spread the list requests between the cluster-scoped ones.
    const lists = seq.filter((e) => e.kind === 'clusters');
    const scoped = seq.filter((e) => e.kind !== 'clusters');
    while (lists.length || scoped.length) {
      if (lists.length) out.push(lists.shift()!);
      if (scoped.length) out.push(scoped.shift()!);
    }
  }
  return out;
}

export interface KindStats {
  responses: number;
  /** Findings of any class. */
  corrupt: number;
}

/** Counts that grow while the load runs (progress lines, stop conditions). */
export interface LiveCounts {
  /** Responses verified. */
  responses: number;
  /** Requests that got no response, by kind (connection error code, `timeout`, `closed`). */
  errors: Record<string, number>;
}

export function newLiveCounts(): LiveCounts {
  return { responses: 0, errors: {} };
}

/** `2xx`, `4xx`, … for a status code. */
export function statusClass(status: number | string): string {
  return `${String(status)[0]}xx`;
}

/** Requests lost to the server closing the connection while they were in flight. */
export const kClosedError = 'closed';
/** autocannon's own timeout (its `timeout` option), which it reports as an Error with this text. */
export const kTimeoutError = 'timeout';

export interface LoadResult {
  /** Responses whose bodies the verifier checked. */
  requests: number;
  /** autocannon's own count of completed responses (must equal `requests`). */
  autocannonResponses: number;
  durationSec: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  statuses: Record<string, number>;
  byKind: Record<string, KindStats>;
  /** Requests without a response, by kind. */
  errors: Record<string, number>;
}

export interface LoadOptions {
  baseUrl: string;
  token: string;
  durationSec: number;
  connections: number;
  mix: MixEntry[];
  registry: WriteRegistry;
  verify: VerifyOptions;
  findings: FindingLog;
  notes?: VerifierNotes;
  /** Grows as the load runs; several runLoad calls (warm-up, measurement) may share one. */
  live?: LiveCounts;
  /** Called when autocannon has started (the churn starts with the load). */
  onStart?: () => void;
  /**
   * With `maxDurationSec`: after `durationSec` (0: at once), keep going until `enough()` says
   * so or the cap is reached: a run stops on counts, not on a clock (a busy machine is slower).
   */
  maxDurationSec?: number;
  enough?: () => boolean;
}

interface QueuedResponse {
  body: string;
  chunks?: Buffer[];
}

/**
 * Makes an autocannon client fit for judging every answer:
 *  - it appends each body chunk to a string, which breaks a multi-byte UTF-8 character split
 *    across two chunks: keep the bytes and decode once per response instead;
 *  - when the server closes the connection (or it fails) with requests in flight, it reconnects
 *    and leaves those requests queued, so the next answer would be judged against the wrong
 *    request and its parser resumes mid-message: count them (`onLost`), drop them and reset the
 *    parser. (A timeout or a forced reconnect clears the queue itself before reconnecting.)
 */
export function instrumentClient(client: autocannon.Client, onLost?: (n: number) => void): void {
  type Queue = { peek(): QueuedResponse | undefined; addBody(d: Buffer): void; terminateRequest(): QueuedResponse | undefined; size(): number; clear(): void };
  const c = client as unknown as { pipelinedRequests?: Queue; _connect?: () => void; parser?: { reinitialize(type: unknown): void; type: unknown }; conn?: unknown };
  const q = c.pipelinedRequests;
  if (!q) return;
  q.addBody = function (data: Buffer) {
    const r = q.peek();
    if (r) (r.chunks ??= []).push(Buffer.from(data));
  };
  const terminate = q.terminateRequest.bind(q);
  q.terminateRequest = function () {
    const r = terminate();
    if (r?.chunks) {
      r.body = r.chunks.length === 1 ? r.chunks[0]!.toString('utf8') : Buffer.concat(r.chunks).toString('utf8');
      r.chunks = undefined;
    }
    return r;
  };
  const connect = c._connect;
  if (typeof connect !== 'function') return;
  // A connection error is already counted (by its code) when autocannon reconnects after it.
  let errored = false;
  (client as unknown as NodeJS.EventEmitter).on('connError', () => (errored = true));
  c._connect = function (this: typeof c) {
    // The first connect (from the constructor) has no connection before it and nothing queued.
    if (this.conn !== undefined && q.size() > 0) {
      if (!errored) onLost?.(q.size());
      q.clear();
      this.parser?.reinitialize(this.parser.type);
    }
    errored = false;
    connect.call(this);
  };
}

/** An autocannon request error's kind: its code (ECONNRESET, ECONNREFUSED…) or `timeout`. */
export function errorKind(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e && typeof e.code === 'string') return e.code;
  if (e && e.message === 'request timed out') return kTimeoutError;
  return e && typeof e.message === 'string' ? e.message.slice(0, 40) : 'unknown';
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const byKind: Record<string, KindStats> = {};
  const statuses: Record<string, number> = {};
  const live = o.live ?? newLiveCounts();
  const errors: Record<string, number> = {};
  const countError = (kind: string, n = 1) => {
    errors[kind] = (errors[kind] ?? 0) + n;
    live.errors[kind] = (live.errors[kind] ?? 0) + n;
  };
  let verified = 0;
  const requests: autocannon.Request[] = o.mix.map((e) => {
    const ks = (byKind[e.kind] ??= { responses: 0, corrupt: 0 });
    return {
      method: 'GET',
      path: e.path,
      headers: e.headers,
      onResponse: (status: number, body: string) => {
        verified++;
        live.responses++;
        ks.responses++;
        statuses[status] = (statuses[status] ?? 0) + 1;
        const finding = checkResponse(e.kind, e.asked, status, body, o.registry, o.verify, o.notes);
        if (finding !== undefined) {
          ks.corrupt++;
          o.findings.record(finding, { kind: e.kind, path: e.path, asked: e.asked, status, body });
        }
      },
    };
  });
  let instance!: autocannon.Instance;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: o.baseUrl,
        connections: o.connections,
        duration: Math.max(o.durationSec, o.maxDurationSec ?? 0),
        headers: { authorization: `Bearer ${o.token}` },
        requests,
        setupClient: (client) => instrumentClient(client, (n) => countError(kClosedError, n)),
        timeout: 30,
      },
      (err, result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result)),
    );
  });
  instance.on('reqError', (err: unknown) => countError(errorKind(err)));
  o.onStart?.();
  let poll: NodeJS.Timeout | undefined;
  if (o.maxDurationSec !== undefined && o.maxDurationSec > o.durationSec && o.enough) {
    const started = performance.now();
    poll = setInterval(() => {
      if (performance.now() - started >= o.durationSec * 1000 && o.enough!()) {
        clearInterval(poll);
        instance.stop();
      }
    }, 100);
  }
  const r = await done.finally(() => clearInterval(poll));
  const durationSec = r.duration || o.durationSec;
  return {
    requests: verified,
    autocannonResponses: r.requests.total,
    durationSec,
    rps: Math.round(verified / durationSec),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    meanMs: r.latency.mean,
    statuses,
    byKind,
    errors,
  };
}
