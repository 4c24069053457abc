/**
 * Errors as the HTTP API reports them: always JSON `{ "error": "..." }` with the right status.
 * Handlers throw HttpError (src/util/http-error.ts); the error middleware maps everything else (body-parser errors, store
 * errors, torn reads) to a status here, and logs only what is a bug.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Response } from 'express';
import { kRetryAfterSeconds } from '../store/errors.js';
import { HttpError } from '../util/http-error.js';

/** Store error codes (src/store's StoreError.code) and the status each maps to. */
const storeStatus: Record<string, number> = {
  conflict: 409,
  not_found: 404,
  invalid: 400,
  key: 500,
  io: 503,
  unavailable: 503,
};

export interface MappedError {
  status: number;
  message: string;
  headers?: Record<string, string>;
  /** True when the error is a bug or an outage worth a log line. */
  log: boolean;
}

/** Maps any thrown value to a status and a message that is safe to send. */
export function mapError(err: unknown): MappedError {
  if (err instanceof HttpError) return { status: err.status, message: err.message, headers: err.headers, log: false };
  const e = err as { name?: string; code?: unknown; type?: string; status?: number; message?: string } | null;
  if (e && typeof e === 'object') {
    // body-parser (express.json / express.text)
    if (e.type === 'entity.parse.failed') return { status: 400, message: 'malformed JSON body: ' + e.message, log: false };
    if (e.type === 'entity.too.large') return { status: 413, message: 'request body too large', log: false };
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return { status: 415, message: String(e.message), log: false };
    if (e.type === 'request.aborted') return { status: 400, message: 'request aborted', log: false };
    if (e.name === 'StoreError' && typeof e.code === 'string' && e.code in storeStatus) {
      const status = storeStatus[e.code]!;
      // The database is unreachable (PostgreSQL outage): reads still work from the index, a
      // write is refused cleanly and the client is told when to retry.
      if (e.code === 'unavailable') return { status, message: String(e.message), headers: { 'Retry-After': String(kRetryAfterSeconds) }, log: false };
      return { status, message: String(e.message), log: status >= 500 };
    }
    if (e.name === 'TornReadError') return { status: 500, message: 'internal error: torn read of the cluster index', log: true };
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && typeof e.type === 'string') {
      return { status: e.status, message: String(e.message), log: false };
    }
  }
  return { status: 500, message: 'internal error', log: true };
}

/** Kubernetes Status reasons by HTTP status, for errors on /k8s. */
const kReasons: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  413: 'RequestEntityTooLarge',
  500: 'InternalError',
  502: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The JSON error body: `{ "error": message }`, plus a Kubernetes Status on /k8s. */
export function errorBody(status: number, message: string, k8sStatus: boolean): object {
  if (!k8sStatus) return { error: message };
  return {
    error: message,
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: kReasons[status] ?? 'Unknown',
    code: status,
  };
}

/**
 * Sends `{ "error": message }`. On /k8s (res.locals.k8sStatus) the body is also a Kubernetes
 * Status object, so kubectl prints fleetgate's message instead of "unknown".
 */
export function sendError(res: Response, status: number, message: string, headers: Record<string, string> = {}): void {
  sendRawError(res, status, message, headers, res.locals.k8sStatus === true);
}

/**
 * sendError for a plain node:http response (the /k8s fast path never enters Express): the same
 * status, headers and body as Express's res.status(status).json(body) would send.
 */
export function sendRawError(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> | undefined,
  k8sStatus: boolean,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (headers) for (const k of Object.keys(headers)) res.setHeader(k, headers[k]!);
  const body = Buffer.from(JSON.stringify(errorBody(status, message, k8sStatus)), 'utf8');
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  if (res.req?.method === 'HEAD') res.end();
  else res.end(body);
}

/** The app's last middleware. */
export function errorHandler(log: (line: string) => void): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const m = mapError(err);
    if (m.log) {
      const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      log(`${req.method} ${req.path} → ${m.status}: ${what}`);
    }
    sendError(res, m.status, m.message, m.headers);
  };
}
