/**
 * One upstream call to a cluster's API server over its cached undici pool, with a timeout on
 * every call: the response headers must arrive within timeoutMs (counted from the call, so time
 * queued for a connection counts too), and after that the body may not stall for longer than
 * timeoutMs (unless the call is a stream such as a watch or a log follow, which may legitimately
 * stay quiet). A hanging cluster therefore costs only its own requests.
 *
 * Two shapes: callUpstream (a promise of status, headers and a body stream, for callers that
 * inspect the answer) and src/http/relay.ts's relayUpstream (the /k8s hot path, which writes the answer
 * straight into the caller's response). Both release the cluster's client exactly once.
 *
 * Errors come back as HttpError: 504 on timeout, 502 on anything else (refused, reset, TLS).
 * Their messages name the cluster and the socket error, never a credential.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Pool } from 'undici';
import type { UpstreamClient, UpstreamClientCache } from './client-cache.js';
import { HttpError } from '../util/http-error.js';

/** How an upstream call ended, as /metrics counts it. */
export type UpstreamOutcome = 'ok' | 'timeout' | 'error';

/** Where outcomes are counted (the HTTP worker's metrics); optional on every call. */
export interface UpstreamOutcomes {
  countUpstream(result: UpstreamOutcome): void;
}

export interface UpstreamCallOptions {
  method: string;
  /** Path and query relative to the server's base path, starting with '/'. */
  path: string;
  headers: OutgoingHttpHeaders;
  timeoutMs: number;
  /** A long-lived stream (watch, follow): no idle timeout once the response has started. */
  streaming?: boolean;
}

export interface UpstreamResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /** Consume or destroy it: the client is released when it closes. */
  body: Readable;
}

export interface UpstreamCall {
  /** Abandons the exchange (the caller went away); a pending response rejects with 502. */
  abort(): void;
  /** Resolves with the response (headers received) or rejects with HttpError 502/504. */
  response: Promise<UpstreamResponse>;
}

/** Aborts an upstream exchange whose answer is overdue (upstreamFailure maps it to 504). */
export class UpstreamTimeout extends Error {
  override name = 'UpstreamTimeout';
}

/** undici's own timeouts: the connect, header or body deadline passed. */
const kUndiciTimeouts = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * The HttpError for an upstream exchange that failed before answering: 504 after a timeout,
 * else 502 naming the socket error (never a credential). Counts it.
 */
export function upstreamFailure(clusterName: string, err: Error, timeoutMs: number, metrics: UpstreamOutcomes | undefined): HttpError {
  if (err instanceof UpstreamTimeout || kUndiciTimeouts.has((err as NodeJS.ErrnoException).code ?? '')) {
    metrics?.countUpstream('timeout');
    return new HttpError(504, `cluster "${clusterName}": upstream did not answer within ${timeoutMs} ms`);
  }
  metrics?.countUpstream('error');
  return new HttpError(502, `cluster "${clusterName}": upstream unreachable: ${describeSocketError(err)}`);
}

/** Sets the cluster's credentials and Host on request headers bound for its API server. */
export function addClusterHeaders(client: UpstreamClient, headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  if (client.authorization) headers.authorization = client.authorization;
  if (client.proxyAuthorization) headers['proxy-authorization'] = client.proxyAuthorization;
  headers.host = client.origin.host;
  return headers;
}

/** Marks an exchange the caller abandoned (mapped to 502 "upstream request aborted"). */
class CallerLeft extends Error {
  override name = 'CallerLeft';
}

/**
 * Starts a GET-style call (no request body) and owns the client reference: the client is
 * released exactly once, when the exchange is over (the body closed, or the call failed).
 */
