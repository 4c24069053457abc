/** The store's side of access control: groups, scopes kept in order, legacy rows, last use, the audit table. */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kDbFileName, migrations, type AuditRecord } from '../../src/store/index.js';
import { open, storeError, tempDir } from './helpers.js';

const rec = (i: number, extra: Partial<AuditRecord> = {}): AuditRecord => ({
  at: 1_000 + i, kind: 'refused', tokenId: i % 2 ? 7 : null, tokenName: i % 2 ? 'seven' : '', method: 'GET', route: '/api/v1/clusters',
  cluster: i % 3 ? 'a' : 'b', namespace: '', pod: '', container: '', status: 403, outcome: 'no', client: '127.0.0.1', ...extra,
});

describe('groups', () => {
  it('membership follows creates, edits and cluster deletion; the sync reads it per cluster, sorted', () => {
    const s = open();
    const a = s.clusters.create({ name: 'a', inCluster: true });
    const b = s.clusters.create({ name: 'b', inCluster: true });
    s.groups.create({ name: 'prod', clusters: ['b', 'a'] });
    const staging = s.groups.create({ name: 'staging', clusters: ['a'] });
    expect(s.groups.getByName('prod')!.clusters).toEqual(['a', 'b']);
    expect(s.groups.membership()).toEqual(new Map([[a.id, ['prod', 'staging']], [b.id, ['prod']]]));
    s.groups.update(staging.id, { addClusters: ['b'], removeClusters: ['a'] });
    expect(s.groups.get(staging.id)!.clusters).toEqual(['b']);
    s.clusters.delete(b.id);
    expect(s.groups.membership()).toEqual(new Map([[a.id, ['prod']]]));
  });

  it('bad input changes nothing: unknown cluster, bad name, duplicate', () => {
    const s = open();
    s.clusters.create({ name: 'a', inCluster: true });
    const g = s.groups.create({ name: 'prod', clusters: ['a'] });
    expect(storeError(() => s.groups.create({ name: 'x', clusters: ['a', 'nope'] })).message).toBe('unknown cluster "nope"');
    expect(storeError(() => s.groups.update(g.id, { clusters: [], addClusters: ['nope'] })).code).toBe('invalid');
    expect(storeError(() => s.groups.create({ name: 'bad name' })).code).toBe('invalid');
    expect(storeError(() => s.groups.create({ name: 'prod' })).code).toBe('conflict');
    expect(s.groups.list().map((x) => [x.name, x.clusters])).toEqual([['prod', ['a']]]);
  });

  it('a rename rewrites the rules that name the group, in order; a named group cannot be deleted', () => {
    const s = open();
    const g = s.groups.create({ name: 'prod' });
    s.groups.create({ name: 'prodx' }); // a longer name with the same start is left alone
    const t = s.tokens.create({ name: 'v', role: 'viewer', clusters: ['group:prod', 'x-*', '!group:prod', 'group:prodx'] }).token;
    s.groups.update(g.id, { name: 'live' });
    expect(s.tokens.verify(t)!.clusters).toEqual(['group:live', 'x-*', '!group:live', 'group:prodx']);
    expect(storeError(() => s.groups.delete(g.id))).toMatchObject({ code: 'conflict', message: expect.stringMatching(/token "v"/) });
    expect(s.groups.get(g.id)).toBeDefined();
  });
});

describe('tokens: legacy rows and last use', () => {
  it('a viewer stored before scopes (clusters NULL = all) keeps every cluster as ["*"]', () => {
    const dataDir = tempDir();
    const db = new Database(join(dataDir, kDbFileName));
    for (const m of migrations.filter((x) => x.version <= 2)) db.exec(m.sql);
    db.pragma('user_version = 2');
    db.prepare("INSERT INTO tokens (name, role, clusters, hash, lookup, created_at) VALUES ('old', 'viewer', NULL, x'01', '01', 1)").run();
    db.prepare("INSERT INTO tokens (name, role, clusters, hash, lookup, created_at) VALUES ('adm', 'admin', NULL, x'02', '02', 1)").run();
    db.close();
    const s = open({ dataDir });
    expect(s.tokens.list().map((t) => [t.name, t.clusters, t.expiresAt, t.lastUsedAt])).toEqual([
      ['old', ['*'], null, null],
      ['adm', null, null, null],
    ]);
  });

  it('touch writes a token row at most once a minute, whatever the number of reports', () => {
    const s = open();
    const { record } = s.tokens.create({ name: 'v', role: 'viewer' });
    const t0 = Date.now();
    s.tokens.touch(new Map([[record.id, t0]]));
    s.tokens.touch(new Map([[record.id, t0 + 30_000]])); // another worker, within the minute: no write
    expect(s.tokens.list()[0]!.lastUsedAt).toBe(t0);
    s.tokens.touch(new Map([[record.id, t0 + 60_000]]));
    expect(s.tokens.list()[0]!.lastUsedAt).toBe(t0 + 60_000);
  });
});

describe('index revision', () => {
  it('moves with clusters, groups and membership; not with audit records or token last use', () => {
    const s = open();
    const at = () => s.indexRevision();
    let r = at();
    const step = (fn: () => unknown) => {
      fn();
      const now = at();
      const moved = now !== r;
      r = now;
      return moved;
    };
    expect(step(() => s.clusters.create({ name: 'a', inCluster: true }))).toBe(true);
    expect(step(() => s.groups.create({ name: 'g' }))).toBe(true);
    expect(step(() => s.groups.update(s.groups.getByName('g')!.id, { addClusters: ['a'] }))).toBe(true);
    const { record } = s.tokens.create({ name: 'v', role: 'viewer' });
    expect(step(() => s.tokens.touch(new Map([[record.id, Date.now()]])))).toBe(false);
    expect(step(() => s.audit.append([rec(1)]))).toBe(false);
    expect(step(() => s.clusters.delete(s.clusters.getByName('a')!.id))).toBe(true);
  });
});

describe('audit table', () => {
  it('pages oldest first without gaps or repeats; filters by time, cluster, token id or name; prunes by age', () => {
    const s = open();
    s.audit.append(Array.from({ length: 25 }, (_, i) => rec(i)));
    const ids: number[] = [];
    let after: number | undefined;
    for (;;) {
      const page = s.audit.query({ limit: 10, after });
      ids.push(...page.items.map((r) => r.id));
      if (page.next === null) break;
      after = page.next;
    }
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(25);
    expect(s.audit.query({ token: 7, limit: 100 }).items.every((r) => r.tokenId === 7)).toBe(true);
    expect(s.audit.query({ token: 'seven', limit: 100 }).items.length).toBe(12);
    expect(s.audit.query({ cluster: 'b', limit: 100 }).items.every((r) => r.cluster === 'b')).toBe(true);
    expect(s.audit.query({ since: 1_020, limit: 100 }).items.map((r) => r.at)).toEqual([1020, 1021, 1022, 1023, 1024]);
    expect(storeError(() => s.audit.query({ limit: 0 })).code).toBe('invalid');
    expect(s.audit.prune(1_010)).toBe(10);
    expect(s.audit.query({ limit: 100 }).items.length).toBe(15);
  });
});
