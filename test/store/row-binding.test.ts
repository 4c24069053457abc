// Sealed kubeconfigs are bound to their row, old databases are re-sealed on open, and the
// database files are for this user only. Attacker's view: someone with write access to the
// database file (not the key) swaps sealed values between rows, or reads a world-readable file.
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seal } from '../../src/store/crypto.js';
import { kDbFileName } from '../../src/store/store.js';
import { kToken, kubeconfig } from '../k8s/helpers.js';
import { open, tempDir } from './helpers.js';

describe('row-bound kubeconfigs', () => {
  it('a sealed value moved to another row does not open there; the row it came from is unchanged', () => {
    const dataDir = tempDir();
    const s = open({ dataDir });
    const a = s.clusters.create({ name: 'a', config: kubeconfig({ user: { token: kToken + 'A' } }) });
    s.clusters.create({ name: 'b', config: kubeconfig({ user: { token: kToken + 'B' } }) });
    const db = new Database(join(dataDir, kDbFileName));
    const blob = (db.prepare('SELECT config FROM clusters WHERE name = ?').get('a') as { config: Buffer }).config;
    expect(blob[0]).toBe(2);
    db.prepare('UPDATE clusters SET config = ? WHERE name = ?').run(blob, 'b');
    db.close();
    const rows = s.clusters.listForSync();
    expect(rows.find((r) => r.name === 'a')).toMatchObject({ config: a.config });
    const b = rows.find((r) => r.name === 'b')!;
    expect(b.config).toBe('');
    expect(b.configError).toMatch(/cannot decrypt the kubeconfig of cluster "b"/);
    expect(b.configError).not.toContain(kToken);
  });

  it('a rename re-seals for the new name', () => {
    const s = open();
    const r = s.clusters.create({ name: 'before', config: kubeconfig() });
    s.clusters.update(r.id, { name: 'after' });
    expect(s.clusters.getByName('after')!.config).toBe(r.config);
  });

  it('values sealed before the binding (version 1) are re-sealed when the store opens, and keep working', () => {
    const dataDir = tempDir();
    const s = open({ dataDir });
    const key = s.encryptionKey();
    const r = s.clusters.create({ name: 'old', config: kubeconfig({ user: { token: kToken } }) });
    s.close();
    // What an older fleetgate wrote: bound to the purpose only.
    const db = new Database(join(dataDir, kDbFileName));
    db.prepare('UPDATE clusters SET config = ? WHERE id = ?').run(seal(key, 'cluster-config', r.config), r.id);
    db.close();
    const again = open({ dataDir });
    expect(again.warnings.join('\n')).toMatch(/re-sealed 1 kubeconfig/);
    expect(again.clusters.get(r.id)!.config).toBe(r.config);
    const check = new Database(join(dataDir, kDbFileName), { readonly: true });
    expect((check.prepare('SELECT config FROM clusters WHERE id = ?').get(r.id) as { config: Buffer }).config[0]).toBe(2);
    check.close();
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
