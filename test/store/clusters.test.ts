import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { kSchemaVersion, openStore } from '../../src/store/index.js';
import { kToken, kubeconfig, refDir, threeContexts } from '../k8s/helpers.js';
import { open, storeError, tempDir } from './helpers.js';


describe('migrations', () => {
  it('are idempotent: reopening applies nothing twice and keeps rows', () => {
    const dataDir = tempDir();
    const a = open({ dataDir });
    a.clusters.create({ name: 'one', config: kubeconfig() });
    expect(a.db.pragma('user_version', { simple: true })).toBe(kSchemaVersion);
    expect(a.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(a.db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(a.db.pragma('foreign_keys', { simple: true })).toBe(1);
    a.close();
    const b = open({ dataDir });
    const c = open({ dataDir }); // two connections at once, as two threads
    expect(b.clusters.list().map((r) => r.name)).toEqual(['one']);
    expect(c.db.pragma('user_version', { simple: true })).toBe(kSchemaVersion);
  });
});

describe('clusters CRUD', () => {
  it('create, get, getByName, list ordered by name, update, delete, count', () => {
    const s = open();
    const t0 = Date.now();
    const b = s.clusters.create({ name: 'bravo', description: 'B', config: kubeconfig(), prometheusUrl: 'http://prom:9090' });
    const a = s.clusters.create({ name: 'alpha', config: kubeconfig({ server: 'https://127.0.0.1:7000' }), enabled: false });
    const ic = s.clusters.create({ name: 'in-cluster', inCluster: true });
    expect(b).toMatchObject({ name: 'bravo', description: 'B', prometheusUrl: 'http://prom:9090', inCluster: false, isDefault: false, enabled: true });
    expect(b.config).toBe(kubeconfig());
    expect(b.createdAt).toBeGreaterThanOrEqual(t0);
    expect(b.updatedAt).toBe(b.createdAt);
    expect(ic).toMatchObject({ inCluster: true, config: '' });
    expect(a.enabled).toBe(false);
    expect(s.clusters.list().map((r) => r.name)).toEqual(['alpha', 'bravo', 'in-cluster']);
    expect(s.clusters.get(a.id)?.name).toBe('alpha');
    expect(s.clusters.getByName('bravo')?.id).toBe(b.id);
    expect(s.clusters.get(9999)).toBeUndefined();
    expect(s.clusters.count()).toBe(3);

    const u = s.clusters.update(b.id, { name: 'bravo-2', enabled: false, config: kubeconfig({ server: 'https://10.0.0.2:6443' }) });
    expect(u).toMatchObject({ id: b.id, name: 'bravo-2', description: 'B', enabled: false });
    expect(u.config).toContain('10.0.0.2');
    expect(u.updatedAt).toBeGreaterThanOrEqual(b.updatedAt);
    expect(s.clusters.update(ic.id, { inCluster: false, config: kubeconfig() }).config).toBe(kubeconfig());
    expect(s.clusters.update(ic.id, { inCluster: true })).toMatchObject({ inCluster: true, config: '' });

    s.clusters.delete(a.id);
    expect(s.clusters.get(a.id)).toBeUndefined();
    expect(s.clusters.count()).toBe(2);
    expect(storeError(() => s.clusters.delete(a.id)).code).toBe('not_found');
    expect(storeError(() => s.clusters.update(a.id, { enabled: true })).code).toBe('not_found');
  });

  it('unique names: conflict on create and on rename', () => {
    const s = open();
    s.clusters.create({ name: 'x', config: kubeconfig() });
    const y = s.clusters.create({ name: 'y', config: kubeconfig() });
    const e = storeError(() => s.clusters.create({ name: 'x', config: kubeconfig() }));
    expect(e.code).toBe('conflict');
    expect(e.message).toBe('a cluster named "x" already exists');
    expect(storeError(() => s.clusters.update(y.id, { name: 'x' })).code).toBe('conflict');
  });

  it('validation: name, config, in-cluster, URLs; reasons are clear and secret-free', () => {
    const s = open();
    const cases: Array<[Parameters<typeof s.clusters.create>[0], RegExp]> = [
      [{ name: '', config: kubeconfig() }, /name must be 1 to 100 characters/],
      [{ name: 'a'.repeat(101), config: kubeconfig() }, /name must be/],
      [{ name: 'has space', config: kubeconfig() }, /name must be/],
      [{ name: 'a/b', config: kubeconfig() }, /name must be/],
      [{ name: 'ok' }, /config \(a kubeconfig\) is required unless inCluster is true/],
      [{ name: 'ok', config: `users: [{name: u, user: {token: "${kToken}"}` }, /not valid YAML/],
      [{ name: 'ok', config: threeContexts() }, /3 contexts; a cluster needs exactly one/],
      [{ name: 'ok', config: kubeconfig(), prometheusUrl: 'ftp://x' }, /prometheusUrl must be an http or https URL/],
      [{ name: 'ok', inCluster: true, config: kubeconfig() }, /in-cluster cluster takes no config/],
      [{ name: 'ok', config: kubeconfig(), enabled: 'yes' as unknown as boolean }, /enabled must be true or false/],
    ];
    for (const [input, re] of cases) {
      const e = storeError(() => s.clusters.create(input));
      expect(e.code).toBe('invalid');
      expect(e.message).toMatch(re);
      expect(e.message).not.toContain('SUPERSECRET');
    }
    expect(s.clusters.create({ name: 'Valid_name-1.prod', config: kubeconfig() }).name).toBe('Valid_name-1.prod');
    expect(s.clusters.count()).toBe(1);
  });

  it('exec users are stored by default and refused with allowExec: false', () => {
    const s = open();
    const exec = kubeconfig({ user: { exec: { command: 'aws', apiVersion: 'client.authentication.k8s.io/v1' } } });
    expect(s.clusters.create({ name: 'eks', config: exec }).name).toBe('eks');
    const e = storeError(() => s.clusters.create({ name: 'eks2', config: exec }, { allowExec: false }));
    expect(e.code).toBe('invalid');
    expect(e.message).toMatch(/runs an exec plugin; fleetgate refuses kubeconfigs that run commands on the server/);
  });

  it('rows print without the kubeconfig and serialise to JSON without it', () => {
    const s = open();
    const r = s.clusters.create({ name: 'p', config: kubeconfig() });
    expect(inspect(r)).not.toContain(kToken);
    expect(inspect(s.clusters.list())).not.toContain(kToken);
    expect(JSON.stringify(r)).not.toContain(kToken);
    expect(JSON.parse(JSON.stringify(r))).toMatchObject({ id: r.id, name: 'p', isDefault: false });
    expect({ ...r }.config).toBe(kubeconfig());
    expect(structuredClone(r).config).toBe(kubeconfig());
  });
});

describe('the default cluster', () => {
  it('at most one: setting a new default clears the old in the same transaction', () => {
    const s = open();
    const a = s.clusters.create({ name: 'a', config: kubeconfig(), isDefault: true });
    const b = s.clusters.create({ name: 'b', config: kubeconfig(), isDefault: true });
    expect(s.clusters.get(a.id)?.isDefault).toBe(false);
    expect(b.isDefault).toBe(true);
    s.clusters.update(a.id, { isDefault: true });
    expect(s.clusters.list().filter((r) => r.isDefault).map((r) => r.name)).toEqual(['a']);
    expect(s.clusters.update(a.id, { isDefault: false }).isDefault).toBe(false);
    expect(s.clusters.list().filter((r) => r.isDefault)).toEqual([]);
  });

  it('is enforced by the database itself: a raw second default fails', () => {
    const s = open();
    s.clusters.create({ name: 'a', config: kubeconfig(), isDefault: true });
    const b = s.clusters.create({ name: 'b', config: kubeconfig() });
    const raw = new Database(s.path);
    try {
      expect(() => raw.prepare('UPDATE clusters SET is_default = 1 WHERE id = ?').run(b.id)).toThrow(/UNIQUE constraint failed/);
    } finally {
      raw.close();
    }
  });

  it('cannot be deleted', () => {
    const s = open();
    const a = s.clusters.create({ name: 'a', config: kubeconfig(), isDefault: true });
    const e = storeError(() => s.clusters.delete(a.id));
    expect(e.code).toBe('invalid');
    expect(e.message).toBe('cannot delete the default cluster; make another cluster the default first');
    expect(s.clusters.get(a.id)).toBeDefined();
  });
});

describe('importKubeconfig', () => {
  it('one row per context, each with a one-context kubeconfig; current context becomes default', () => {
    const s = open();
    const rows = s.clusters.importKubeconfig(threeContexts(), { baseDir: refDir() });
    expect(rows.map((r) => [r.name, r.isDefault])).toEqual([
      ['alpha', false],
      ['beta', true],
      ['gamma', false],
    ]);
    expect(rows[1]!.config).toContain('certificate-authority-data');
    expect(rows[1]!.config).not.toContain('rel/ca.crt');
    expect(rows[1]!.config).toContain(kToken + 'B');
    expect(rows[1]!.config).not.toContain(kToken + 'A');
  });

  it('keeps the existing default unless setDefault', () => {
    const s = open();
    s.clusters.create({ name: 'main', config: kubeconfig(), isDefault: true });
    s.clusters.importKubeconfig(threeContexts());
    expect(s.clusters.getByName('main')?.isDefault).toBe(true);
    expect(s.clusters.getByName('beta')?.isDefault).toBe(false);

    const t = open();
    t.clusters.create({ name: 'main', config: kubeconfig(), isDefault: true });
    t.clusters.importKubeconfig(threeContexts(), { setDefault: true });
    expect(t.clusters.getByName('beta')?.isDefault).toBe(true);
    expect(t.clusters.getByName('main')?.isDefault).toBe(false);
  });

  it('a taken name fails the whole import (conflict) and imports nothing', () => {
    const s = open();
    s.clusters.create({ name: 'gamma', config: kubeconfig() });
    const e = storeError(() => s.clusters.importKubeconfig(threeContexts()));
    expect(e.code).toBe('conflict');
    expect(e.message).toMatch(/"gamma" already exists/);
    expect(s.clusters.list().map((r) => r.name)).toEqual(['gamma']);
  });

  it('context names that are not valid cluster names are made valid', () => {
    const s = open();
    const rows = s.clusters.importKubeconfig(kubeconfig({ contextName: 'arn:aws:eks:eu-west-1:1234:cluster/prod' }));
    expect(rows[0]!.name).toBe('arn-aws-eks-eu-west-1-1234-cluster-prod');
    expect(rows[0]!.description).toBe('kubeconfig context "arn:aws:eks:eu-west-1:1234:cluster/prod"');
  });

  it('a malformed kubeconfig is invalid with the parser reason', () => {
    const s = open();
    const e = storeError(() => s.clusters.importKubeconfig('clusters: 7'));
    expect(e).toMatchObject({ code: 'invalid', message: 'kubeconfig: clusters must be a list' });
  });
});

describe('dataVersion', () => {
  it('changes when another connection commits, not for this connection', () => {
    const dataDir = tempDir();
    const a = open({ dataDir });
    const b = open({ dataDir });
    const v0 = a.dataVersion();
    a.clusters.create({ name: 'mine', config: kubeconfig() });
    expect(a.dataVersion()).toBe(v0);
    const w0 = a.dataVersion();
    b.clusters.create({ name: 'theirs', config: kubeconfig() });
    expect(a.dataVersion()).not.toBe(w0);
    expect(a.clusters.getByName('theirs')).toBeDefined();
  });
});

describe('I/O failures map to code io and lose nothing', () => {
  it('disk full (max_page_count) → io, earlier rows intact, store usable afterwards', () => {
    const s = open();
    s.clusters.create({ name: 'keep', config: kubeconfig() });
    const pages = s.db.pragma('page_count', { simple: true }) as number;
    s.db.pragma(`max_page_count = ${pages}`);
    const e = storeError(() => s.clusters.create({ name: 'big', config: kubeconfig(), description: 'x'.repeat(4000) }));
    // Fill more if one row still fitted in the last page.
    expect(e.code).toBe('io');
    expect(e.message).toMatch(/database or disk is full; nothing was changed/);
    s.db.pragma('max_page_count = 1073741823');
    expect(s.clusters.list().map((r) => r.name)).toEqual(['keep']);
    expect(s.clusters.create({ name: 'after', config: kubeconfig() }).name).toBe('after');
  });

  it('read-only store: reads work, writes fail with io', () => {
    const dataDir = tempDir();
    const w = open({ dataDir });
    w.clusters.create({ name: 'a', config: kubeconfig() });
    const r = open({ dataDir, readonly: true });
    expect(r.clusters.list().map((x) => x.name)).toEqual(['a']);
    const e = storeError(() => r.clusters.create({ name: 'b', config: kubeconfig() }));
    expect(e.code).toBe('io');
    expect(e.message).toMatch(/read-only/);
    expect(w.clusters.count()).toBe(1);
  });

  it('a file that is not a database is io, named, and left alone', () => {
    const dataDir = tempDir();
    const garbage = Buffer.from('this is not an sqlite database, it is a text file that is long enough '.repeat(20));
    writeFileSync(join(dataDir, 'fleetgate.db'), garbage);
    const e = storeError(() => openStore({ dataDir, env: {} }));
    expect(e.code).toBe('io');
    expect(e.message).toMatch(/fleetgate\.db.*SQLITE_NOTADB/);
    expect(readFileSync(join(dataDir, 'fleetgate.db')).equals(garbage)).toBe(true);
  });

  it('read-only open of a missing database is io', () => {
    const e = storeError(() => openStore({ dataDir: tempDir(), readonly: true, env: {} }));
    expect(e.code).toBe('io');
  });
});
