/**
 * An exec plugin (allowed with --allow-exec) runs with what kubectl would give it, never with
 * fleetgate's own environment: through the real server, a plugin that records its environment
 * sees PATH, HOME, its kubeconfig env and KUBERNETES_EXEC_INFO, and neither the admin token nor
 * the encryption key nor anything else of the server's.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { eventually, startServer } from '../helpers/server.js';

let sim: Simulator;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ clusters: 1, podsPerCluster: 1 });
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-exec-'));
});
afterAll(async () => {
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('exec plugin environment', () => {
  it('PATH, HOME, the plugin env and KUBERNETES_EXEC_INFO only', async () => {
    const c = sim.clusters[0]!;
    const plugin = join(dir, 'plugin.sh');
    const seen = join(dir, 'seen.env');
    writeFileSync(plugin, `#!/bin/sh\nenv > "${seen}"\nprintf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${c.token}"}}'\n`);
    chmodSync(plugin, 0o755);
    const key = Buffer.alloc(32, 7).toString('base64');
    const server = await startServer(['--allow-exec', '--workers', '1'], { env: { FLEETGATE_ENCRYPTION_KEY: key, SOME_SERVER_SECRET: 'do-not-pass' } });
    try {
      const config = JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'x', cluster: { server: c.server, 'certificate-authority-data': Buffer.from(c.caPem).toString('base64') } }],
        users: [{ name: 'x', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, env: [{ name: 'PLUGIN_SETTING', value: 'on' }] } } }],
        contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
        'current-context': 'x',
      });
      expect((await server.send('POST', '/api/v1/admin/clusters', { name: 'viaexec', config })).status).toBe(201);
      await eventually(async () => (await server.get('/api/v1/clusters')).json()[0]?.state === 'ok', 30_000);
      const env = Object.fromEntries(
        readFileSync(seen, 'utf8')
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      // /bin/sh adds PWD (and SHLVL, _ on some shells) itself; nothing else may come from fleetgate.
      const fromShell = new Set(['PWD', 'SHLVL', '_', 'OLDPWD']);
      expect(Object.keys(env).filter((k) => !fromShell.has(k)).sort()).toEqual(['HOME', 'KUBERNETES_EXEC_INFO', 'PATH', 'PLUGIN_SETTING'].filter((k) => k !== 'HOME' || process.env.HOME !== undefined));
      expect(JSON.parse(env.KUBERNETES_EXEC_INFO!)).toMatchObject({ kind: 'ExecCredential', spec: { interactive: false } });
      const text = readFileSync(seen, 'utf8');
      for (const secret of [server.token, key, 'do-not-pass']) expect(text).not.toContain(secret);
    } finally {
      await server.stop();
    }
  });
});
