import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, kClusterAnnotation, type Simulator } from '../../src/sim/index.js';
import { req } from './helpers.js';
import { kubectlOrSkip } from '../helpers/kubectl.js';

const kubectl = kubectlOrSkip('test/sim/kubectl.test.ts');

describe.skipIf(!kubectl)('kubectl against the simulator', () => {
  let sim: Simulator;
  let dir: string;
  let kubeconfig: string;

  const run = (args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = execFile(
        kubectl!,
        ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout', '20s', ...args],
        { timeout: 60_000, env: { ...process.env, HOME: dir, KUBECONFIG: kubeconfig } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(input ?? '');
    });

  beforeAll(async () => {
    // sim-0001 reports v1.32 (kubectl 1.32's own version); sim-0002 keeps a default (older) one.
    sim = await startSimulator({ clusters: 2, podsPerCluster: 25, versions: { 'sim-0001': 'v1.32.4' } });
    dir = mkdtempSync(join(tmpdir(), 'fleetgate-kubectl-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, sim.kubeconfig(), { mode: 0o600 });
  });
  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl version shows each cluster its own server version', async () => {
    const r = await run(['version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Server Version: v1.32.4');
    const j = await run(['version', '-o', 'json', '--context', 'sim-0002']);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout).serverVersion.gitVersion).toBe(sim.cluster('sim-0002').version);
  });

  for (const context of ['sim-0001', 'sim-0002']) {
    it(`kubectl get ns,nodes,pods,deploy -A lists every object (${context})`, async () => {
      const c = sim.cluster(context);
      const r = await run(['get', 'ns,nodes,pods,deploy', '-A', '--context', context]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const out = r.stdout;
      for (const [path, prefix] of [
        ['/api/v1/namespaces', 'namespace/'],
        ['/api/v1/nodes', 'node/'],
        ['/api/v1/pods', 'pod/'],
        ['/apis/apps/v1/deployments', 'deployment.apps/'],
      ] as const) {
        const items = (await req(c, path)).json.items;
        expect(items.length).toBeGreaterThan(0);
        for (const it of items) expect(out).toMatch(new RegExp(`(^|\\s)${prefix}${it.metadata.name.replace(/\./g, '\\.')}\\s`, 'm'));
        expect(out.split('\n').filter((l) => l.includes(prefix)).length).toBe(items.length);
      }
      expect(out).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
      expect(out).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/m);
      expect(out).toMatch(/node\/node-001\s+Ready\s+control-plane\s+\S+\s+v1\./);
      expect(out).toMatch(/NotReady/);
      expect(out).toMatch(/kube-system\s+deployment\.apps\/coredns\s+\d\/2/);
    });
  }

  it('kubectl get pod NAME -n NS -o yaml prints the object', async () => {
    const pod = (await req(sim.cluster('sim-0001'), '/api/v1/pods?fieldSelector=status.phase%3DRunning')).json.items[0];
    const r = await run(['get', 'pod', pod.metadata.name, '-n', pod.metadata.namespace, '-o', 'yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^apiVersion: v1$/m);
    expect(r.stdout).toMatch(/^kind: Pod$/m);
    expect(r.stdout).toContain(`  name: ${pod.metadata.name}\n`);
    expect(r.stdout).toContain(`  namespace: ${pod.metadata.namespace}\n`);
    expect(r.stdout).toContain(`    ${kClusterAnnotation}: sim-0001\n`);
    expect(r.stdout).toContain(`  nodeName: ${pod.spec.nodeName}\n`);
    expect(r.stdout).toContain('  phase: Running\n');
    const missing = await run(['get', 'pod', 'no-such-pod', '-n', pod.metadata.namespace]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('Error from server (NotFound): pods "no-such-pod" not found');
  });

  for (const context of ['sim-0001', 'sim-0002']) {
    it(`kubectl create and delete a configmap (${context})`, async () => {
      const c = sim.cluster(context);
      const created = await run(['create', 'configmap', 'kubectl-demo', '--from-literal=greeting=hello', '-n', 'default', '--context', context]);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout.trim()).toBe('configmap/kubectl-demo created');
      const got = await req(c, '/api/v1/namespaces/default/configmaps/kubectl-demo');
      expect(got.json.data).toEqual({ greeting: 'hello' });
      expect(got.json.metadata.annotations[kClusterAnnotation]).toBe(context);
      const jp = await run(['get', 'configmap', 'kubectl-demo', '-o', 'jsonpath={.data.greeting}', '--context', context]);
      expect(jp.stdout).toBe('hello');
      const again = await run(['create', 'configmap', 'kubectl-demo', '--context', context]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain('configmaps "kubectl-demo" already exists');
      const deleted = await run(['delete', 'configmap', 'kubectl-demo', '-n', 'default', '--context', context]);
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(deleted.stdout.trim()).toBe('configmap "kubectl-demo" deleted');
      expect((await req(c, '/api/v1/namespaces/default/configmaps/kubectl-demo')).status).toBe(404);
    });
  }

  it('kubectl create namespace, secret, deployment (protobuf bodies), label, scale, delete', async () => {
    const c = sim.cluster('sim-0001');
    const ok = async (args: string[], expected: string) => {
      const r = await run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim()).toBe(expected);
    };
    await ok(['create', 'namespace', 'kdemo'], 'namespace/kdemo created');
    await ok(['create', 'secret', 'generic', 'creds', '-n', 'kdemo', '--from-literal=user=admin'], 'secret/creds created');
    const secret = (await req(c, '/api/v1/namespaces/kdemo/secrets/creds')).json;
    expect(Buffer.from(secret.data.user, 'base64').toString()).toBe('admin');
    expect(secret.type).toBe('Opaque');
    await ok(['create', 'deployment', 'web', '-n', 'kdemo', '--image=nginx:1.27', '--replicas=2'], 'deployment.apps/web created');
    const dep = (await req(c, '/apis/apps/v1/namespaces/kdemo/deployments/web')).json;
    expect(dep.spec.replicas).toBe(2);
    expect(dep.spec.template.spec.containers[0]).toMatchObject({ name: 'nginx', image: 'nginx:1.27' });
    expect(dep.metadata.annotations[kClusterAnnotation]).toBe('sim-0001');
    await ok(['label', 'deployment', 'web', '-n', 'kdemo', 'team=blue'], 'deployment.apps/web labeled');
    await ok(['scale', 'deployment', 'web', '-n', 'kdemo', '--replicas=5'], 'deployment.apps/web scaled');
    const scaled = (await req(c, '/apis/apps/v1/namespaces/kdemo/deployments/web')).json;
    expect(scaled.spec.replicas).toBe(5);
    expect(scaled.metadata.labels.team).toBe('blue');
    const list = await run(['get', 'deploy', '-n', 'kdemo', '-l', 'team=blue', '-o', 'name']);
    expect(list.stdout.trim()).toBe('deployment.apps/web');
    await ok(['delete', 'namespace', 'kdemo'], 'namespace "kdemo" deleted');
    expect((await req(c, '/apis/apps/v1/namespaces/kdemo/deployments/web')).status).toBe(404);
  });

  it('kubectl exec runs commands in a pod over WebSocket: output, stdin, exit codes', async () => {
    // sim-0001 reports v1.32, so the kubectl dispatcher runs kubectl 1.32, which speaks WebSocket
    // (v5.channel.k8s.io) first (SPDY, for older kubectl, is in streaming.e2e.test.ts).
    const found = await run(['get', 'pods', '-A', '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[0].metadata.namespace}/{.items[0].metadata.name}']);
    expect(found.code, found.stderr).toBe(0);
    const [ns, pod] = found.stdout.split('/') as [string, string];
    expect(pod).toBeTruthy();

    const echo = await run(['exec', '-n', ns, pod, '--', 'echo', 'hello', 'from', 'exec']);
    expect(echo.code, echo.stderr).toBe(0);
    expect(echo.stdout).toBe('hello from exec\n');
    const host = await run(['exec', '-n', ns, pod, '--', 'hostname']);
    expect(host.stdout).toBe(pod + '\n');

    const cat = await run(['exec', '-i', '-n', ns, pod, '--', 'cat'], 'line one\nline two\n');
    expect(cat.code, cat.stderr).toBe(0);
    expect(cat.stdout).toBe('line one\nline two\n');

    const failed = await run(['exec', '-n', ns, pod, '--', 'false']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('command terminated with exit code 1');
    const missing = await run(['exec', '-n', ns, pod, '--', 'no-such-tool']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('exec: "no-such-tool": executable file not found in $PATH');

    const gone = await run(['exec', '-n', ns, 'no-such-pod', '--', 'echo']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('pods "no-such-pod" not found');
  });

  it('kubectl with a rotated-away token gets Unauthorized', async () => {
    const stale = join(dir, 'stale');
    writeFileSync(stale, sim.singleKubeconfig('sim-0002'), { mode: 0o600 });
    sim.rotateToken('sim-0002');
    const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(kubectl!, ['--kubeconfig', stale, '--cache-dir', join(dir, 'cache2'), 'get', 'ns'], { timeout: 60_000, env: { ...process.env, HOME: dir } }, (err, _o, stderr) =>
        resolve({ code: err ? 1 : 0, stderr }),
      ),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Unauthorized|must be logged in/);
  });
});
