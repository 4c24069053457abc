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

class UpstreamTimeout extends Error {
  override name = 'UpstreamTimeout';
}

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
  const headers: OutgoingHttpHeaders = { ...opts.headers };
  if (client.authorization) headers.authorization = client.authorization;
  headers.host = client.origin.host;
  const req = client.request({
    protocol: client.origin.protocol,
    hostname: client.origin.hostname.replace(/^\[|\]$/g, ''),
    port: client.origin.port || undefined,
    method: opts.method,
    path: client.basePath + opts.path,
    headers,
    agent: client.agent,
  });
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    cache.release(client);
  };
  let gotResponse = false;
  // Released when the response body is over, or when the request ends without a response.
  req.once('close', () => {
    if (!gotResponse) release();
  });

  const name = client.clusterName;
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    const headerTimer = setTimeout(() => req.destroy(new UpstreamTimeout()), opts.timeoutMs);
    // Destroyed without an error (the caller went away): settle, and drop the timer.
    req.once('close', () => {
      clearTimeout(headerTimer);
      if (!gotResponse) reject(new HttpError(502, `cluster "${client.clusterName}": upstream request aborted`));
    });
    req.once('response', (res) => {
      clearTimeout(headerTimer);
      gotResponse = true;
      metrics?.countUpstream('ok');
      if (!opts.streaming) req.setTimeout(opts.timeoutMs, () => req.destroy(new UpstreamTimeout()));
      res.once('close', release);
      resolve(res);
    });
    req.on('error', (err) => {
      clearTimeout(headerTimer);
      if (err instanceof UpstreamTimeout) {
        metrics?.countUpstream('timeout');
        reject(new HttpError(504, `cluster "${name}": upstream did not answer within ${opts.timeoutMs} ms`));
      } else {
        metrics?.countUpstream('error');
        reject(new HttpError(502, `cluster "${name}": upstream unreachable: ${describeSocketError(err)}`));
      }
    });
  });
  // Rejections after a response was resolved are impossible; one before anyone awaits must not
  // become an unhandled rejection.
  response.catch(() => {});
  return { req, response };
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
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || kHopByHop.has(k)) continue;
    out[k] = v;
  }
  return out;
}
