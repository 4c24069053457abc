import { copyFileSync, existsSync, rmSync, readFileSync, readdirSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openStore, parseKey, resolveKey } from '../../src/store/index.js';
import { b64, fixture, kToken, kubeconfig } from '../k8s/helpers.js';
import { open, storeError, tempDir } from './helpers.js';


const clientKey = fixture('client.key');
const secretKc = kubeconfig({ user: { token: kToken, 'client-key-data': b64(clientKey), 'client-certificate-data': b64(fixture('client.crt')) } });
const keyLine = clientKey.split('\n')[1]!; // a line of the key's base64 body

function dbFilesContain(dataDir: string, needle: string): string[] {
  const hits: string[] = [];
  for (const f of readdirSync(dataDir)) {
    if (!f.startsWith('fleetgate.db')) continue;
    const bytes = readFileSync(join(dataDir, f));
    if (bytes.includes(Buffer.from(needle))) hits.push(f);
  }
  return hits;
}

describe('kubeconfigs encrypted at rest', () => {
  it('the database file and its WAL never hold the token, the key or its base64 in plain text', () => {
    const dataDir = tempDir();
    const s = open({ dataDir });
    s.clusters.create({ name: 'secret', config: secretKc });
    s.clusters.update(s.clusters.getByName('secret')!.id, { description: 'touched' });
    expect(existsSync(join(dataDir, 'fleetgate.db-wal'))).toBe(true); // before checkpoint: WAL has the pages
    for (const needle of [kToken, keyLine, b64(clientKey).slice(0, 40), 'SUPERSECRET']) {
      expect(dbFilesContain(dataDir, needle), needle.slice(0, 12)).toEqual([]);
    }
    s.db.pragma('wal_checkpoint(TRUNCATE)');
    expect(dbFilesContain(dataDir, kToken)).toEqual([]);
    // The name is plain (it is not a secret) — proves the scan reads the right files.
    expect(dbFilesContain(dataDir, 'touched').length).toBeGreaterThan(0);
    expect(s.clusters.getByName('secret')!.config).toBe(secretKc);
  });

  it('key file is created with mode 0600 at first start and reused after', () => {
    const dataDir = tempDir();
    const s = openStore({ dataDir, env: {} });
    expect(s.keyCreated).toBe(true);
    const path = join(dataDir, 'encryption.key');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    s.clusters.create({ name: 'a', config: secretKc });
    s.close();
    const again = openStore({ dataDir, env: {} });
    expect(again.keyCreated).toBe(false);
    expect(again.clusters.getByName('a')!.config).toBe(secretKc);
    again.close();
  });

  it('a key file readable by others gives a warning', () => {
    const dataDir = tempDir();
    openStore({ dataDir, env: {} }).close();
    chmodSync(join(dataDir, 'encryption.key'), 0o644);
    const s = openStore({ dataDir, env: {} });
    expect(s.warnings.join('\n')).toMatch(/readable by group or others \(mode 0644\); run: chmod 600/);
    s.close();
  });

  it('wrong FLEETGATE_ENCRYPTION_KEY: clear error, rows intact, right key reads them', () => {
    const dataDir = tempDir();
    const right = randomBytes(32).toString('hex');
    const wrong = randomBytes(32).toString('hex');
    const s = openStore({ dataDir, env: { FLEETGATE_ENCRYPTION_KEY: right } });
    expect(existsSync(join(dataDir, 'encryption.key'))).toBe(false); // env key: no file written
    s.clusters.create({ name: 'a', config: secretKc, isDefault: true });
    s.close();
    const before = readFileSync(join(dataDir, 'fleetgate.db'));

    const e = storeError(() => openStore({ dataDir, env: { FLEETGATE_ENCRYPTION_KEY: wrong } }));
    expect(e.code).toBe('key');
    expect(e.message).toBe(
      'cannot decrypt stored kubeconfigs: FLEETGATE_ENCRYPTION_KEY does not match the key they were written with; nothing was changed',
    );
    expect(e.message).not.toContain(wrong);

    // Missing key altogether: no env, no file → says so, and does not create a key file.
    const m = storeError(() => openStore({ dataDir, env: {} }));
    expect(m.code).toBe('key');
    expect(m.message).toMatch(/no encryption key \(FLEETGATE_ENCRYPTION_KEY is not set and .*encryption.key does not exist\)/);
    expect(existsSync(join(dataDir, 'encryption.key'))).toBe(false);

    expect(readFileSync(join(dataDir, 'fleetgate.db')).equals(before)).toBe(true);
    const ok = openStore({ dataDir, env: { FLEETGATE_ENCRYPTION_KEY: Buffer.from(right, 'hex').toString('base64') } });
    expect(ok.clusters.list().map((r) => [r.name, r.isDefault, r.config === secretKc])).toEqual([['a', true, true]]);
    ok.close();
  });

  it('a replaced key file is detected at open, before any row is read (key check)', () => {
    const dataDir = tempDir();
    openStore({ dataDir, env: {} }).close(); // no rows at all, only the key check
    const backup = join(dataDir, 'key.bak');
    copyFileSync(join(dataDir, 'encryption.key'), backup);
    writeFileSync(join(dataDir, 'encryption.key'), randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    const e = storeError(() => openStore({ dataDir, env: {} }));
    expect(e.code).toBe('key');
    expect(e.message).toMatch(/key file .*encryption.key does not match the key they were written with/);
    copyFileSync(backup, join(dataDir, 'encryption.key'));
    openStore({ dataDir, env: {} }).close();
  });

  it('FLEETGATE_ENCRYPTION_KEY format errors are clear and do not echo the value', () => {
    for (const bad of ['short', 'z'.repeat(64), Buffer.alloc(16).toString('base64'), 'a'.repeat(63), Buffer.alloc(33, 1).toString('hex')]) {
      const e = storeError(() => resolveKey(tempDir(), { FLEETGATE_ENCRYPTION_KEY: bad }));
      expect(e.code).toBe('key');
      expect(e.message).toMatch(/^FLEETGATE_ENCRYPTION_KEY must be 64 hex characters or the base64 encoding of 32 bytes/);
      if (bad.length > 8) expect(e.message).not.toContain(bad);
    }
    const k = randomBytes(32);
    expect(parseKey(k.toString('hex'), 'k').equals(k)).toBe(true);
    expect(parseKey(k.toString('base64'), 'k').equals(k)).toBe(true);
    expect(parseKey(k.toString('base64url'), 'k').equals(k)).toBe(true);
    expect(parseKey(k, 'k').equals(k)).toBe(true);
  });

  it('resolveKey never invents a key next to an existing database', () => {
    const dataDir = tempDir();
    const first = resolveKey(dataDir, {})!; // fresh dir: creates the key file
    expect(first.created).toBe(true);
    const s = openStore({ dataDir, env: {} });
    s.clusters.create({ name: 'a', config: secretKc });
    expect(s.encryptionKey().equals(first.key)).toBe(true);
    s.close();
    rmSync(join(dataDir, 'encryption.key'));
    const e = storeError(() => resolveKey(dataDir, {}));
    expect(e.code).toBe('key');
    expect(e.message).toMatch(/no encryption key: .* does not exist, but .*fleetgate.db does/);
    expect(existsSync(join(dataDir, 'encryption.key'))).toBe(false);
    expect(resolveKey(dataDir, {}, { create: false })).toBeUndefined();
    // The key handed on by encryptionKey() opens the store in another connection.
    const t = openStore({ dataDir, env: {}, key: first.key });
    expect(t.clusters.getByName('a')!.config).toBe(secretKc);
    t.close();
  });

  it('a malformed key file is a key error naming the file', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'encryption.key'), 'not a key\n', { mode: 0o600 });
    const e = storeError(() => openStore({ dataDir, env: {} }));
    expect(e.code).toBe('key');
    expect(e.message).toMatch(/key file .*encryption.key must be 64 hex characters/);
  });
});
