/**
 * The store contract of access control on both backends (SQLite and a throwaway PostgreSQL):
 * groups and their membership, scope rules kept in order and checked against existing groups,
 * renames carrying the rules, expiry, last use at most once a minute, the audit table's pages.
 */
import { describe, expect, it } from 'vitest';
import { type AuditRecord, type StoreBackend } from '../../src/store/index.js';
import { bothBackends, rejection, type Backend } from './helpers.js';

const { fresh, openAt } = bothBackends('fg_access', 'c'.repeat(64));
const openFresh = (backend: Backend): Promise<StoreBackend> => openAt(fresh(backend));

const rec = (i: number): AuditRecord => ({
  at: 1_000 + i, kind: 'refused', tokenId: i % 2 ? 7 : null, tokenName: i % 2 ? 'seven' : '', method: 'GET', route: '/k8s/a/api',
  cluster: i % 3 ? 'a' : 'b', namespace: '', pod: '', container: '', status: 403, outcome: 'no', client: '127.0.0.1',
});

describe.each<Backend>(['sqlite', 'postgres'])('access contract on %s', (backend) => {
  it('groups: membership, edits, renames carrying scope rules, no delete while named, bad input changes nothing', async () => {
    const s = await openFresh(backend);
    const a = await s.clusters.create({ name: 'a', inCluster: true });
    const b = await s.clusters.create({ name: 'b', inCluster: true });
    const prod = await s.groups.create({ name: 'prod', clusters: ['b', 'a'] });
    expect(prod.clusters).toEqual(['a', 'b']);
    await s.groups.create({ name: 'prodx', clusters: ['a'] });
    expect(await s.groups.membership()).toEqual(new Map([[a.id, ['prod', 'prodx']], [b.id, ['prod']]]));
    expect((await s.groups.update(prod.id, { removeClusters: ['a'] })).clusters).toEqual(['b']);
    expect((await rejection(() => s.groups.create({ name: 'x', clusters: ['nope'] }))).message).toBe('unknown cluster "nope"');
    expect((await rejection(() => s.groups.update(prod.id, { addClusters: ['nope'] }))).code).toBe('invalid');
    expect((await rejection(() => s.groups.create({ name: 'prod' }))).code).toBe('conflict');
    expect((await s.groups.getByName('prod'))!.clusters).toEqual(['b']);

    const t = await s.tokens.create({ name: 'v', role: 'viewer', clusters: ['group:prod', 'x-*', '!group:prod', 'group:prodx'] });
    expect(t.record.clusters).toEqual(['group:prod', 'x-*', '!group:prod', 'group:prodx']);
    expect((await rejection(() => s.tokens.create({ name: 'w', role: 'viewer', clusters: ['group:nope'] }))).message).toMatch(/unknown group "nope"/);
    expect((await rejection(() => s.tokens.create({ name: 'w', role: 'viewer', clusters: ['a/b'] }))).message).toMatch(/malformed/);
    await s.groups.update(prod.id, { name: 'live' });
    expect((await s.tokens.verify(t.token))!.clusters).toEqual(['group:live', 'x-*', '!group:live', 'group:prodx']);
    expect((await rejection(() => s.groups.delete(prod.id))).code).toBe('conflict');
    await s.tokens.delete(t.record.id);
    await s.groups.delete(prod.id);
    expect(await s.groups.get(prod.id)).toBeUndefined();
    expect((await s.tokens.list()).length).toBe(0);
  });

  it('tokens: an omitted scope is no rules ([], nothing), as is []; expiry kept and checked; last use once a minute', async () => {
    const s = await openFresh(backend);
    const unscoped = await s.tokens.create({ name: 'unscoped', role: 'viewer' });
    expect(unscoped.record.clusters).toEqual([]);
    expect((await s.tokens.verify(unscoped.token))!.clusters).toEqual([]);
    expect((await s.tokens.create({ name: 'all', role: 'viewer', clusters: ['*'] })).record.clusters).toEqual(['*']);
    expect((await s.tokens.create({ name: 'none', role: 'viewer', clusters: [] })).record.clusters).toEqual([]);
    const at = Date.now() + 3_600_000;
    const t = await s.tokens.create({ name: 'exp', role: 'viewer', expiresAt: at });
    expect((await s.tokens.verify(t.token))!.expiresAt).toBe(at);
    expect((await rejection(() => s.tokens.create({ name: 'past', role: 'viewer', expiresAt: Date.now() - 1 }))).code).toBe('invalid');
    const t0 = Date.now();
    await s.tokens.touch(new Map([[t.record.id, t0]]));
    await s.tokens.touch(new Map([[t.record.id, t0 + 30_000]]));
    expect((await s.tokens.list()).find((x) => x.id === t.record.id)!.lastUsedAt).toBe(t0);
    await s.tokens.touch(new Map([[t.record.id, t0 + 60_000]]));
    expect((await s.tokens.list()).find((x) => x.id === t.record.id)!.lastUsedAt).toBe(t0 + 60_000);
  });

  it('audit: pages oldest first without gaps or repeats; filters; prunes by age', async () => {
    const s = await openFresh(backend);
    await s.audit.append(Array.from({ length: 25 }, (_, i) => rec(i)));
    const ids: number[] = [];
    let after: number | undefined;
    for (;;) {
      const page = await s.audit.query({ limit: 10, after });
      ids.push(...page.items.map((r) => r.id));
      if (page.next === null) break;
      after = page.next;
    }
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(25);
    expect((await s.audit.query({ token: 'seven', limit: 100 })).items.length).toBe(12);
    expect((await s.audit.query({ token: 7, limit: 100 })).items.every((r) => r.tokenId === 7)).toBe(true);
    expect((await s.audit.query({ cluster: 'b', limit: 100 })).items.every((r) => r.cluster === 'b')).toBe(true);
    expect((await s.audit.query({ since: 1_020, limit: 100 })).items.map((r) => r.at)).toEqual([1020, 1021, 1022, 1023, 1024]);
    expect((await s.audit.query({ limit: 100 })).items[0]).toEqual({ id: ids[0], ...rec(0) });
    expect(await s.audit.prune(1_010)).toBe(10);
    expect((await s.audit.query({ limit: 100 })).items.length).toBe(15);
  });
});
