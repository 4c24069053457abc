/**
 * An exec plugin never holds up the other clusters' sync. Through the real server with
 * --allow-exec: a cluster whose plugin does not answer until the test says so stays `building`
 * while another cluster added after it is probed and served; once the plugin answers, its
 * cluster gets to `ok` too.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { eventually, startServer } from '../helpers/server.js';

let sim: Simulator;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ clusters: 2, podsPerCluster: 1 });
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-execnb-'));
});
afterAll(async () => {
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(i: number, user: Record<string, unknown>): string {
  const c = sim.clusters[i]!;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'x', cluster: { server: c.server, 'certificate-authority-data': Buffer.from(c.caPem).toString('base64') } }],
    users: [{ name: 'x', user }],
    contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
    'current-context': 'x',
  });
}

describe('a slow exec plugin', () => {
  it('keeps its own cluster building and nobody else waiting', async () => {
    const release = join(dir, 'release');
    const plugin = join(dir, 'slow.sh');
    writeFileSync(
      plugin,
      `#!/bin/sh\nwhile [ ! -f "${release}" ]; do sleep 0.05; done\nprintf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${sim.clusters[0]!.token}"}}'\n`,
    );
    chmodSync(plugin, 0o755);
    const server = await startServer(['--allow-exec', '--workers', '1']);
    try {
      const slow = kubeconfig(0, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin } });
      expect((await server.send('POST', '/api/v1/admin/clusters', { name: 'slow', config: slow })).status).toBe(201);
      expect((await server.send('POST', '/api/v1/admin/clusters', { name: 'quick', config: kubeconfig(1, { token: sim.clusters[1]!.token }) })).status).toBe(201);
      const states = () => server.get('/api/v1/clusters').then((r) => Object.fromEntries((r.json() as { name: string; state: string }[]).map((c) => [c.name, c.state])));
      await eventually(async () => (await states()).quick === 'ok', 30_000);
      expect((await states()).slow).toBe('building');
      expect((await server.get('/api/v1/pods', { 'x-cluster-name': 'quick' })).status).toBe(200);
      writeFileSync(release, '');
      await eventually(async () => (await states()).slow === 'ok', 30_000);
      expect((await server.get('/api/v1/pods', { 'x-cluster-name': 'slow' })).status).toBe(200);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
