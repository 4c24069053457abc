/**
 * One upstream call to a cluster's API server over its cached agent, with a timeout on every
 * call: the response headers must arrive within timeoutMs, and after that the body may not stall
 * for longer than timeoutMs (unless the call is a stream such as a watch or a log follow, which
 * may legitimately stay quiet). A hanging cluster therefore costs only its own requests.
 *
 * Errors come back as HttpError: 504 on timeout, 502 on anything else (refused, reset, TLS).
 * Their messages name the cluster and the socket error, never a credential.
 */
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { UpstreamClient, UpstreamClientCache } from './client-cache.js';
import { HttpError } from './errors.js';
import type { HttpMetrics } from './metrics.js';

export interface UpstreamCallOptions {
  method: string;
  /** Path and query relative to the server's base path, starting with '/'. */
  path: string;
  headers: OutgoingHttpHeaders;
  timeoutMs: number;
  /** A long-lived stream (watch, follow): no idle timeout once the response has started. */
  streaming?: boolean;
}

export interface UpstreamCall {
  req: ClientRequest;
  /** Resolves with the response (headers received) or rejects with HttpError 502/504. */
  response: Promise<IncomingMessage>;
}

/** Destroys an upstream request whose answer is overdue (upstreamFailure maps it to 504). */
export class UpstreamTimeout extends Error {
  override name = 'UpstreamTimeout';
}

/**
 * The HttpError for an upstream exchange that failed before answering: 504 after an
 * UpstreamTimeout, else 502 naming the socket error (never a credential). Counts it.
 */
export function upstreamFailure(clusterName: string, err: Error, timeoutMs: number, metrics: HttpMetrics | undefined): HttpError {
  if (err instanceof UpstreamTimeout) {
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

/** How a call started by startUpstream ends: with the response (headers received), or an HttpError 502/504. */
export type UpstreamDone = (err: HttpError | undefined, res: IncomingMessage | undefined) => void;

/**
 * Starts a call and owns the client reference: the client is released exactly once, when the
 * exchange is over (completed, failed or aborted). The caller must consume or destroy the body.
 */
export function callUpstream(
  cache: UpstreamClientCache,
  client: UpstreamClient,
  opts: UpstreamCallOptions,
  metrics?: HttpMetrics,
): UpstreamCall {
  let settle!: UpstreamDone;
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    settle = (err, res) => (err ? reject(err) : resolve(res!));
  });
  // Rejections after a response was resolved are impossible; one before anyone awaits must not
  // become an unhandled rejection.
  response.catch(() => {});
  const req = startUpstream(cache, client, { ...opts.headers }, opts, metrics, settle);
  return { req, response };
}

/**
 * callUpstream without the promise, for the /k8s hot path: `done` is called exactly once.
 * `headers` is taken over (the cluster's authorization and host are set on it).
 */
export function startUpstream(
  cache: UpstreamClientCache,
  client: UpstreamClient,
  headers: OutgoingHttpHeaders,
  opts: Omit<UpstreamCallOptions, 'headers'>,
  metrics: HttpMetrics | undefined,
  done: UpstreamDone,
): ClientRequest {
  const req = client.request({
    protocol: client.protocol,
    hostname: client.hostname,
    port: client.port,
    method: opts.method,
    path: client.basePath + opts.path,
    headers: addClusterHeaders(client, headers),
    agent: client.agent,
  });
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    cache.release(client);
  };
  let settled = false;
  const timeoutMs = opts.timeoutMs;
  const name = client.clusterName;
  const headerTimer = setTimeout(() => req.destroy(new UpstreamTimeout()), timeoutMs);
  // Destroyed without an error (the caller went away): settle, and drop the timer. Released when
  // the response body is over, or here when the request ends without a response.
  req.once('close', () => {
    clearTimeout(headerTimer);
    if (settled) return;
    settled = true;
    release();
    done(new HttpError(502, `cluster "${name}": upstream request aborted`), undefined);
  });
  req.once('response', (res: IncomingMessage) => {
    clearTimeout(headerTimer);
    if (settled) {
      res.destroy();
      return;
    }
    settled = true;
    metrics?.countUpstream('ok');
    if (!opts.streaming) req.setTimeout(timeoutMs, () => req.destroy(new UpstreamTimeout()));
    res.once('close', release);
    done(undefined, res);
  });
  req.on('error', (err) => {
    clearTimeout(headerTimer);
    if (settled) return;
    settled = true;
    release();
    done(upstreamFailure(name, err, timeoutMs, metrics), undefined);
  });
  return req;
}

function describeSocketError(err: NodeJS.ErrnoException): string {
  const code = err.code ? `${err.code}` : '';
  const msg = err.message || String(err);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

/** Reads a whole body (for small error bodies and JSON the app must inspect). */
export async function readBody(res: IncomingMessage, maxBytes = 256 * 1024 * 1024): Promise<Buffer> {
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

/** GET a JSON document from the cluster; non-2xx answers become HttpError with the upstream status. */
export async function getJson<T>(
  cache: UpstreamClientCache,
  client: UpstreamClient,
  path: string,
  timeoutMs: number,
  metrics?: HttpMetrics,
): Promise<T> {
  const { req, response } = callUpstream(cache, client, { method: 'GET', path, headers: { accept: 'application/json' }, timeoutMs }, metrics);
  req.end();
  const res = await response;
  const body = await readBody(res);
  const status = res.statusCode ?? 502;
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
