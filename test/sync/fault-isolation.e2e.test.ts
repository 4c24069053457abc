/**
 * One bad row never stops the fleet. Through the real server: a row whose sealed kubeconfig is
 * corrupted in the database (as a disk fault, a wrong restore or an attacker with the file
 * would) puts only its cluster in the error state, with the reason; the other clusters keep
 * syncing and serving; /readyz stays 200 and /metrics carries the time of the last commit. After
 * a restart on that database the server still becomes ready.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { kDbFileName } from '../../src/store/store.js';
import { eventually, startServer, type ServerHandle } from '../helpers/server.js';

let sim: Simulator;
let dir: string;
let dataDir: string;

interface Listed {
  name: string;
  state: string;
  error?: string;
}

beforeAll(async () => {
  sim = await startSimulator({ clusters: 3, podsPerCluster: 2 });
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-faults-'));
  dataDir = join(dir, 'data');
  writeFileSync(join(dir, 'kc'), sim.kubeconfig());
});

afterAll(async () => {
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function allOk(server: ServerHandle, n: number): Promise<Listed[]> {
  return eventually(async () => {
    const l = (await server.get('/api/v1/clusters')).json() as Listed[];
    return l.length === n && l.every((c) => c.state === 'ok') ? l : undefined;
  }, 30_000);
}

describe('a row that cannot be decrypted', () => {
  it('errors its own cluster only; the rest sync and serve, readiness holds, and a restart still gets ready', async () => {
    let server = await startServer(['--kubeconfig', join(dir, 'kc'), '--workers', '1'], { dataDir });
    try {
      await allOk(server, 3);
      const [good1, bad, good2] = sim.clusters.map((c) => c.name) as [string, string, string];
      const db = new Database(join(dataDir, kDbFileName));
      db.prepare('UPDATE clusters SET config = ? WHERE name = ?').run(Buffer.from([1, 2, 3, 4, 5]), bad);
      db.close();

      const listed = await eventually(async () => {
        const l = (await server.get('/api/v1/clusters')).json() as Listed[];
        return l.find((c) => c.name === bad)?.state === 'error' ? l : undefined;
      }, 30_000);
      expect(listed.find((c) => c.name === bad)!.error).toMatch(/cannot decrypt the kubeconfig of cluster/);
      expect(listed.filter((c) => c.name !== bad).map((c) => c.state)).toEqual(['ok', 'ok']);

      // The others keep syncing (a write commits) and serving.
      expect((await server.send('POST', '/api/v1/admin/sync?wait=true')).json().committed).toBe(true);
      for (const name of [good1, good2]) {
        expect((await server.get('/api/v1/pods', { 'x-cluster-name': name })).status).toBe(200);
      }
      // The admin still sees every row, the bad one included, to fix it.
      const adminList = (await server.get('/api/v1/admin/clusters')).json() as Listed[];
      expect(adminList.map((c) => c.name)).toEqual([good1, bad, good2]);
      expect(adminList.find((c) => c.name === bad)!.error).toMatch(/cannot decrypt/);
      const refused = await server.get('/api/v1/pods', { 'x-cluster-name': bad });
      expect(refused.status).toBe(503);
      expect(refused.json().error).toMatch(/cannot decrypt/);
      expect((await server.get('/readyz')).status).toBe(200);
      const m = /^fleetgate_sync_last_commit_timestamp_seconds (\S+)$/m.exec((await server.get('/metrics')).body);
      expect(Number(m?.[1])).toBeGreaterThan(Date.now() / 1000 - 60);
    } finally {
      await server.stop();
    }

    // A restart on the same database: the bad row no longer keeps the sync worker from its first commit.
    server = await startServer(['--workers', '1'], { dataDir });
    try {
      await eventually(async () => (await server.get('/readyz')).status === 200, 30_000);
      await eventually(async () => {
        const l = (await server.get('/api/v1/clusters')).json() as Listed[];
        return l.map((c) => c.state).sort().join() === 'error,ok,ok';
      }, 30_000);
      expect(server.output()).not.toMatch(/restarting in/);
    } finally {
      await server.stop();
    }
  }, 90_000);
});
