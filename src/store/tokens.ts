/**
 * API tokens. A secret is `fg_` + 32 random bytes in base64url, returned once by create; only its
 * SHA-256 is stored. verify() finds candidates by the first 8 bytes of the hash (indexed) and
 * compares the full hash with crypto.timingSafeEqual.
 */
import type Database from 'better-sqlite3';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fchmodSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { groupsNamed, parseRules, ScopeRuleError } from '../access/scope.js';
import { StoreError, isUniqueViolation, toStoreError } from './errors.js';

export type TokenRole = 'admin' | 'viewer';

export interface TokenRecord {
  id: number;
  name: string;
  role: TokenRole;
  /** Viewer tokens: the scope rules (src/access/scope.ts), in order; null for admin tokens (every cluster). */
  clusters: string[] | null;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds after which the token is refused ("token expired"); null = never. */
  expiresAt: number | null;
  /** Epoch milliseconds of the last use seen, coarse (recorded at most once a minute); null = never used. */
  lastUsedAt: number | null;
}

export interface TokenInput {
  name: string;
  role: TokenRole;
  /**
   * Viewer tokens only: scope rules (cluster names, globs, group:NAME, !exclusions; the last match
   * wins). Omitted, null or []: no rules, so no cluster (pass ["*"] for every cluster).
   */
  clusters?: string[] | null;
  /** Epoch milliseconds; must be in the future. Omitted or null: never expires. */
  expiresAt?: number | null;
}

/** Last use is written at most this often per token (and never on the request path). */
export const kLastUseIntervalMs = 60_000;

export const kTokenPrefix = 'fg_';
export const kAdminTokenFile = 'admin.token';
export const kMaxSecretLength = 512;
/** Shortest FLEETGATE_ADMIN_TOKEN accepted: guessing it must be as hopeless as a generated one. */
export const kMinEnvSecretLength = 32;

/** A row of the tokens table, as both backends read it (the same columns in both dialects). */
export interface DbToken {
  id: number;
  name: string;
  role: TokenRole;
  clusters: string | null;
  hash: Buffer;
  source: 'api' | 'generated' | 'env';
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

export function hashOf(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
export function lookupOf(hash: Buffer): string {
  return hash.subarray(0, 8).toString('hex');
}
export function newTokenSecret(): string {
  return kTokenPrefix + randomBytes(32).toString('base64url');
}

export function toRecord(r: Pick<DbToken, 'id' | 'name' | 'role' | 'clusters' | 'created_at' | 'expires_at' | 'last_used_at'>): TokenRecord {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    clusters: r.clusters === null ? null : (JSON.parse(r.clusters) as string[]),
    createdAt: r.created_at,
    expiresAt: r.expires_at === null || r.expires_at === undefined ? null : Number(r.expires_at),
    lastUsedAt: r.last_used_at === null || r.last_used_at === undefined ? null : Number(r.last_used_at),
  };
}

/** A token input, validated: what to store, and the groups its rules name (which must exist). */
export interface CheckedToken {
  /** The rules to store, in the order given (order decides: the last match wins); null for admins. */
  clusters: string[] | null;
  expiresAt: number | null;
  /** Group names the rules use: the backend checks they exist, in its write transaction. */
  groups: string[];
}

/** Validates a token's name, role, scope rules and expiry without the database; throws StoreError('invalid'). */
export function checkTokenInput(input: TokenInput, now = Date.now()): CheckedToken {
  if (typeof input !== 'object' || input === null) throw new StoreError('invalid', 'token must be an object');
  if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 100) {
    throw new StoreError('invalid', 'token name is required (at most 100 characters)');
  }
  if (input.role !== 'admin' && input.role !== 'viewer') throw new StoreError('invalid', 'role must be "admin" or "viewer"');
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt !== null && (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt <= now)) {
    throw new StoreError('invalid', 'expiresAt must be a time in the future');
  }
  const given = input.clusters;
  if (input.role === 'admin') {
    if (given !== undefined && given !== null && (!Array.isArray(given) || given.length > 0)) {
      throw new StoreError('invalid', 'clusters applies to viewer tokens only; admin tokens see every cluster');
    }
    return { clusters: null, expiresAt, groups: [] };
  }
  // No rules sees nothing: a forgotten field must not grant the whole fleet.
  if (given === undefined || given === null) return { clusters: [], expiresAt, groups: [] };
  let rules;
  try {
    rules = parseRules(given);
  } catch (err) {
    if (err instanceof ScopeRuleError) throw new StoreError('invalid', err.message);
    throw err;
  }
  return { clusters: [...given], expiresAt, groups: groupsNamed(rules) };
}

