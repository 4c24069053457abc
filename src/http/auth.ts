/**
 * Bearer-token access for /api and /k8s.
 *
 * The store verifies secrets (hashed, constant-time). Each worker trusts a verified token for a
 * short time (authCacheMs, default 1 s) so a hot client does not cost a SQLite query per request;
 * a revoked token therefore stops working on every worker within that time, and at once on the
 * worker that revoked it. Failed verifications are never cached, so a token created a moment ago
 * works immediately.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { TokenRecord, TokenStoreLike } from './deps.js';
import { HttpError } from './errors.js';

/** Who is calling, as handlers see it (res.locals.caller). */
export interface Caller {
  record: TokenRecord;
  /** The raw bearer token: only ever used to write the caller's own kubeconfig. */
  token: string;
}

const kMaxCached = 10_000;

export class TokenVerifier {
  private readonly cache = new Map<string, { record: TokenRecord; until: number }>();

  constructor(
    private readonly tokens: TokenStoreLike,
    private readonly ttlMs: number,
  ) {}

  /** A verification of `secret` this worker still trusts, without asking the store; else undefined. */
  cached(secret: string): TokenRecord | undefined {
    const hit = this.cache.get(secret);
    return hit !== undefined && hit.until > Date.now() ? hit.record : undefined;
  }

  async verify(secret: string): Promise<TokenRecord | undefined> {
    const now = Date.now();
    const hit = this.cache.get(secret);
    if (hit && hit.until > now) return hit.record;
    if (hit) this.cache.delete(secret);
    const record = await this.tokens.verify(secret);
    if (record && this.ttlMs > 0) {
      if (this.cache.size >= kMaxCached) this.evictExpired(now);
      if (this.cache.size < kMaxCached) this.cache.set(secret, { record, until: now + this.ttlMs });
    }
    return record;
  }

  /** Forget cached verifications of one token record (after this worker deleted it). */
  forget(id: TokenRecord['id']): void {
    for (const [k, v] of this.cache) if (String(v.record.id) === String(id)) this.cache.delete(k);
  }

  private evictExpired(now: number): void {
    for (const [k, v] of this.cache) if (v.until <= now) this.cache.delete(k);
  }
}

/** Reads `Authorization: Bearer TOKEN`, or '' when absent or another scheme. */
export function bearerToken(req: Pick<IncomingMessage, 'headers'>): string {
  const h = req.headers.authorization;
  if (!h) return '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : '';
}

/** Constant-time comparison of two secrets (the lengths may differ; that alone is not hidden). */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

const kChallenge = { 'WWW-Authenticate': 'Bearer' } as const;

function missingToken(): HttpError {
  return new HttpError(401, 'missing bearer token (Authorization: Bearer TOKEN)', { ...kChallenge });
}

function invalidToken(): HttpError {
  return new HttpError(401, 'invalid or revoked token', { ...kChallenge });
}

/**
 * The caller of a request, or an HttpError 401. Synchronous when this worker still trusts the
 * token (the hot path: no promise, no microtask); a promise when the store must be asked.
 * Shared by the Express middleware and the /k8s fast path, so both authenticate alike.
 */
export function authenticate(verifier: TokenVerifier, req: Pick<IncomingMessage, 'headers'>): Caller | HttpError | Promise<Caller | HttpError> {
  const token = bearerToken(req);
  if (!token) return missingToken();
  const hit = verifier.cached(token);
  if (hit) return { record: hit, token };
  return verifier.verify(token).then((record) => (record ? { record, token } : invalidToken()));
}

export function requireAuth(verifier: TokenVerifier): RequestHandler {
  const admit = (c: Caller | HttpError, res: Response, next: NextFunction) => {
    if (c instanceof HttpError) throw c;
    res.locals.caller = c satisfies Caller;
    next();
  };
  // Not an async function: a token this worker trusts costs no promise. Express 5 passes a
  // synchronous throw, and the rejection of a returned promise, to the error handler.
  return (req: Request, res: Response, next: NextFunction) => {
    const c = authenticate(verifier, req);
    if (c instanceof Promise) return c.then((v) => admit(v, res, next));
    admit(c, res, next);
  };
}

export function callerOf(res: Response): Caller {
  const c = res.locals.caller as Caller | undefined;
  if (!c) throw new Error('http: route reached without requireAuth');
  return c;
}

export const requireAdmin: RequestHandler = (_req, res, next) => {
  if (callerOf(res).record.role !== 'admin') throw new HttpError(403, 'admin token required');
  next();
};

/** May this caller use the cluster named `name`? */
export function canSee(caller: Caller, name: string): boolean {
  const allowed = caller.record.clusters;
  return allowed === null || allowed === undefined || allowed.includes(name);
}
