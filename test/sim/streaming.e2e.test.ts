/**
 * exec, attach and port-forward with the real kubectl through a real `fleetgate serve` (its /k8s
 * passthrough over HTTPS) to simulated clusters of every minor version the simulator hands out.
 * The kubectl on the machine dispatches to the kubectl matching the server's version, so these
 * exercise each wire protocol kubectl speaks: SPDY/3.1 for exec and attach before 1.30,
 * WebSocket from 1.30, SPDY for port-forward before 1.31 and SPDY tunnelled in WebSocket from
 * 1.31. The simulator counts the sessions it served by protocol, which is how the test knows
 * which one was used. A viewer's token is refused each of them.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { startServer, type ServerHandle } from '../helpers/server.js';

const kubectlBin = '/usr/bin/kubectl';
const haveKubectl = existsSync(kubectlBin);
if (!haveKubectl) console.warn('test/sim/streaming.e2e.test.ts: skipped: no kubectl at /usr/bin/kubectl');

type Run = { code: number; stdout: string; stderr: string };

describe.skipIf(!haveKubectl)('exec, attach and port-forward through fleetgate with kubectl of each simulated minor', () => {
  let sim: Simulator;
  let server: ServerHandle;
  let dir: string;
  const configs = new Map<string, { admin: string; viewer: string }>();

  const kubectl = (kubeconfig: string, args: string[], input = ''): Promise<Run> =>
    new Promise((resolve) => {
      const child = execFile(
        kubectlBin,
        ['--kubeconfig', kubeconfig, '--request-timeout=20s', ...args],
        { timeout: 60_000, env: { ...process.env, HOME: dir } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(input);
    });

  /** Sessions the simulator served since `before`, by "KIND TRANSPORT PROTOCOL". */
  const streamsSince = (before: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(sim.stats().streams)
        .map(([k, n]) => [k, n - (before[k] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    );

  beforeAll(async () => {
    // Four clusters: v1.28, v1.29, v1.30, v1.31 (defaultVersion), one of each simulated minor.
    sim = await startSimulator({ clusters: 4, podsPerCluster: 8 });
    dir = mkdtempSync(join(tmpdir(), 'fleetgate-streaming-'));
    const simConfig = join(dir, 'sim.kubeconfig');
    writeFileSync(simConfig, sim.kubeconfig(), { mode: 0o600 });
    server = await startServer(['--kubeconfig', simConfig, '--workers', '1']);
    expect((await server.send('POST', '/api/v1/admin/sync?wait=true')).status).toBe(200);
    const viewer = await server.send('POST', '/api/v1/admin/tokens', { name: 'stream-viewer', role: 'viewer', clusters: ['*'] });
    expect(viewer.status, viewer.body).toBe(201);
    const viewerToken: string = viewer.json().token;
    for (const c of sim.clusters) {
      const admin = await server.get(`/api/v1/clusters/${c.name}/kubeconfig`);
      const view = await server.get(`/api/v1/clusters/${c.name}/kubeconfig`, { authorization: `Bearer ${viewerToken}` });
      expect(admin.status, admin.body).toBe(200);
      expect(view.status, view.body).toBe(200);
      const paths = { admin: join(dir, `${c.name}.admin`), viewer: join(dir, `${c.name}.viewer`) };
      writeFileSync(paths.admin, admin.body, { mode: 0o600 });
      writeFileSync(paths.viewer, view.body, { mode: 0o600 });
      configs.set(c.name, paths);
    }
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A Running pod of the cluster, listed through fleetgate. */
  async function runningPod(kc: string): Promise<[string, string]> {
    const r = await kubectl(kc, ['get', 'pods', '-A', '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[0].metadata.namespace}/{.items[0].metadata.name}']);
    expect(r.code, r.stderr).toBe(0);
    const [ns, pod] = r.stdout.split('/');
    expect(pod).toBeTruthy();
    return [ns!, pod!];
  }

  /**
   * `kubectl port-forward` running until stopped: resolves with the local port once kubectl
   * prints its "Forwarding from 127.0.0.1:PORT" line, or rejects when kubectl exits first.
   */
  function portForward(kc: string, ns: string, pod: string, remote: number) {
    const child = spawn(kubectlBin, ['--kubeconfig', kc, 'port-forward', '-n', ns, `pod/${pod}`, `0:${remote}`, '--address', '127.0.0.1'], {
      env: { ...process.env, HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const port = new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.stderr.on('data', (d) => (err += d));
      void exited.then((code) => reject(new Error(`kubectl port-forward exited (${code}) before forwarding: ${out}${err}`)));
    });
    return {
      port,
      exited,
      output: () => out + err,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill();
        await exited;
      },
    };
  }

  for (const minor of [28, 29, 30, 31]) {
    it(`v1.${minor}: exec with stdin and exit codes, attach, port-forward, each over the protocol kubectl 1.${minor} speaks`, async () => {
      const c = sim.clusters.find((x) => x.version.startsWith(`v1.${minor}.`))!;
      expect(c, `a simulated cluster reports v1.${minor}`).toBeDefined();
      const kc = configs.get(c.name)!.admin;
      const [ns, pod] = await runningPod(kc);
      const before = sim.stats().streams;

      const echo = await kubectl(kc, ['exec', '-n', ns, pod, '--', 'echo', 'hi', c.name]);
      expect(echo, echo.stderr).toMatchObject({ code: 0, stdout: `hi ${c.name}\n` });
      const cat = await kubectl(kc, ['exec', '-i', '-n', ns, pod, '--', 'cat'], 'line one\nline two\n');
      expect(cat, cat.stderr).toMatchObject({ code: 0, stdout: 'line one\nline two\n' });
      const failed = await kubectl(kc, ['exec', '-n', ns, pod, '--', 'false']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('command terminated with exit code 1');
      const missing = await kubectl(kc, ['exec', '-n', ns, pod, '--', 'no-such-tool']);
      expect(missing.code).toBe(127);
      expect(missing.stderr).toContain('executable file not found');

      const attached = await kubectl(kc, ['attach', '-i', '-n', ns, pod], 'to the main process\n');
      expect(attached.code, attached.stderr).toBe(0);
      expect(attached.stdout).toContain('to the main process\n');

      const pf = portForward(kc, ns, pod, 8080);
      try {
        const port = await pf.port;
        for (const path of ['/first', '/second']) {
          const res = await fetch(`http://127.0.0.1:${port}${path}`);
          expect(res.status).toBe(200);
          expect(await res.text()).toBe(`hello from ${c.name}/${ns}/${pod} port 8080: GET ${path} HTTP/1.1\n`);
        }
      } finally {
        await pf.stop();
      }

      const served = streamsSince(before);
      // kubectl 1.29 added v5 (the close signal) to its SPDY offer; 1.30 moved to WebSocket.
      const execWire = minor < 29 ? 'spdy v4.channel.k8s.io' : minor < 30 ? 'spdy v5.channel.k8s.io' : 'websocket v5.channel.k8s.io';
      const pfWire = minor < 31 ? 'spdy portforward.k8s.io' : 'websocket SPDY/3.1+portforward.k8s.io';
      expect(served).toEqual({ [`exec ${execWire}`]: 4, [`attach ${execWire}`]: 1, [`portforward ${pfWire}`]: 1 });
    }, 120_000);

    it(`v1.${minor}: a viewer is refused exec, attach and port-forward (403)`, async () => {
      const c = sim.clusters.find((x) => x.version.startsWith(`v1.${minor}.`))!;
      const kc = configs.get(c.name)!.viewer;
      const [ns, pod] = await runningPod(kc);
      const before = sim.stats().streams;
      const refusal = 'token "stream-viewer" is a viewer: connection upgrades (exec, attach, port-forward) through /k8s are not allowed';
      for (const args of [['exec', '-n', ns, pod, '--', 'echo', 'no'], ['attach', '-n', ns, pod]]) {
        const r = await kubectl(kc, args);
        expect(r.code, args[0]).not.toBe(0);
        expect(r.stderr, args[0]).toContain(refusal);
      }
      const pf = portForward(kc, ns, pod, 8080);
      await expect(pf.port).rejects.toThrow(/exited/);
      expect(await pf.exited).not.toBe(0);
      expect(pf.output()).toMatch(/403|Forbidden|is a viewer/);
      expect(streamsSince(before)).toEqual({});
    }, 120_000);
  }
});