/** The refusal of rules naming groups that do not exist. */
export function unknownGroupsError(unknown: readonly string[]): StoreError {
  return new StoreError('invalid', `unknown group ${unknown.map((g) => `"${g}"`).join(', ')} in clusters; create it first (POST /api/v1/admin/groups)`);
}

/** FLEETGATE_ADMIN_TOKEN's shape; throws StoreError('invalid'). */
export function checkEnvToken(envToken: string): void {
  if (envToken.length > kMaxSecretLength || /\s/.test(envToken)) {
    throw new StoreError('invalid', 'FLEETGATE_ADMIN_TOKEN must be at most 512 characters without whitespace');
  }
  if (envToken.length < kMinEnvSecretLength) {
    throw new StoreError('invalid', `FLEETGATE_ADMIN_TOKEN must be at least ${kMinEnvSecretLength} characters (e.g. openssl rand -hex 32)`);
  }
}

export class TokenRepo {
  private readonly ins: Database.Statement<unknown[]>;
  private readonly byLookup: Database.Statement<[string], DbToken>;

  constructor(
    private readonly db: Database.Database,
    private readonly dataDir: string,
  ) {
    this.ins = db.prepare('INSERT INTO tokens (name, role, clusters, hash, lookup, source, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.byLookup = db.prepare('SELECT * FROM tokens WHERE lookup = ?');
  }

  private run<T>(action: string, fn: () => T, txn = false): T {
    try {
      return txn ? this.db.transaction(fn).immediate() : fn();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreError('conflict', 'that token already exists');
      throw toStoreError(err, action);
    }
  }

  private insert(input: TokenInput, secret: string, source: DbToken['source']): TokenRecord {
    const now = Date.now();
    const { clusters, expiresAt, groups } = checkTokenInput(input, now);
    if (groups.length > 0) {
      const q = this.db.prepare('SELECT 1 FROM cluster_groups WHERE name = ?').pluck();
      const unknown = groups.filter((g) => q.get(g) === undefined);
      if (unknown.length > 0) throw unknownGroupsError(unknown);
    }
    const hash = hashOf(secret);
    const info = this.ins.run(input.name, input.role, clusters === null ? null : JSON.stringify(clusters), hash, lookupOf(hash), source, now, expiresAt);
    return { id: Number(info.lastInsertRowid), name: input.name, role: input.role, clusters, createdAt: now, expiresAt, lastUsedAt: null };
  }

  /**
   * Records last use: one conditional UPDATE per token, which writes only when the stored time is
   * older than kLastUseIntervalMs, so however many workers report a token, its row is written at
   * most once a minute. Called off the request path (TokenVerifier in src/http/auth.ts batches).
   */
  touch(uses: ReadonlyMap<number, number>): void {
    if (uses.size === 0) return;
    const upd = this.db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)');
    this.run(
      'recording token use',
      () => {
        for (const [id, at] of uses) upd.run(at, id, at - kLastUseIntervalMs);
      },
      true,
    );
  }

  /** Creates a token; the secret is in the result and nowhere else, ever. */
  create(input: TokenInput): { token: string; record: TokenRecord } {
    const token = newTokenSecret();
    const record = this.run('creating a token', () => this.insert(input, token, 'api'), true);
    return { token, record };
  }

  list(): TokenRecord[] {
    return this.run('listing tokens', () =>
      (this.db.prepare('SELECT * FROM tokens ORDER BY id').all() as DbToken[]).map(toRecord),
    );
  }

