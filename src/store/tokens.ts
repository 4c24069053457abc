/**
 * API tokens. A secret is `fg_` + 32 random bytes in base64url, returned once by create; only its
 * SHA-256 is stored. verify() finds candidates by the first 8 bytes of the hash (indexed) and
 * compares the full hash with crypto.timingSafeEqual.
 */
import type Database from 'better-sqlite3';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fchmodSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { kNameRule } from './clusters.js';
import { StoreError, isUniqueViolation, toStoreError } from './errors.js';

export type TokenRole = 'admin' | 'viewer';

export interface TokenRecord {
  id: number;
  name: string;
  role: TokenRole;
  /** Cluster names this token may see; null = all clusters. */
  clusters: string[] | null;
  /** Epoch milliseconds. */
  createdAt: number;
}

export interface TokenInput {
  name: string;
  role: TokenRole;
  /** Viewer tokens only: the clusters it may see (omit or null for all). */
  clusters?: string[] | null;
}

export const kTokenPrefix = 'fg_';
export const kAdminTokenFile = 'admin.token';
export const kMaxSecretLength = 512;
/** Shortest FLEETGATE_ADMIN_TOKEN accepted: guessing it must be as hopeless as a generated one. */
export const kMinEnvSecretLength = 32;
const kClusterNameRe = /^[A-Za-z0-9._-]{1,100}$/;

interface DbToken {
  id: number;
  name: string;
  role: TokenRole;
  clusters: string | null;
  hash: Buffer;
  source: 'api' | 'generated' | 'env';
  created_at: number;
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

export function toRecord(r: Pick<DbToken, 'id' | 'name' | 'role' | 'clusters' | 'created_at'>): TokenRecord {
  return { id: r.id, name: r.name, role: r.role, clusters: r.clusters === null ? null : (JSON.parse(r.clusters) as string[]), createdAt: r.created_at };
}

/** Validates a token's name, role and cluster list; returns the stored cluster list (null = all). */
export function checkTokenInput(input: TokenInput): string[] | null {
  if (typeof input !== 'object' || input === null) throw new StoreError('invalid', 'token must be an object');
  if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 100) {
    throw new StoreError('invalid', 'token name is required (at most 100 characters)');
  }
  if (input.role !== 'admin' && input.role !== 'viewer') throw new StoreError('invalid', 'role must be "admin" or "viewer"');
  let clusters: string[] | null = null;
  if (input.clusters !== undefined && input.clusters !== null) {
    if (!Array.isArray(input.clusters) || input.clusters.some((c) => typeof c !== 'string' || !kClusterNameRe.test(c))) {
      throw new StoreError('invalid', `clusters must be a list of cluster names (${kNameRule.replace('name must be', 'each')})`);
    }
    if (input.role === 'admin' && input.clusters.length > 0) throw new StoreError('invalid', 'clusters applies to viewer tokens only; admin tokens see every cluster');
    clusters = input.role === 'admin' ? null : [...new Set(input.clusters)].sort();
  }
  return clusters;
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
    this.ins = db.prepare('INSERT INTO tokens (name, role, clusters, hash, lookup, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
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
    const clusters = checkTokenInput(input);
    const hash = hashOf(secret);
    const now = Date.now();
    const info = this.ins.run(input.name, input.role, clusters === null ? null : JSON.stringify(clusters), hash, lookupOf(hash), source, now);
    return { id: Number(info.lastInsertRowid), name: input.name, role: input.role, clusters, createdAt: now };
  }

  /** Creates a token; the secret is in the result and nowhere else, ever. */
  create(input: TokenInput): { token: string; record: TokenRecord } {
    const token = newTokenSecret();
    const record = this.run('creating a token', () => this.insert(input, token, 'api'));
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
