// Sealed kubeconfigs are bound to their row, old databases are re-sealed on open, and the
// database files are for this user only. Attacker's view: someone with write access to the
// database file (not the key) swaps sealed values between rows, or reads a world-readable file.
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { seal } from '../../src/store/crypto.js';
import { kDbFileName } from '../../src/store/store.js';
import { kToken, kubeconfig } from '../k8s/helpers.js';
import { bothBackends, open, tempDir, type Backend, type Where } from './helpers.js';

// The same attack on both backends, through the database itself (what someone holding the
// database, not the key, can do): each backend writes row-bound values, refuses a moved one for
// that cluster only, and re-seals values from before the binding.
const { fresh, openAt: openIt } = bothBackends('fg_rowbind', 'c'.repeat(64));

/** Raw access to the clusters table behind the store's back, as the attacker has it. */
async function rawConfigs(where: Where): Promise<{ get(name: string): Promise<Buffer>; set(name: string, v: Buffer): Promise<void>; close(): Promise<void> }> {
  if (!where.databaseUrl) {
    const db = new Database(join(where.dataDir, kDbFileName));
    return {
      get: async (name) => (db.prepare('SELECT config FROM clusters WHERE name = ?').get(name) as { config: Buffer }).config,
      set: async (name, v) => void db.prepare('UPDATE clusters SET config = ? WHERE name = ?').run(v, name),
      close: async () => void db.close(),
    };
  }
  const c = new pg.Client({ connectionString: where.databaseUrl });
  await c.connect();
  return {
    get: async (name) => (await c.query<{ config: Buffer }>('SELECT config FROM clusters WHERE name = $1', [name])).rows[0]!.config,
    set: async (name, v) => void (await c.query('UPDATE clusters SET config = $1 WHERE name = $2', [v, name])),
    close: () => c.end(),
  };
}

describe.each<Backend>(['sqlite', 'postgres'])('row-bound kubeconfigs on %s', (backend) => {
  it('two rows whose sealed values are swapped in the database error those clusters only, naming no secret; swapped back, nothing is lost', async () => {
    const where = fresh(backend);
    const s = await openIt(where);
    const configs = { a: kubeconfig({ user: { token: kToken + 'A' } }), b: kubeconfig({ user: { token: kToken + 'B' } }), c: kubeconfig({ user: { token: kToken + 'C' } }) };
    for (const [name, config] of Object.entries(configs)) await s.clusters.create({ name, config });
    await s.clusters.create({ name: 'inside', inCluster: true });
    const raw = await rawConfigs(where);
    try {
      const [a, b] = [await raw.get('a'), await raw.get('b')];
      expect([a[0], b[0]]).toEqual([2, 2]); // both written bound to their row
      await raw.set('a', b);
      await raw.set('b', a);

      const rows = await s.clusters.listForSync();
      expect(rows.map((r) => r.name)).toEqual(['a', 'b', 'c', 'inside']);
      for (const name of ['a', 'b']) {
        const r = rows.find((x) => x.name === name)!;
        expect(r.config).toBe('');
        expect(r.configError).toMatch(new RegExp(`cannot decrypt the kubeconfig of cluster "${name}".*moved from another row`));
        expect(r.configError).not.toContain(kToken);
      }
      expect(rows.find((r) => r.name === 'c')).toMatchObject({ config: configs.c });
      expect(rows.find((r) => r.name === 'inside')).toMatchObject({ config: '', inCluster: true });
      expect(rows.find((r) => r.name === 'c')!.configError).toBeUndefined();
      // Reading the moved row directly is refused too, with the same message and no secret.
      let refused: Error | undefined;
      try {
        await s.clusters.getByName('a');
      } catch (err) {
        refused = err as Error;
      }
      expect(refused?.message).toMatch(/cannot decrypt the kubeconfig of cluster "a"/);
      expect(refused?.message).not.toContain(kToken);

      // Nothing was lost: put back, each row opens to its own kubeconfig again.
      await raw.set('a', a);
      await raw.set('b', b);
      const back = await s.clusters.listForSync();
      expect(back.map((r) => [r.name, r.config, r.configError])).toEqual([
        ['a', configs.a, undefined],
        ['b', configs.b, undefined],
        ['c', configs.c, undefined],
        ['inside', '', undefined],
      ]);
    } finally {
      await raw.close();
    }
  });

  it('a rename and an import seal for the row; a value sealed for the old name no longer opens', async () => {
    const where = fresh(backend);
    const s = await openIt(where);
    const r = await s.clusters.create({ name: 'before', config: kubeconfig() });
    const raw = await rawConfigs(where);
    try {
      const old = await raw.get('before');
      await s.clusters.update(r.id, { name: 'after' });
      expect((await s.clusters.getByName('after'))!.config).toBe(r.config);
      expect((await raw.get('after')).equals(old)).toBe(false);
      await raw.set('after', old);
      const [row] = await s.clusters.listForSync();
      expect(row!.configError).toMatch(/cannot decrypt the kubeconfig of cluster "after"/);

      const imported = await s.clusters.importKubeconfig(kubeconfig({ contextName: 'imp', user: { token: kToken + 'I' } }));
      expect((await raw.get('imp'))[0]).toBe(2);
      expect((await s.clusters.get(imported[0]!.id))!.config).toBe(imported[0]!.config);
    } finally {
      await raw.close();
    }
  });

  it('values sealed before the binding (version 1) are re-sealed when the store opens, and keep working', async () => {
    const where = fresh(backend);
    const s = await openIt(where);
    const key = s.encryptionKey();
    const rows = [await s.clusters.create({ name: 'old-1', config: kubeconfig({ user: { token: kToken + '1' } }) }), await s.clusters.create({ name: 'old-2', config: kubeconfig() })];
    const raw = await rawConfigs(where);
    try {
      for (const r of rows) await raw.set(r.name, seal(key, 'cluster-config', r.config)); // what an older fleetgate wrote
      // Two openers at once (replicas starting together): the values are re-sealed once, and both work.
      const [x, y] = await Promise.all([openIt(where), openIt(where)]);
      const counts = [x, y].map((o) => Number(/re-sealed (\d+) kubeconfig/.exec(o.warnings.join('\n'))?.[1] ?? 0));
      expect(counts.filter((n) => n > 0)).toEqual([2]);
      for (const o of [x, y, s]) for (const r of rows) expect((await o.clusters.get(r.id))!.config).toBe(r.config);
      for (const r of rows) expect((await raw.get(r.name))[0]).toBe(2);
    } finally {
      await raw.close();
    }
  });
});

describe('database files', () => {
  it('the database, its WAL and shared-memory files are mode 0600', () => {
    const dataDir = tempDir();
    const s = open({ dataDir });
    s.clusters.create({ name: 'x', config: kubeconfig() }); // a write: the WAL exists now
    for (const f of [kDbFileName, `${kDbFileName}-wal`, `${kDbFileName}-shm`]) {
      expect([f, (statSync(join(dataDir, f)).mode & 0o777).toString(8)]).toEqual([f, '600']);
    }
  });
});