  /** Deletes a token. The last admin token cannot be deleted (the server would be unmanageable). */
  delete(id: number): void {
    this.run(
      'deleting a token',
      () => {
        const r = this.db.prepare('SELECT * FROM tokens WHERE id = ?').get(id) as DbToken | undefined;
        if (!r) throw new StoreError('not_found', `no token with id ${id}`);
        if (r.role === 'admin') {
          const admins = (this.db.prepare("SELECT count(*) AS n FROM tokens WHERE role = 'admin'").get() as { n: number }).n;
          if (admins <= 1) throw new StoreError('invalid', 'cannot delete the last admin token; create another admin token first');
        }
        this.db.prepare('DELETE FROM tokens WHERE id = ?').run(id);
      },
      true,
    );
  }

  /** The token's record when `secret` is a valid token, else undefined. Never throws for bad input. */
  verify(secret: unknown): TokenRecord | undefined {
    if (typeof secret !== 'string' || secret.length === 0 || secret.length > kMaxSecretLength) return undefined;
    const hash = hashOf(secret);
    const rows = this.run('verifying a token', () => this.byLookup.all(lookupOf(hash)));
    let found: DbToken | undefined;
    for (const r of rows) {
      if (r.hash.length === hash.length && timingSafeEqual(r.hash, hash)) found = r;
    }
    return found ? toRecord(found) : undefined;
  }

  /**
   * Makes sure an admin token exists. With `envToken` (FLEETGATE_ADMIN_TOKEN) that token is
   * registered (replacing a previous environment token) and nothing is returned. Otherwise, when
   * no admin token exists, one is generated, written to DATA/admin.token (mode 0600) and
   * returned so the caller prints it once.
   */
  ensureAdminToken(envToken?: string): { token?: string; created: boolean; retired?: boolean } {
    if (envToken !== undefined && envToken !== '') {
      checkEnvToken(envToken);
      return this.run(
        'registering FLEETGATE_ADMIN_TOKEN',
        () => {
          const hash = hashOf(envToken);
          const existing = this.db.prepare("SELECT * FROM tokens WHERE source = 'env'").all() as DbToken[];
          if (existing.some((r) => timingSafeEqual(r.hash, hash))) return { created: false };
          this.db.prepare("DELETE FROM tokens WHERE source = 'env'").run();
          const clash = this.byLookup.all(lookupOf(hash)).some((r) => timingSafeEqual(r.hash, hash));
          if (clash) return { created: false }; // already registered as another token; it stays as it is
          this.insert({ name: 'admin (FLEETGATE_ADMIN_TOKEN)', role: 'admin' }, envToken, 'env');
          return { created: true };
        },
        true,
      );
    }
    // The variable is gone: the token it set stops working (an operator who unsets a leaked
    // token expects exactly that), and a generated one takes over if no admin is left.
    const retired = this.run('retiring the FLEETGATE_ADMIN_TOKEN token', () => this.db.prepare("DELETE FROM tokens WHERE source = 'env'").run().changes > 0);
    const token = newTokenSecret();
    const created = this.run(
      'creating the admin token',
      () => {
        const admins = (this.db.prepare("SELECT count(*) AS n FROM tokens WHERE role = 'admin'").get() as { n: number }).n;
        if (admins > 0) return false;
        this.insert({ name: 'admin (generated)', role: 'admin' }, token, 'generated');
        // Written inside the transaction: if the file cannot be written, the row is rolled back
        // and the next start tries again, so the secret is never lost.
        writeSecretFile(join(this.dataDir, kAdminTokenFile), token + '\n');
        return true;
      },
      true,
    );
    const out: { token?: string; created: boolean; retired?: boolean } = created ? { token, created: true } : { created: false };
    if (retired) out.retired = true;
    return out;
  }
}

export function writeSecretFile(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o600);
  } catch (err) {
    throw new StoreError('io', `cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    fchmodSync(fd, 0o600);
    ftruncateSync(fd, 0);
    writeSync(fd, text);
  } catch (err) {
    throw new StoreError('io', `cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    closeSync(fd);
  }
}