export function callUpstream(
  cache: UpstreamClientCache,
  client: UpstreamClient,
  opts: UpstreamCallOptions,
  metrics?: UpstreamOutcomes,
): UpstreamCall {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    cache.release(client);
  };
  const name = client.clusterName;
  const timeoutMs = opts.timeoutMs;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new UpstreamTimeout()), timeoutMs);
  let started: ReturnType<Pool['request']>;
  try {
    started = client.pool.request({
      method: opts.method as 'GET',
      path: client.basePath + opts.path,
      headers: addClusterHeaders(client, { ...opts.headers }) as Record<string, string>,
      signal: ac.signal,
      // The header deadline is the timer above (it also covers the wait for a connection).
      headersTimeout: 0,
      bodyTimeout: opts.streaming ? 0 : timeoutMs,
    });
  } catch (err) {
    clearTimeout(timer);
    release();
    throw err;
  }
  const response = started.then(
    (r) => {
      clearTimeout(timer);
      metrics?.countUpstream('ok');
      r.body.once('close', release);
      return { statusCode: r.statusCode, headers: r.headers, body: r.body } as UpstreamResponse;
    },
    (err: Error) => {
      clearTimeout(timer);
      release();
      if (err instanceof CallerLeft) throw new HttpError(502, `cluster "${name}": upstream request aborted`);
      throw upstreamFailure(name, err, timeoutMs, metrics);
    },
  );
  // A rejection before anyone awaits must not become an unhandled rejection.
  response.catch(() => {});
  return { abort: () => ac.abort(new CallerLeft()), response };
}

function describeSocketError(err: NodeJS.ErrnoException): string {
  const code = err.code ? `${err.code}` : '';
  const msg = err.message || String(err);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

/** Reads a whole body (for small error bodies and JSON the app must inspect). */
export async function readBody(res: Readable, maxBytes = 256 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > maxBytes) {
      res.destroy();
      throw new HttpError(502, 'upstream response too large');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The message of a Kubernetes Status body, or a short description of an unexpected one. */
export function upstreamErrorMessage(cluster: string, status: number, body: Buffer): string {
  try {
    const j = JSON.parse(body.toString('utf8')) as { kind?: string; message?: unknown };
    if (j && typeof j.message === 'string' && j.message) return j.message;
  } catch {
    // not JSON
  }
  return `cluster "${cluster}": upstream answered ${status}`;
}

export interface GetJsonOptions {
  /** Accept header (default application/json; fleet queries ask for metadata-only lists). */
  accept?: string;
  /** Largest body read before the call fails (readBody's default otherwise). */
  maxBytes?: number;
  /** Holds the call's abort while it is in flight, so a caller's budget can cut it. */
  inflight?: Set<() => void>;
  metrics?: UpstreamOutcomes;
}

/**
 * GET a JSON document from the cluster; non-2xx answers become HttpError with the upstream status.
 * The one JSON getter of the resource routes and the fleet queries.
 */
export async function getJson<T>(
  cache: UpstreamClientCache,
  client: UpstreamClient,
  path: string,
  timeoutMs: number,
  o: GetJsonOptions = {},
): Promise<T> {
  const { abort, response } = callUpstream(cache, client, { method: 'GET', path, headers: { accept: o.accept ?? 'application/json' }, timeoutMs }, o.metrics);
  o.inflight?.add(abort);
  let status: number;
  let body: Buffer;
  try {
    const res = await response;
    status = res.statusCode;
    body = await readBody(res.body, o.maxBytes);
  } finally {
    o.inflight?.delete(abort);
  }
  if (status < 200 || status >= 300) throw new HttpError(status, upstreamErrorMessage(client.clusterName, status, body));
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new HttpError(502, `cluster "${client.clusterName}": upstream sent invalid JSON`);
  }
}

/** Hop-by-hop headers (RFC 9110 7.6.1) and others a proxy must not forward as they are. */
export const kHopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/**
 * Response headers to copy back from upstream, from undici's raw list (name, value, name, ...):
 * a flat list for writeHead, the upstream's spelling and repeats kept (what writeHead sends for a
 * parsed object with array values too), without building that object per response.
 */
export function rawResponseHeaders(raw: readonly Buffer[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    if (kHopByHop.has(name.toLowerCase())) continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  return out;
}

/** Response headers to copy back from upstream. */
export function responseHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const k in h) {
    const v = h[k];
    if (v === undefined || kHopByHop.has(k)) continue;
    out[k] = v;
  }
  return out;
}
