import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { open, storeError, tempDir } from './helpers.js';

describe('tokens', () => {
  it('create returns the secret once; verify finds it; wrong and malformed secrets do not', () => {
    const s = open();
    const { token, record } = s.tokens.create({ name: 'ci', role: 'admin' });
    expect(token).toMatch(/^fg_[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({ name: 'ci', role: 'admin', clusters: null });
    expect(s.tokens.verify(token)).toEqual(record);
    expect(s.tokens.verify(token + 'x')).toBeUndefined();
    expect(s.tokens.verify(token.slice(0, -1))).toBeUndefined();
    for (const bad of ['', undefined, null, 42, 'x'.repeat(10_000)]) expect(s.tokens.verify(bad)).toBeUndefined();
    expect(s.tokens.list()).toEqual([record]);
    expect(JSON.stringify(s.tokens.list())).not.toContain(token);
    expect(inspect(record)).not.toContain(token);
  });

  it('secrets are stored only as SHA-256 hashes (not in the database files)', () => {
    const dataDir = tempDir();
    const s = open({ dataDir });
    const { token } = s.tokens.create({ name: 'v', role: 'viewer' });
    for (const f of readdirSync(dataDir).filter((f) => f.startsWith('fleetgate.db'))) {
      expect(readFileSync(join(dataDir, f)).includes(Buffer.from(token.slice(3)))).toBe(false);
    }
    const row = s.db.prepare('SELECT hash FROM tokens').get() as { hash: Buffer };
    expect(row.hash.length).toBe(32);
  });

  it('viewer scope rules are persisted in their order (the last match wins); admin tokens cannot be scoped', () => {
    const dataDir = tempDir();
    const s = open({ dataDir });
    const { token, record } = s.tokens.create({ name: 'dev', role: 'viewer', clusters: ['b', 'a-*', '!a-1'] });
    expect(record.clusters).toEqual(['b', 'a-*', '!a-1']);
    s.close();
    const again = open({ dataDir });
    expect(again.tokens.verify(token)).toMatchObject({ role: 'viewer', clusters: ['b', 'a-*', '!a-1'] });
    // Omitted: no rules, stored as [] (a scope that admits nothing); every cluster is ["*"], given explicitly.
    expect(again.tokens.create({ name: 'unscoped', role: 'viewer' }).record.clusters).toEqual([]);
    expect(again.tokens.create({ name: 'all', role: 'viewer', clusters: ['*'] }).record.clusters).toEqual(['*']);
    expect(again.tokens.create({ name: 'none', role: 'viewer', clusters: [] }).record.clusters).toEqual([]);
    expect(storeError(() => again.tokens.create({ name: 'x', role: 'viewer', clusters: ['group:nope'] })).message).toMatch(/unknown group "nope"/);
    expect(storeError(() => again.tokens.create({ name: 'x', role: 'viewer', clusters: ['prod/*'] })).message).toMatch(/malformed/);
    expect(storeError(() => again.tokens.create({ name: 'x', role: 'viewer', expiresAt: Date.now() - 1 })).message).toMatch(/future/);
    expect(storeError(() => again.tokens.create({ name: 'x', role: 'admin', clusters: ['a'] })).code).toBe('invalid');
    expect(storeError(() => again.tokens.create({ name: 'x', role: 'root' as 'admin' })).message).toBe('role must be "admin" or "viewer"');
    expect(storeError(() => again.tokens.create({ name: '', role: 'viewer' })).code).toBe('invalid');
    expect(storeError(() => again.tokens.create({ name: 'x', role: 'viewer', clusters: ['a b'] })).code).toBe('invalid');
  });

  it('delete: not_found for unknown ids; the last admin token stays', () => {
    const s = open();
    const a = s.tokens.create({ name: 'a', role: 'admin' });
    const v = s.tokens.create({ name: 'v', role: 'viewer' });
    s.tokens.delete(v.record.id);
    expect(s.tokens.verify(v.token)).toBeUndefined();
    expect(storeError(() => s.tokens.delete(v.record.id)).code).toBe('not_found');
    expect(storeError(() => s.tokens.delete(a.record.id)).message).toMatch(/cannot delete the last admin token/);
    const b = s.tokens.create({ name: 'b', role: 'admin' });
    s.tokens.delete(a.record.id);
    expect(s.tokens.verify(b.token)?.name).toBe('b');
  });
});

describe('ensureAdminToken', () => {
  it('first start generates one, writes DATA/admin.token with mode 0600, returns it once', () => {
    const dataDir = tempDir();
    const s = openStore({ dataDir, env: {} });
    const first = s.tokens.ensureAdminToken();
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^fg_/);
    const file = join(dataDir, 'admin.token');
    expect(readFileSync(file, 'utf8')).toBe(first.token + '\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(s.tokens.verify(first.token!)).toMatchObject({ role: 'admin' });
    s.close();
    const again = openStore({ dataDir, env: {} });
    expect(again.tokens.ensureAdminToken()).toEqual({ created: false });
    again.close();
  });

  it('FLEETGATE_ADMIN_TOKEN is registered (no file) and replaced when it changes', () => {
    const dataDir = tempDir();
    const s = open({ dataDir });
    expect(s.tokens.ensureAdminToken('env-admin-token-1-0123456789abcdef-x')).toEqual({ created: true });
    expect(s.tokens.ensureAdminToken('env-admin-token-1-0123456789abcdef-x')).toEqual({ created: false });
    expect(existsSync(join(dataDir, 'admin.token'))).toBe(false);
    expect(s.tokens.verify('env-admin-token-1-0123456789abcdef-x')).toMatchObject({ role: 'admin', clusters: null });
    s.tokens.ensureAdminToken('env-admin-token-2-0123456789abcdef-x');
    expect(s.tokens.verify('env-admin-token-1-0123456789abcdef-x')).toBeUndefined();
    expect(s.tokens.verify('env-admin-token-2-0123456789abcdef-x')).toMatchObject({ role: 'admin' });
    expect(s.tokens.list()).toHaveLength(1);
    const e = storeError(() => s.tokens.ensureAdminToken('has space'));
    expect(e.message).not.toContain('has space');
  });

  it('a FLEETGATE_ADMIN_TOKEN shorter than 32 characters is refused; unsetting it retires its token', () => {
    const dataDir = tempDir();
    const s = open({ dataDir });
    const short = 'x'.repeat(31);
    const e = storeError(() => s.tokens.ensureAdminToken(short));
    expect(e.message).toMatch(/at least 32 characters/);
    expect(e.message).not.toContain(short);
    expect(s.tokens.list()).toHaveLength(0);
    const env = 'y'.repeat(32);
    expect(s.tokens.ensureAdminToken(env)).toEqual({ created: true });
    const after = s.tokens.ensureAdminToken(undefined);
    expect(after).toMatchObject({ created: true, retired: true, token: expect.stringMatching(/^fg_/) });
    expect(s.tokens.verify(env)).toBeUndefined();
    expect(s.tokens.verify(after.token!)).toMatchObject({ role: 'admin' });
    expect(s.tokens.ensureAdminToken(undefined)).toEqual({ created: false });
  });
});
