// The supervisor in-process, so a test can reach its threads: restart of a killed HTTP worker
// (lock slot reclaimed, serving continues), a dead sync worker replaced, bounded drain, kubectl
// through the passthrough of the multi-worker server, and no secret in any log line.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultServeOptions } from '../../src/server/config.js';
import { Supervisor } from '../../src/server/supervisor.js';
import { ownerWordFor } from '../../src/lock/predicates.js';
import { headInt32, kMaxThreadsWord, kWriterMutexWord, kWriterOwnerWord, kWriterPendingWord, slotOwnerWord, slotStateWord } from '../../src/shm/layout.js';
import { notReadyReason } from '../../src/sync/readiness.js';
import { eventually } from '../helpers/server.js';
import { kubectlOrSkip } from '../helpers/kubectl.js';

const kubectl = kubectlOrSkip('test/server/supervisor.test.ts');

describe('supervisor', () => {
  const logs: string[] = [];
  const token = 'fg_supervisor_test_token_0123456789abcdef';
  let sup: Supervisor;
  let dataDir: string;
  let base: string;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });

  function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        base + path,
        {
          method,
          agent,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }
  const get = (path: string, headers: Record<string, string> = {}) => send('GET', path, undefined, headers);
  /** The reader slot a thread owns in the supervisor's region, or -1. */
  const slotOf = (threadId: number) => {
    const head = headInt32(sup.sab);
    for (let i = 0; i < Atomics.load(head, kMaxThreadsWord); i++) if (Atomics.load(head, slotOwnerWord(i)) === ownerWordFor(threadId)) return i;
    return -1;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fleetgate-sup-'));
    sup = new Supervisor(
      // A drain bound beyond the test's timeout: a drain that waited for it, rather than for its
      // in-flight requests, fails the test.
      { ...defaultServeOptions(), port: 0, tlsPort: 0, dataDir, workers: 2, sim: 3, drainMs: 120_000 },
      { log: (l) => logs.push(l), warn: (l) => logs.push(l) },
      { FLEETGATE_ADMIN_TOKEN: token },
      { testHooks: true },
    );
    await sup.start();
    base = `http://127.0.0.1:${sup.port}`;
    await eventually(async () => (await get('/readyz')).status === 200);
  });

  afterAll(async () => {
    agent.destroy();
    await sup?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('replaces a killed HTTP worker and keeps serving', async () => {
    const before = sup.httpWorkerThreads().map((w) => w.threadId);
    expect(before.length).toBe(sup.httpWorkers);
    let ok = 0;
    let failed = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        try {
          const r = await get('/api/v1/clusters');
          if (r.status === 200 && JSON.parse(r.body).length === 3) ok++;
          else failed++;
        } catch {
          failed++; // a request that was on the killed thread's connection
          // With one HTTP worker (Node < 22.12) nothing listens until the replacement does.
          if (sup.httpWorkers === 1) await new Promise((r) => setTimeout(r, 10));
        }
      }
    })();
    await eventually(async () => ok > 50);
    const victim = sup.httpWorkerThreads()[0]!;
    await victim.terminate();
    const okAtKill = ok;
    await eventually(async () => ok > okAtKill + 200, 15_000);
    await eventually(async () => {
      const now = sup.httpWorkerThreads().map((w) => w.threadId);
      return now.length === before.length && !now.includes(victim.threadId);
    }, 15_000);
    stop = true;
    await load;
    // Only requests caught on the dead thread's sockets may fail (at most one per socket). With a
    // single HTTP worker (Node < 22.12, no reusePort) there is no other worker to keep serving:
    // there the test checks only that the replacement serves again.
    if (sup.httpWorkers > 1) expect(failed).toBeLessThanOrEqual(4);
    expect(logs.join('\n')).toMatch(/http worker 0 exited .* restarting/);
    // The writer is not blocked by the dead reader's slot: an admin write still commits.
    const created = await send('POST', '/api/v1/admin/clusters', {
      name: 'after-kill',
      config: sup.simulator!.singleKubeconfig(sup.simulator!.clusters[0]!.name),
    });
    expect(created.status).toBe(201);
    const list = JSON.parse((await get('/api/v1/clusters')).body) as Array<{ name: string }>;
    expect(list.map((c) => c.name)).toContain('after-kill');
  });

  it('reclaims the slot of an HTTP worker killed inside a read lock; the writer then commits', async () => {
    const victim = sup.httpWorkerThreads()[0]!;
    const head = headInt32(sup.sab);
    // A replacement from the test above may still be loading: its slot is claimed at start-up.
    const slot = await eventually(async () => {
      const i = slotOf(victim.threadId);
      return i >= 0 ? { i } : undefined;
    }).then((r) => r.i);
    await sup.holdLockForTest(victim, 'read');
    // Provably inside: its slot counts one reader.
    expect(Atomics.load(head, slotStateWord(slot))).toBe(1);
    await victim.terminate();
    // The supervisor's exit handler clears the slot's reader count and gives the slot back.
    await eventually(async () => Atomics.load(head, slotOwnerWord(slot)) === 0);
    expect(Atomics.load(head, slotStateWord(slot))).toBe(0);
    expect(logs.join('\n')).toMatch(/reclaimed the lock slot of dead http worker 0/);
    // With one HTTP worker (Node < 22.12) nothing listens until its replacement does.
    await eventually(async () => (await get('/healthz')).status === 200, 15_000);
    // A write answers only after a commit that contains it: the writer was not stuck on the slot.
    const created = await send('POST', '/api/v1/admin/clusters', {
      name: 'after-read-kill',
      config: sup.simulator!.singleKubeconfig(sup.simulator!.clusters[0]!.name),
    });
    expect(created.status).toBe(201);
    await eventually(async () => sup.httpWorkerThreads().length === sup.httpWorkers);
    const list = JSON.parse((await get('/api/v1/clusters')).body) as Array<{ name: string }>;
    expect(list.map((c) => c.name)).toContain('after-read-kill');
  });

  it('releases the write lock of a sync worker killed while holding it; reads and commits continue', async () => {
    const sync = sup.syncWorkerThread()!;
    const head = headInt32(sup.sab);
    await sup.holdLockForTest(sync, 'write');
    expect(Atomics.load(head, kWriterPendingWord)).toBe(1);
    expect(Atomics.load(head, kWriterOwnerWord)).toBe(ownerWordFor(sync.threadId));
    // No request is sent while it holds: a reader would block its worker until the release.
    await sync.terminate();
    await eventually(async () => Atomics.load(head, kWriterOwnerWord) === 0);
    expect(Atomics.load(head, kWriterPendingWord)).toBe(0);
    expect(Atomics.load(head, kWriterMutexWord)).toBe(0);
    expect((await get('/api/v1/clusters')).status).toBe(200);
    await eventually(async () => sup.syncWorkerThread() !== undefined && sup.syncWorkerThread() !== sync, 15_000);
    const rows = JSON.parse((await get('/api/v1/admin/clusters')).body) as Array<{ id: number; name: string }>;
    const id = rows.find((c) => c.name === 'after-read-kill')!.id;
    const r = await send('PUT', `/api/v1/admin/clusters/${id}`, { description: 'after write-lock kill' });
    expect(r.status).toBe(200);
    expect(r.body).toContain('after write-lock kill');
  });

  it('replaces a dead sync worker, and commits continue', async () => {
    const sync = sup.syncWorkerThread()!;
    await sync.terminate();
    // The supervisor's exit handler ran before terminate() resolved; the replacement is at least a
    // restart delay (250 ms) away, so every worker's /readyz now says why it is not ready.
    expect(notReadyReason(sup.sab, defaultServeOptions().syncIntervalMs)).toMatch(/sync worker exited .* restarting/);
    await eventually(async () => sup.syncWorkerThread() !== undefined && sup.syncWorkerThread() !== sync, 15_000);
    await eventually(async () => (await get('/readyz')).status === 200, 15_000);
    const rows = JSON.parse((await get('/api/v1/admin/clusters')).body) as Array<{ id: number; name: string }>;
    const id = rows.find((c) => c.name === 'after-kill')!.id;
    const r = await send('PUT', `/api/v1/admin/clusters/${id}`, { description: 'after sync restart' });
    expect(r.status).toBe(200);
    expect(r.body).toContain('after sync restart');
  });

  it('answers /metrics with request counts gathered from the workers and the shared-memory counters', async () => {
    // Spread requests over both workers (new connections: reusePort balances by connection).
    const before = JSON.parse((await get('/api/v1/clusters')).body).length;
    expect(before).toBeGreaterThan(0);
    const fresh = () =>
      fetch(base + '/api/v1/clusters', { headers: { authorization: `Bearer ${token}`, connection: 'close' } }).then((r) => r.text());
    for (let i = 0; i < 40; i++) await fresh();
    const text = (await get('/metrics')).body;
    const sum = (re: RegExp) => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
    // Everything this file sent to /api/v1/clusters, from either worker, is in one answer.
    expect(sum(/^fleetgate_http_requests_total\{route="\/api\/v1\/clusters",method="GET",status="200"\} (\d+)/gm)).toBeGreaterThanOrEqual(41);
    expect(sum(/^fleetgate_lock_acquisitions_total (\d+)/gm)).toBeGreaterThan(41);
    expect(sum(/^fleetgate_index_commits_total (\d+)/gm)).toBeGreaterThan(0);
    expect(text).toMatch(/^fleetgate_lock_mode\{mode="rw"\} 1$/m);
    expect(text).toMatch(/^fleetgate_torn_reads_total 0$/m);
  });

  it.skipIf(!kubectl)('serves kubectl through /k8s/NAME on the multi-worker server', async () => {
    const name = sup.simulator!.clusters[1]!.name;
    // client-go sends credentials only over TLS, so kubectl talks to the HTTPS listener, trusting
    // the CA fleetgate generated in its data directory.
    const server = `https://127.0.0.1:${sup.tlsPort}/k8s/${name}`;
    const ca = join(dataDir, 'tls', 'ca.crt');
    // Asynchronously: the simulated clusters answer from this very thread.
    const { stdout: out } = await promisify(execFile)(
      kubectl!,
      ['--server', server, '--certificate-authority', ca, '--token', token, 'get', 'pods', '-A', '--request-timeout=20s'],
      { encoding: 'utf8' },
    );
    expect(out).toMatch(/NAMESPACE\s+NAME\s+READY\s+STATUS/);
    expect(out.split('\n').length).toBeGreaterThan(3);
  });

  it('never logs a simulated cluster\'s token, key or certificate', () => {
    const text = logs.join('\n');
    for (const c of sup.simulator!.clusters) {
      expect(text).not.toContain(c.token);
      expect(text).not.toContain(c.caPem.split('\n')[1]!);
    }
  });

  it('drains in-flight requests before stopping', async () => {
    const sim = sup.simulator!;
    const name = sim.clusters[2]!.name;
    await sim.setFault(name, { latencyMs: 1200 });
    const before = sim.stats().byCluster[name] ?? 0;
    const slow = get('/api/v1/namespaces', { 'x-cluster-name': name });
    // In flight once the cluster has it (it answers after latencyMs).
    await eventually(async () => (sim.stats().byCluster[name] ?? 0) > before);
    const stopped = sup.stop();
    const res = await slow;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).items.length).toBeGreaterThan(0);
    await stopped;
    expect(logs.join('\n')).not.toMatch(/drain bound reached/);
    await expect(get('/healthz')).rejects.toThrow();
  });
});

