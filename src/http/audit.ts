/**
 * What the HTTP layer tells the audit log (src/audit/log.ts), and how each record is cut from a
 * request: the path without its query (queries may carry anything, kubectl exec's command among
 * them), the token's id and name (never the token), the caller's address.
 *
 * Recorded: every refusal fleetgate itself answers with 401 or 403 (the Express error handler,
 * the /k8s fast path, the upgrade listener), every admin write (the middleware below), every
 * connection upgrade that passed fleetgate's checks, with the cluster's answer.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { AuditLog } from '../audit/log.js';
import type { AuditRecord } from '../store/audit.js';
import type { Caller } from './auth.js';
import { TokenRefusal } from './auth.js';
import type { TokenRecord } from './deps.js';
import { HttpError } from '../util/http-error.js';

/** The request's path without its query. */
export function pathOf(req: Pick<IncomingMessage, 'url'> & { originalUrl?: string }): string {
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function clientAddress(req: Pick<IncomingMessage, 'socket'>): string {
  return req.socket?.remoteAddress ?? '';
}

/** Namespace, pod and container of a pod subresource path (exec, attach, portforward, log ...). */
export function podTarget(path: string): { namespace: string; pod: string; container: string } {
  const q = path.indexOf('?');
  const p = q < 0 ? path : path.slice(0, q);
  const m = /\/namespaces\/([^/]+)\/pods\/([^/]+)/.exec(p);
  let container = '';
  if (q >= 0) container = new URLSearchParams(path.slice(q + 1)).get('container') ?? '';
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return { namespace: m ? dec(m[1]!) : '', pod: m ? dec(m[2]!) : '', container };
}

function tokenOf(caller: Caller | undefined, err: unknown): Pick<TokenRecord, 'id' | 'name'> | undefined {
  if (caller) return caller.record;
  if (err instanceof TokenRefusal) return err.record;
  return undefined;
}

type Base = Pick<AuditRecord, 'kind' | 'status' | 'outcome' | 'cluster'> & Partial<Pick<AuditRecord, 'namespace' | 'pod' | 'container'>>;

/** A record of this request with the given kind, status and outcome. */
export function requestRecord(req: IncomingMessage & { originalUrl?: string }, caller: Caller | undefined, err: unknown, b: Base): Omit<AuditRecord, 'at'> {
  const t = tokenOf(caller, err);
  const id = t === undefined ? null : Number(t.id);
  return {
    kind: b.kind,
    tokenId: id !== null && Number.isFinite(id) ? id : null,
    tokenName: t?.name ?? '',
    method: req.method ?? '',
    route: pathOf(req),
    cluster: b.cluster,
    namespace: b.namespace ?? '',
    pod: b.pod ?? '',
    container: b.container ?? '',
    status: b.status,
    outcome: b.outcome,
    client: clientAddress(req),
  };
}

/** Records a refusal (401/403) fleetgate answered; other statuses are not recorded here. */
export function auditRefusal(
  audit: AuditLog,
  req: IncomingMessage & { originalUrl?: string },
  status: number,
  message: string,
  caller: Caller | undefined,
  err: unknown,
  cluster = '',
  pod?: { namespace: string; pod: string; container: string },
): void {
  if (status !== 401 && status !== 403) return;
  const c = err instanceof HttpError && err.cluster !== '' ? err.cluster : cluster;
  audit.record(requestRecord(req, caller, err, { kind: 'refused', status, outcome: message, cluster: c, ...pod }));
}

const kReadMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Middleware for /api/v1/admin: records each write when its response has been sent, with the
 * status, the error message or "ok", and the cluster a handler named in res.locals.auditCluster.
 * Reads (GET) are not recorded.
 */
export function auditAdminWrites(audit: AuditLog) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!kReadMethods.has(req.method)) {
      res.once('finish', () => {
        const status = res.statusCode;
        if (status === 401 || status === 403) return; // the error handler recorded the refusal
        const outcome = status < 400 ? String(res.locals.auditOutcome ?? 'ok') : String(res.locals.errorMessage ?? 'failed');
        audit.record(requestRecord(req, res.locals.caller as Caller | undefined, undefined, { kind: 'admin', status, outcome, cluster: String(res.locals.auditCluster ?? '') }));
      });
    }
    next();
  };
}
