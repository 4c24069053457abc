/**
 * The store contract, run against both backends: SQLite in a temporary data directory and a
 * throwaway PostgreSQL (test/helpers/postgres.ts), each case on a fresh database. Every call is
 * awaited, so the same assertions hold for the synchronous and the asynchronous backend.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openBackend, StoreError } from '../../src/store/index.js';
import { kubeconfig, threeContexts } from '../k8s/helpers.js';
import { bothBackends, rejection, tempDir, type Backend } from './helpers.js';

const kKeyA = 'a'.repeat(64);
const kKeyB = 'b'.repeat(64);
const { fresh, openAt: openIt } = bothBackends('fg_contract', kKeyA);

describe.each<Backend>(['sqlite', 'postgres'])('store contract on %s', (backend) => {
  it('clusters: create, list by name, get, rename, disable, delete; conflicts and rules', async () => {
    const s = await openIt(fresh(backend));
    expect(s.kind).toBe(backend);
    const b = await s.clusters.create({ name: 'bravo', description: 'B', config: kubeconfig(), prometheusUrl: 'http://prom:9090' });
    const a = await s.clusters.create({ name: 'alpha', config: kubeconfig({ server: 'https://127.0.0.1:7000' }), isDefault: true });
    const ic = await s.clusters.create({ name: 'in-cluster', inCluster: true });
    expect(b).toMatchObject({ name: 'bravo', description: 'B', enabled: true, isDefault: false, inCluster: false });
    expect(b.config).toBe(kubeconfig());
    expect(ic).toMatchObject({ inCluster: true, config: '' });
    expect((await s.clusters.list()).map((r) => r.name)).toEqual(['alpha', 'bravo', 'in-cluster']);
    expect(await s.clusters.count()).toBe(3);
    expect((await s.clusters.getByName('bravo'))?.id).toBe(b.id);
    expect(await s.clusters.get(99999)).toBeUndefined();

    const u = await s.clusters.update(b.id, { name: 'bravo-2', enabled: false });
    expect(u).toMatchObject({ id: b.id, name: 'bravo-2', enabled: false, description: 'B' });
    expect(JSON.stringify(u)).not.toContain('clusters:'); // toJSON leaves the kubeconfig out
    expect((await rejection(() => s.clusters.create({ name: 'alpha', config: kubeconfig() }))).code).toBe('conflict');
    expect((await rejection(() => s.clusters.update(ic.id, { name: 'alpha' }))).message).toMatch(/"alpha" already exists/);
    expect((await rejection(() => s.clusters.create({ name: 'bad name!', config: kubeconfig() }))).code).toBe('invalid');
    expect((await rejection(() => s.clusters.delete(a.id))).message).toMatch(/default cluster/);

    // Moving the default clears the old one in the same transaction.
    await s.clusters.update(ic.id, { isDefault: true });
    expect((await s.clusters.list()).filter((r) => r.isDefault).map((r) => r.name)).toEqual(['in-cluster']);
    await s.clusters.delete(a.id);
    expect(await s.clusters.get(a.id)).toBeUndefined();
    expect((await rejection(() => s.clusters.delete(a.id))).code).toBe('not_found');
  });

  it('import: one row per context in one transaction; a clash imports nothing', async () => {
    const s = await openIt(fresh(backend));
    const rows = await s.clusters.importKubeconfig(threeContexts());
    expect(rows.length).toBe(3);
    expect(rows.filter((r) => r.isDefault).length).toBe(1);
    const before = (await s.clusters.list()).map((r) => r.name);
    const err = await rejection(() => s.clusters.importKubeconfig(threeContexts()));
    expect(err.code).toBe('conflict');
    expect(err.message).toMatch(/already exists/);
    expect((await s.clusters.list()).map((r) => r.name)).toEqual(before);
  });

  it('tokens: create, verify, list, delete; the last admin stays; a deleted token is refused', async () => {
    const s = await openIt(fresh(backend));
    expect(await s.tokens.ensureAdminToken('fg_env_admin_secret_0123456789abcdef')).toEqual({ created: true });
    expect(await s.tokens.ensureAdminToken('fg_env_admin_secret_0123456789abcdef')).toEqual({ created: false });
    const admin = (await s.tokens.verify('fg_env_admin_secret_0123456789abcdef'))!;
    expect(admin.role).toBe('admin');
    const { token, record } = await s.tokens.create({ name: 'dev', role: 'viewer', clusters: ['b', 'a', 'a'] });
    expect(record.clusters).toEqual(['b', 'a', 'a']); // scope rules keep their order: the last match wins
    expect(await s.tokens.verify(token)).toMatchObject({ id: record.id, name: 'dev', role: 'viewer' });
    expect(await s.tokens.verify(token + 'x')).toBeUndefined();
    expect(await s.tokens.verify(42)).toBeUndefined();
    expect((await s.tokens.list()).map((t) => t.name)).toEqual(['admin (FLEETGATE_ADMIN_TOKEN)', 'dev']);
    await s.tokens.delete(record.id);
    expect(await s.tokens.verify(token)).toBeUndefined();
    expect((await rejection(() => s.tokens.delete(admin.id as number))).message).toMatch(/last admin token/);
    expect((await rejection(() => s.tokens.create({ name: '', role: 'viewer' }))).code).toBe('invalid');
    // FLEETGATE_ADMIN_TOKEN unset: its token is retired, a generated one takes over; a short one is refused.
    const after = await s.tokens.ensureAdminToken(undefined);
    expect(after).toMatchObject({ created: true, retired: true });
    expect(await s.tokens.verify('fg_env_admin_secret_0123456789abcdef')).toBeUndefined();
    expect(await s.tokens.verify(after.token)).toMatchObject({ role: 'admin' });
    expect((await rejection(() => s.tokens.ensureAdminToken('x'.repeat(31)))).message).toMatch(/at least 32 characters/);
  });

  it('a second opener (replica or thread) sees the first one\'s rows; a wrong key is refused and writes nothing', async () => {
    const where = fresh(backend);
    const a = await openIt(where);
    await a.clusters.create({ name: 'one', config: kubeconfig() });
    const b = await openIt(where);
    expect((await b.clusters.getByName('one'))?.config).toBe(kubeconfig());
    const err = await rejection(() => openIt(where, kKeyB));
    expect(err.code).toBe('key');
    expect(err.message).toMatch(/does not match/);
    expect(err.message).not.toContain(kKeyB);
    expect((await a.clusters.list()).map((r) => r.name)).toEqual(['one']);
  });
});

describe('PostgreSQL specifics', () => {
  it('kubeconfigs are sealed at rest; every write bumps the revision and NOTIFYs once, at commit', async () => {
    const where = fresh('postgres');
    const s = await openIt(where);
    const listener = new pg.Client({ connectionString: where.databaseUrl });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query('LISTEN fleetgate_changes');
    const rev = async () => (await listener.query('SELECT value FROM revision')).rows[0].value as string;
    const r0 = Number(await rev());
    const row = await s.clusters.create({ name: 'sealed', config: kubeconfig() });
    await s.clusters.update(row.id, { description: 'x' });
    await s.tokens.create({ name: 't', role: 'viewer' });
    await rejection(() => s.clusters.create({ name: 'sealed', config: kubeconfig() })); // rolled back: no bump
    expect(Number(await rev())).toBe(r0 + 3);
    // Notifications arrive before the next query's answer on the same connection.
    await listener.query('SELECT 1');
    expect(heard).toEqual([`clusters:${r0 + 1}`, `clusters:${r0 + 2}`, `tokens:${r0 + 3}`]);
    const raw = (await listener.query('SELECT config FROM clusters WHERE id = $1', [row.id])).rows[0].config as Buffer;
    expect(raw.toString('latin1')).not.toContain('certificate-authority-data');
    await listener.end();
  });

  it('an unreachable server is StoreError unavailable, and a non-postgres URL is refused', async () => {
    const err = await rejection(() => openBackend({ dataDir: tempDir(), databaseUrl: 'postgres://postgres:pw@127.0.0.1:1/x', env: {} }));
    expect(err.code).toBe('unavailable');
    expect(err.message).not.toContain('pw');
    const bad = await rejection(() => openBackend({ dataDir: tempDir(), databaseUrl: 'mysql://u:secret@h/db', env: {} }));
    expect(bad.code).toBe('invalid');
    expect(bad.message).not.toContain('secret');
  });
});
