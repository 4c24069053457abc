/**
 * Kubeconfigs cannot make fleetgate read its own host. Through the real server:
 * - over the admin API (create, update, import), a kubeconfig naming a file is refused with 400
 *   naming the field; nothing is stored and the server it names never hears from fleetgate;
 * - the operator's kubeconfig at first start may name files: they are read once (regular files
 *   only, capped) and stored inline, so the cluster keeps working after the files are gone; a
 *   FIFO, /dev/zero or an oversized file skips that context without hanging start-up;
 * - a YAML alias bomb is refused quickly.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { eventually, startServer, type ServerHandle } from '../helpers/server.js';

let sim: Simulator;
let dir: string;
let trap: Server;
let trapUrl: string;
const trapHits: string[] = [];

function kubeconfig(name: string, server: string, cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, ...cluster } }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
}

beforeAll(async () => {
  sim = await startSimulator({ clusters: 1, podsPerCluster: 2 });
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-kcfiles-'));
  // The attacker's "cluster": records whatever fleetgate sends it.
  trap = createServer((req, res) => {
    trapHits.push(`${req.method} ${req.url} auth=${req.headers.authorization ?? ''}`);
    res.end('{}');
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
  trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await sim?.stop();
  await new Promise((r) => trap?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kubeconfigs sent over the API carry inline data only', () => {
  let server: ServerHandle;
  beforeAll(async () => {
    server = await startServer(['--sim', '1', '--workers', '1']);
    await eventually(async () => (await server.get('/readyz')).status === 200);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('400 naming the field for each file reference, on create, update and import; nothing stored, nothing sent', async () => {
    const key = join(server.dataDir, 'encryption.key');
    const cases: Array<[field: string, cluster: Record<string, unknown>, user: Record<string, unknown>]> = [
      ['users[0].user.tokenFile', {}, { tokenFile: key }],
      ['users[0].user.client-key', {}, { 'client-key': key, 'client-certificate-data': 'eA==' }],
      ['users[0].user.client-certificate', {}, { 'client-certificate': key, 'client-key-data': 'eA==' }],
      ['clusters[0].cluster.certificate-authority', { 'certificate-authority': key }, { token: 'x' }],
    ];
    // The rows as stored (the live state and version may move while probes run).
    const rows = async () => (await server.get('/api/v1/admin/clusters')).json().map((c: Record<string, unknown>) => [c.id, c.name, c.updatedAt]);
    const before = await rows();
    const id = before[0][0];
    for (const [field, cluster, user] of cases) {
      const config = kubeconfig('evil', trapUrl, cluster, user);
      const created = await server.send('POST', '/api/v1/admin/clusters', { name: 'evil', config });
      expect([field, created.status]).toEqual([field, 400]);
      expect(created.json().error).toContain(field);
      const updated = await server.send('PUT', `/api/v1/admin/clusters/${id}`, { config });
      expect([field, updated.status]).toEqual([field, 400]);
      expect(updated.json().error).toContain(field);
      const imported = await server.send('POST', '/api/v1/admin/clusters/import', { config });
      expect([field, imported.status]).toEqual([field, 400]);
      expect(imported.json().error).toContain(field);
    }
    expect((await server.send('POST', '/api/v1/admin/sync?wait=true')).status).toBe(200);
    expect(await rows()).toEqual(before);
    expect(trapHits).toEqual([]);
    // The inline spelling of the same kubeconfig is accepted: the refusal is about files only.
    const inline = await server.send('POST', '/api/v1/admin/clusters', { name: 'inline', config: kubeconfig('inline', trapUrl, {}, { token: 'fine' }) });
    expect(inline.status).toBe(201);
  });

  it('a YAML alias bomb is refused with 400', async () => {
    let y = 'a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]\n';
    for (let i = 1; i < 9; i++) y += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]\n`;
    y += 'kind: Config\nclusters:\n- name: c\n  cluster: {server: "https://127.0.0.1:1", extensions: *a8}\ncontexts:\n- name: c\n  context: {cluster: c}\n';
    const r = await server.send('POST', '/api/v1/admin/clusters/import', y, { 'content-type': 'application/yaml' });
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(/too many aliases/);
  });
});

describe("the operator's kubeconfig at first start", () => {
  it('files are read once, regular files only, and stored inline; FIFOs, devices and oversized files skip their context', async () => {
    const c = sim.clusters[0]!;
    const files = mkdtempSync(join(dir, 'files-'));
    writeFileSync(join(files, 'ca.crt'), c.caPem);
    writeFileSync(join(files, 'token'), c.token + '\n');
    writeFileSync(join(files, 'big'), Buffer.alloc(2 * 1024 * 1024, 'a'));
    execFileSync('mkfifo', [join(files, 'fifo')]);
    const doc = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'real', cluster: { server: c.server, 'certificate-authority': 'ca.crt' } }],
      users: [
        { name: 'good', user: { tokenFile: 'token' } },
        { name: 'fifo', user: { tokenFile: join(files, 'fifo') } },
        { name: 'zero', user: { tokenFile: '/dev/zero' } },
        { name: 'big', user: { tokenFile: 'big' } },
      ],
      contexts: ['good', 'fifo', 'zero', 'big'].map((u) => ({ name: u, context: { cluster: 'real', user: u } })),
      'current-context': 'good',
    };
    const kc = join(files, 'config');
    writeFileSync(kc, JSON.stringify(doc));
    const server = await startServer(['--kubeconfig', kc, '--workers', '1', '--sync-interval', '1h']);
    try {
      const list = await eventually(async () => {
        const l = (await server.get('/api/v1/clusters')).json() as { name: string; state: string }[];
        return l.length === 1 && l[0]!.state === 'ok' ? l : undefined;
      }, 30_000);
      expect(list.map((x) => x.name)).toEqual(['good']);
      expect(server.output()).toMatch(/fifo.*not a regular file/);
      expect(server.output()).toMatch(/zero.*not a regular file/);
      expect(server.output()).toMatch(/big.*larger than 1048576 bytes/);
      // The files are gone; the stored, inline copy keeps the cluster working after a resync.
      for (const f of ['ca.crt', 'token']) unlinkSync(join(files, f));
      expect((await server.send('POST', '/api/v1/admin/sync?wait=true')).status).toBe(200);
      const pods = await server.get('/api/v1/pods');
      expect(pods.status).toBe(200);
      expect((await server.get('/api/v1/clusters')).json()[0].state).toBe('ok');
    } finally {
      await server.stop();
    }
  });
});
