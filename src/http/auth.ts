/**
 * Bearer-token access for /api and /k8s.
 *
 * The store verifies secrets (hashed, constant-time). Each worker trusts a verified token for a
 * short time (authCacheMs, default 1 s) so a hot client does not cost a SQLite query per request;
 * a revoked token therefore stops working on every worker within that time, and at once on the
 * worker that revoked it. Failed verifications are never cached, so a token created a moment ago
 * works immediately.
 *
 * Expiry is checked on every request against the record's expiresAt (cached or not): an expired
 * token answers 401 "token expired" at once on every worker. Last use is noted here too, in
 * memory: a token's first use each minute on this worker queues its id, and a timer hands the
 * queue in one batch to recordTokenUse (the supervisor, in fleetgate serve) off the request
 * path; the store's conditional update writes a token's row at most once a minute whatever the
 * number of workers.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { compileScope, type CompiledScope, type ScopeTarget } from '../access/scope.js';
import { kLastUseIntervalMs } from '../store/tokens.js';
import type { TokenRecord, TokenStoreLike } from './deps.js';
import { HttpError } from '../util/http-error.js';

/** Who is calling, as handlers see it (res.locals.caller). */
export interface Caller {
  record: TokenRecord;
  /** The raw bearer token: only ever used to write the caller's own kubeconfig. */
  token: string;
  /** The token's compiled scope (src/access/scope.ts); absent = compiled from record.clusters on use. */
  scope?: CompiledScope;
}

const kMaxCached = 10_000;
/** How long noted uses wait before they are written in one batch. */
const kLastUseFlushMs = 1000;

export class TokenVerifier {
  private readonly cache = new Map<string, { record: TokenRecord; until: number }>();
  /** Token id → earliest time its next use is worth noting (kLastUseIntervalMs after the last note). */
  private readonly nextNote = new Map<number, number>();
  private readonly pending = new Map<number, number>();
  private flushTimer: NodeJS.Timeout | undefined;

  private readonly touch: TokenStoreLike['touch'];

  constructor(
    private readonly tokens: TokenStoreLike,
    private readonly ttlMs: number,
    private readonly log: (line: string) => void = () => {},
    /** Where noted uses go; default the store's touch. */
    touch?: TokenStoreLike['touch'],
    private readonly lastUseIntervalMs = kLastUseIntervalMs,
  ) {
    this.touch = touch ?? (tokens.touch ? (uses) => tokens.touch!(uses) : undefined);
  }

  /**
   * Notes a use of token `id` at `now`: a Map probe on the request path; at most one note per
   * token per lastUseIntervalMs reaches the pending batch.
   */
  noteUse(id: TokenRecord['id'], now: number): void {
    if (typeof id !== 'number' || this.touch === undefined) return;
    const next = this.nextNote.get(id);
    if (next !== undefined && now < next) return;
    if (this.nextNote.size >= kMaxCached) this.nextNote.clear();
    this.nextNote.set(id, now + this.lastUseIntervalMs);
    this.pending.set(id, now);
    if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flushUses(), kLastUseFlushMs);
      this.flushTimer.unref?.();
    }
  }

  /** Writes the pending uses (also called at shutdown). A failure is logged and the uses dropped. */
  flushUses(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.size === 0) return;
    const batch = new Map(this.pending);
    this.pending.clear();
    const fail = (err: unknown) => this.log(`recording token last use failed: ${err instanceof Error ? err.message : String(err)}`);
    try {
      const r = this.touch?.(batch);
      if (r instanceof Promise) r.catch(fail);
    } catch (err) {
      fail(err);
    }
  }

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

/** A refusal that knows which token it refused (id and name, never the secret), for the audit log. */
export class TokenRefusal extends HttpError {
  constructor(
    message: string,
    readonly record: TokenRecord,
  ) {
    super(401, message, { ...kChallenge });
  }
}

/** Has this token expired at `now`? */
export function isExpired(record: TokenRecord, now: number): boolean {
  const t = record.expiresAt;
  return t !== null && t !== undefined && now >= t;
}

/** A verified record as a caller, or the 401 of an expired token. */
function admitRecord(verifier: TokenVerifier, record: TokenRecord, token: string): Caller | HttpError {
  const now = Date.now();
  if (isExpired(record, now)) return new TokenRefusal('token expired', record);
  verifier.noteUse(record.id, now);
  return { record, token, scope: compileScope(record.role === 'admin' ? null : (record.clusters ?? [])) };
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
  if (hit) return admitRecord(verifier, hit, token);
  return verifier.verify(token).then((record) => (record ? admitRecord(verifier, record, token) : invalidToken()));
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

/** The caller's compiled scope (admins: every cluster; a viewer without rules: none). */
export function scopeOf(caller: Caller): CompiledScope {
  return caller.scope ?? (caller.scope = compileScope(caller.record.role === 'admin' ? null : (caller.record.clusters ?? [])));
}

/**
 * May this caller use this cluster? Pass the index entry (name and groups, so `group:` rules
 * apply); a bare name is judged by name rules alone, for a cluster the index does not hold.
 */
export function canSee(caller: Caller, target: ScopeTarget | string): boolean {
  return scopeOf(caller).admits(typeof target === 'string' ? { name: target } : target);
}

/** The 403 for a cluster outside the caller's scope; it carries the cluster for the audit log. */
export function outOfScope(caller: Caller, name: string): HttpError {
  return new HttpError(403, `token "${caller.record.name}" may not use cluster "${name}"`, {}, name);
}
