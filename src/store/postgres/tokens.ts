/**
 * API tokens on PostgreSQL: the SQLite TokenRepo's rules (shared validation and hashing), and
 * every write notifies the other replicas.
 *
 * Outage rule: verify() remembers the tokens it verified (by hash, bounded). When the database is
 * unreachable a token this connection verified before is still accepted, so reads keep working
 * from the index; an unknown token gets StoreError('unavailable') (503), never a false 401.
 * Nothing can be revoked while the database is down, so the remembered answers stay true.
 */
import type pg from 'pg';
import { timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import type { TokenRepoApi } from '../backend.js';
import {
  checkEnvToken,
  checkTokenInput,
  hashOf,
  kLastUseIntervalMs,
  unknownGroupsError,
  kAdminTokenFile,
  kMaxSecretLength,
  lookupOf,
  newTokenSecret,
  toRecord,
  writeSecretFile,
  type DbToken,
  type TokenInput,
  type TokenRecord,
} from '../tokens.js';
import { inTransaction, query } from './db.js';
import { isPgUniqueViolation, isUnreachable, pgToStoreError } from './errors.js';

const kMaxRemembered = 10_000;

export class PgTokenRepo implements TokenRepoApi {
  /** hash (hex) → record, for verify() during an outage. */
  private readonly remembered = new Map<string, TokenRecord>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly dataDir: string,
  ) {}

  private write<T>(action: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, action, 'tokens', fn, (err) =>
      isPgUniqueViolation(err) ? new StoreError('conflict', 'that token already exists') : pgToStoreError(err, action),
    );
  }

  private async insert(c: pg.PoolClient, input: TokenInput, secret: string, source: DbToken['source']): Promise<TokenRecord> {
    const now = Date.now();
    const { clusters, expiresAt, groups } = checkTokenInput(input, now);
    if (groups.length > 0) {
      // FOR SHARE: a group named here cannot be deleted or renamed before this token commits.
      const found = await c.query<{ name: string }>('SELECT name FROM cluster_groups WHERE name = ANY($1) FOR SHARE', [groups]);
      const have = new Set(found.rows.map((r) => r.name));
      const unknown = groups.filter((g) => !have.has(g));
      if (unknown.length > 0) throw unknownGroupsError(unknown);
    }
    const hash = hashOf(secret);
    const r = await c.query<{ id: number }>(
      'INSERT INTO tokens (name, role, clusters, hash, lookup, source, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id',
      [input.name, input.role, clusters === null ? null : JSON.stringify(clusters), hash, lookupOf(hash), source, now, expiresAt],
    );
    return { id: r.rows[0]!.id, name: input.name, role: input.role, clusters, createdAt: now, expiresAt, lastUsedAt: null };
  }

  /** Last use, as on SQLite: one conditional UPDATE per token, at most one write a minute; no NOTIFY (not in the index). */
  async touch(uses: ReadonlyMap<number, number>): Promise<void> {
    if (uses.size === 0) return;
    const ids = [...uses.keys()];
    const ats = ids.map((id) => uses.get(id)!);
    await query(
      this.pool,
      'recording token use',
      `UPDATE tokens t SET last_used_at = u.at FROM unnest($1::int[], $2::bigint[]) AS u(id, at)
       WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at <= u.at - $3)`,
      [ids, ats, kLastUseIntervalMs],
    );
  }

  async create(input: TokenInput): Promise<{ token: string; record: TokenRecord }> {
    checkTokenInput(input); // bad input fails before a connection is taken
    const token = newTokenSecret();
    const record = await this.write('creating a token', (c) => this.insert(c, input, token, 'api'));
    return { token, record };
  }

  async list(): Promise<TokenRecord[]> {
    return (await query<DbToken>(this.pool, 'listing tokens', 'SELECT * FROM tokens ORDER BY id')).map(toRecord);
  }

  async delete(id: number): Promise<void> {
    await this.write('deleting a token', async (c) => {
      const r = await c.query<DbToken>('SELECT * FROM tokens WHERE id = $1 FOR UPDATE', [id]);
      if (!r.rows[0]) throw new StoreError('not_found', `no token with id ${id}`);
      if (r.rows[0].role === 'admin') {
        // Lock every admin row so two replicas cannot each delete one of the last two.
        const admins = await c.query("SELECT id FROM tokens WHERE role = 'admin' FOR UPDATE");
        if (admins.rowCount! <= 1) throw new StoreError('invalid', 'cannot delete the last admin token; create another admin token first');
      }
      await c.query('DELETE FROM tokens WHERE id = $1', [id]);
      for (const [k, v] of this.remembered) if (v.id === id) this.remembered.delete(k);
    });
  }

  async verify(secret: unknown): Promise<TokenRecord | undefined> {
    if (typeof secret !== 'string' || secret.length === 0 || secret.length > kMaxSecretLength) return undefined;
    const hash = hashOf(secret);
    const key = hash.toString('hex');
    let rows: DbToken[];
    try {
      rows = (await this.pool.query<DbToken>('SELECT * FROM tokens WHERE lookup = $1', [lookupOf(hash)])).rows;
    } catch (err) {
      if (isUnreachable(err)) {
        const known = this.remembered.get(key);
        if (known) return known;
      }
      throw pgToStoreError(err, 'verifying a token');
    }
    let found: DbToken | undefined;
    for (const r of rows) if (r.hash.length === hash.length && timingSafeEqual(r.hash, hash)) found = r;
    if (!found) {
      this.remembered.delete(key);
      return undefined;
    }
    const record = toRecord(found);
    if (this.remembered.size >= kMaxRemembered) this.remembered.clear();
    this.remembered.set(key, record);
    return record;
  }

  async ensureAdminToken(envToken?: string): Promise<{ token?: string; created: boolean; retired?: boolean }> {
    if (envToken !== undefined && envToken !== '') {
      checkEnvToken(envToken);
      return this.write('registering FLEETGATE_ADMIN_TOKEN', async (c) => {
        // One replica at a time: every replica registers the same environment token at start.
        await c.query('LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE');
        const hash = hashOf(envToken);
        const existing = await c.query<DbToken>("SELECT * FROM tokens WHERE source = 'env'");
        if (existing.rows.some((r) => timingSafeEqual(r.hash, hash))) return { created: false };
        await c.query("DELETE FROM tokens WHERE source = 'env'");
        const clash = await c.query<DbToken>('SELECT * FROM tokens WHERE lookup = $1', [lookupOf(hash)]);
        if (clash.rows.some((r) => timingSafeEqual(r.hash, hash))) return { created: false };
        await this.insert(c, { name: 'admin (FLEETGATE_ADMIN_TOKEN)', role: 'admin' }, envToken, 'env');
        return { created: true };
      });
    }
    const token = newTokenSecret();
    let retired = false;
    const created = await this.write('creating the admin token', async (c) => {
      await c.query('LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE');
      // The variable is gone: the token it set stops working (as the SQLite backend does).
      retired = ((await c.query("DELETE FROM tokens WHERE source = 'env'")).rowCount ?? 0) > 0;
      const admins = await c.query("SELECT 1 FROM tokens WHERE role = 'admin'");
      if (admins.rowCount! > 0) return false;
      await this.insert(c, { name: 'admin (generated)', role: 'admin' }, token, 'generated');
      // Written before COMMIT: if the file cannot be written the row is rolled back.
      writeSecretFile(join(this.dataDir, kAdminTokenFile), token + '\n');
      return true;
    });
    const out: { token?: string; created: boolean; retired?: boolean } = created ? { token, created: true } : { created: false };
    if (retired) out.retired = true;
    return out;
  }
}
