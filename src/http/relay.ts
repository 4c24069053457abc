/**
 * The /k8s hot path's upstream exchange: one undici dispatch whose handler writes the cluster's
 * answer straight into the caller's ServerResponse. No promise, no intermediate stream: each
 * chunk undici parses is written to the caller, and when the caller's socket is full the
 * dispatch pauses until it drains (backpressure both ways; the request body is read from the
 * caller only as fast as the cluster takes it).
 *
 * Same contract as callUpstream in src/upstream/call.ts: headers within timeoutMs of the call (time spent
 * waiting for a pooled connection included), then a body idle timeout of timeoutMs unless the
 * call is a stream (watch, follow); the client is released exactly once, when undici is done
 * with the exchange; a caller who leaves aborts it.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { UpstreamClient, UpstreamClientCache } from '../upstream/client-cache.js';
import { sendRawError } from './errors.js';
import { HttpError } from '../util/http-error.js';
import type { HttpMetrics } from './metrics.js';
import { addClusterHeaders, rawResponseHeaders, UpstreamTimeout, upstreamFailure } from '../upstream/call.js';

export interface RelayOptions {
  method: string;
  /** Path and query relative to the server's base path, starting with '/'. */
  path: string;
  timeoutMs: number;
  /** A long-lived stream (watch, follow): no idle timeout once the response has started. */
  streaming: boolean;
}

/** The caller went away before the exchange was over. */
class CallerLeft extends Error {
  override name = 'CallerLeft';
}

/**
 * The handler interface undici's clients call natively (onConnect, onHeaders, onData, onComplete,
 * onError). Its controller interface (onRequestStart, onResponseStart, ...) is typed as the
 * successor, but a Pool still speaks this one and wraps a controller-style handler per request
 * in an adapter that also parses the raw headers into an object (parseHeaders), which this
 * handler would only turn back into a list for writeHead: about 3% of the worker's CPU on the
 * hot path in a profile, for nothing. Same contract either way.
 */
class Relay implements Dispatcher.DispatchHandler {
  private abortExchange: ((err?: Error) => void) | undefined;
  /** Why the exchange must stop before undici started it (timeout, caller gone). */
  private stopWith: Error | undefined;
  /** The caller has been answered (headers relayed, or an error sent). */
  private answered = false;
  private released = false;
  private readonly timer: NodeJS.Timeout;
  /** undici's resume of a paused body (set with the headers). */
  private resume: (() => void) | undefined;

  constructor(
    private readonly cache: UpstreamClientCache,
    private readonly client: UpstreamClient,
    private readonly res: ServerResponse,
    private readonly opts: RelayOptions,
    private readonly metrics: HttpMetrics,
  ) {
    this.timer = setTimeout(() => this.onTimeout(), opts.timeoutMs);
    res.once('close', () => {
      if (!res.writableFinished) this.stop(new CallerLeft());
    });
  }

  private onTimeout(): void {
    if (this.answered) return;
    const err = new UpstreamTimeout();
    // Still queued for a connection: answer now; undici drops the call when it reaches it.
    if (!this.abortExchange) this.fail(err);
    this.stop(err);
  }

  private stop(err: Error): void {
    if (this.abortExchange) this.abortExchange(err);
    else this.stopWith ??= err;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortExchange = abort;
    if (this.stopWith) abort(this.stopWith);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // an interim answer; the final one follows
    clearTimeout(this.timer);
    this.answered = true;
    this.resume = resume;
    this.metrics.countUpstream('ok');
    this.res.writeHead(statusCode, rawResponseHeaders(rawHeaders));
    if (this.opts.streaming) this.res.flushHeaders();
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    // Pairs with 'drain': the caller's socket is full, so stop reading the cluster until it
    // empties (returning false pauses undici's read; its resume() restarts it).
    this.res.once('drain', this.resume!);
    return false;
  }

  onComplete(): void {
    this.res.end();
    this.release();
  }

  onError(err: Error): void {
    clearTimeout(this.timer);
    this.release();
    if (!this.answered) return this.fail(err);
    // Cut mid-body (reset, idle timeout) or the caller left: the caller cannot be told more. An
    // error answer already sent (a timeout while queued) stays as it was sent.
    if (!this.res.writableEnded) this.res.destroy();
  }

  private fail(err: Error): void {
    if (this.answered) return;
    this.answered = true;
    clearTimeout(this.timer);
    if (this.res.destroyed) return;
    const h =
      err instanceof CallerLeft
        ? new HttpError(502, `cluster "${this.client.clusterName}": upstream request aborted`)
        : upstreamFailure(this.client.clusterName, err, this.opts.timeoutMs, this.metrics);
    sendRawError(this.res, h.status, h.message, h.headers, true);
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.cache.release(this.client);
  }
}

/**
 * Sends the caller's request (`body`, when it has one) to the cluster and relays the answer into
 * `res`. Takes over the client reference (released when the exchange is over) and `headers` (the
 * cluster's authorization and host are set on it). Errors before the answer starts are sent as a
 * Kubernetes Status (502, 504); after, the response is cut.
 */
export function relayUpstream(
  cache: UpstreamClientCache,
  client: UpstreamClient,
  headers: OutgoingHttpHeaders,
  body: IncomingMessage | null,
  res: ServerResponse,
  opts: RelayOptions,
  metrics: HttpMetrics,
): void {
  const relay = new Relay(cache, client, res, opts, metrics);
  client.pool.dispatch(
    {
      method: opts.method as Dispatcher.HttpMethod,
      path: client.basePath + opts.path,
      headers: addClusterHeaders(client, headers) as Record<string, string>,
      // An iterator that leaves the caller's request open when undici gives up on it (undici
      // destroys a stream body on failure, which would take the caller's socket and the error
      // answer with it).
      // (undici takes any async iterable; its types list only streams.)
      body: body ? (body.iterator({ destroyOnReturn: false }) as unknown as Readable) : null,
      // The header deadline is the Relay's timer (it also covers the wait for a connection).
      headersTimeout: 0,
      bodyTimeout: opts.streaming ? 0 : opts.timeoutMs,
    },
    relay,
  );
}