describe('supervisor drain at its bound', () => {
  it('answers a request still waiting on its cluster 503 with Retry-After, then stops', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetgate-drain-'));
    const logs: string[] = [];
    const token = 'fg_supervisor_drain_token_0123456789';
    const sup = new Supervisor(
      { ...defaultServeOptions(), port: 0, tlsPort: 0, dataDir, workers: 1, sim: 1, drainMs: 300, upstreamTimeoutMs: 60_000 },
      { log: (l) => logs.push(l), warn: (l) => logs.push(l) },
      { FLEETGATE_ADMIN_TOKEN: token },
    );
    try {
      await sup.start();
      const base = `http://127.0.0.1:${sup.port}`;
      const auth = { authorization: `Bearer ${token}` };
      await eventually(async () => (await fetch(base + '/readyz')).status === 200);
      const sim = sup.simulator!;
      const name = sim.clusters[0]!.name;
      await sim.setFault(name, { hang: true });
      const before = sim.stats().byCluster[name] ?? 0;
      const slow = fetch(base + '/api/v1/namespaces', { headers: { ...auth, 'x-cluster-name': name } });
      // The request is in flight once the cluster has received it (and holds it: hang).
      await eventually(async () => (sim.stats().byCluster[name] ?? 0) > before);
      const stopped = sup.stop();
      const res = await slow;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(((await res.json()) as { error: string }).error).toMatch(/shutting down.*drain timeout/);
      await stopped;
      expect(logs.join('\n')).toMatch(/drain bound reached: 1 request\(s\) answered 503, 0 stream\(s\) cut/);
    } finally {
      await sup.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
