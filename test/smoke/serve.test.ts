// Start-up and a smoke run of the API: the part of the suite CI also runs on the oldest
// supported Node (20.19+), where the server falls back to one HTTP worker.
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startServer, type ServerHandle } from '../helpers/server.js';

describe('fleetgate serve --sim (smoke)', () => {
  let server: ServerHandle;
  beforeAll(async () => {
    // A drain bound beyond the test's own timeout: a drain that waited for it fails the test.
    server = await startServer(['--sim', '3', '--workers', '2', '--drain-timeout', '120s']);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers health and becomes ready after the first sync', async () => {
    expect((await server.get('/healthz')).status).toBe(200);
    await eventually(async () => (await server.get('/readyz')).status === 200);
  });

  it('lists the simulated clusters with their probed versions', async () => {
    const clusters = await eventually(async () => {
      const r = await server.get('/api/v1/clusters');
      const list = r.json() as Array<{ name: string; version: string; isDefault: boolean }>;
      return list.length === 3 && list.every((c) => c.version.startsWith('v')) ? list : undefined;
    });
    expect(clusters.map((c) => c.name)).toEqual([...clusters.map((c) => c.name)].sort());
    expect(clusters.filter((c) => c.isDefault)).toHaveLength(1);
  });

  it('serves a resource list from the default cluster and refuses callers without a token', async () => {
    const r = await server.get('/api/v1/namespaces');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).items.length).toBeGreaterThan(0);
    const anon = await fetch(server.url + '/api/v1/clusters');
    expect(anon.status).toBe(401);
  });

  it('hands out a kubeconfig that points kubectl at the HTTPS passthrough', async () => {
    const name = (await server.get('/api/v1/clusters')).json()[0].name as string;
    const r = await server.get(`/api/v1/clusters/${name}/kubeconfig`);
    expect(r.status).toBe(200);
    expect(r.body).toMatch(new RegExp(`server: "https://127\\.0\\.0\\.1:\\d+/k8s/${name}"`));
    expect(r.body).toContain('certificate-authority-data');
    expect(r.body).toContain(server.token);
  });

  it('takes sync requests without waiting, or waits for the commit when asked', async () => {
    expect((await server.send('POST', '/api/v1/admin/sync')).status).toBe(202);
    const waited = await server.send('POST', '/api/v1/admin/sync?wait=true');
    expect(waited.status).toBe(200);
    expect(waited.json().committed).toBe(true);
  });

  it('answers fleet-wide queries from the worker pool', async () => {
    const overview = await server.get('/api/v1/fleet/overview');
    expect(overview.status).toBe(200);
    const o = overview.json();
    expect(o.clusters).toHaveLength(3);
    expect(o.partial).toEqual([]);
    expect(o.totals.totalPods).toBeGreaterThan(0);
    const search = await server.get('/api/v1/fleet/search?q=kube&kinds=namespaces');
    expect(search.status).toBe(200);
    const clusters = new Set((search.json().items as Array<{ cluster: string }>).map((i) => i.cluster));
    expect(clusters.size).toBe(3);
  });

  it('says on old Node why it serves with one worker', () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    const old = major < 22 || (major === 22 && minor < 12);
    expect(server.output().includes('reusePort needs Node >= 22.12')).toBe(old);
  });

  it('runs with V8 helper threads capped (re-executed in place), or says why not', () => {
    const canExecve = typeof (process as unknown as { execve?: unknown }).execve === 'function';
    const cmdline = readFileSync(`/proc/${server.child.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline.some((a) => /^--v8-pool-size=\d+$/.test(a))).toBe(canExecve);
    expect(server.output().includes('V8 keeps its default helper threads')).toBe(!canExecve);
  });

  it('drains and exits 0 on SIGTERM, after an open kubectl exec session has finished', async () => {
    // kubectl (through its version dispatcher) speaks WebSocket to clusters of v1.30 and later.
    const clusters = (await server.get('/api/v1/clusters')).json() as Array<{ name: string; version: string }>;
    const recent = clusters.find((c) => Number(/^v1\.(\d+)/.exec(c.version)?.[1]) >= 30);
    expect(recent, JSON.stringify(clusters)).toBeTruthy();
    const kubeconfig = join(server.dataDir, 'exec.kubeconfig');
    writeFileSync(kubeconfig, (await server.get(`/api/v1/clusters/${recent!.name}/kubeconfig`)).body);
    const found = await new Promise<string>((resolve, reject) =>
      execFile('kubectl', ['--kubeconfig', kubeconfig, 'get', 'pods', '-A', '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[0].metadata.namespace} {.items[0].metadata.name}'], (err, out, stderr) =>
        err ? reject(new Error(stderr)) : resolve(out),
      ),
    );
    const [ns, pod] = found.split(' ') as [string, string];

    const session = spawn('kubectl', ['--kubeconfig', kubeconfig, 'exec', '-i', '-n', ns, pod, '--', 'cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    session.stdout.on('data', (d) => (out += d));
    session.stderr.on('data', (d) => (err += d));
    const sessionEnded = new Promise<number | null>((resolve) => session.once('exit', resolve));
    /** Writes `line` into the session; resolves when cat has echoed it back. */
    const echo = (line: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!out.includes(line)) return;
          session.stdout.off('data', check);
          resolve();
        };
        session.stdout.on('data', check);
        session.once('exit', () => reject(new Error(`kubectl exec ended before echoing ${JSON.stringify(line)}: ${err}`)));
        session.stdin.write(line);
      });
    await echo('before SIGTERM\n');

    let serverExited = false;
    const draining = new Promise<void>((resolve) => {
      const seen = () => server.output().includes('draining in-flight requests') && resolve();
      server.child.stdout!.on('data', seen);
      seen();
    });
    const stopped = server.stop('SIGTERM').then((code) => {
      serverExited = true;
      return code;
    });
    await draining;
    // The session still carries data while the server drains, and holds the drain open.
    await echo('during the drain\n');
    expect(serverExited).toBe(false);
    session.stdin.end('after SIGTERM\n');
    expect(await sessionEnded, err).toBe(0);
    expect(out).toBe('before SIGTERM\nduring the drain\nafter SIGTERM\n');
    // The drain ends with the session (its 120 s bound is past the test's timeout), and cut nothing.
    expect(await stopped).toBe(0);
    expect(server.output()).not.toContain('drain bound reached');
    expect(server.output()).toContain('fleetgate: stopped');
  });
});
