/**
 * Three replicas (separate `fleetgate serve` processes, own data directories and ports) on one
 * throwaway PostgreSQL and one `fleetgate sim`: writes on one replica reach the others, a token
 * revoked on one is refused by all, the prober role moves when its holder dies, and a PostgreSQL
 * restart mid-run costs no read and no row. Needs dist/ (npm run build).
 */
import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distPath } from '../../src/util/paths.js';
import { splitContexts } from '../../src/k8s/kubeconfig.js';
import { ChurnDriver, type StableCluster } from '../../load/churn.js';
import { FindingLog, zeroCounts } from '../../load/corruption.js';
import { WriteRegistry } from '../../load/registry.js';
import { buildMix, kDefaultMix, runLoad } from '../../load/scenario.js';
import { stableDescription } from '../../load/scheme.js';
import { HttpSimControl } from '../../load/sim-control.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { eventually, startServer, type ServerHandle } from '../helpers/server.js';
import { clusterList, kSharedAdmin, names, proberOf, startReplica, startSim, type SimProcess } from './helpers.js';

const built = existsSync(distPath('src', 'commands', 'serve.js'));
if (!built) console.warn('test/replicas: skipped: dist/ is not built (run `npm run build` first)');

/** Cap for waits on another replica (event-driven polling, generous for a loaded machine). */
const kCap = 15_000;

describe.skipIf(!built)('three replicas on one PostgreSQL', () => {
  let db: PgServer;
  let url: string;
  let sim: SimProcess;
  let replicas: ServerHandle[] = [];

  beforeAll(async () => {
    db = await startPostgres();
    url = db.createDatabase('fleetgate_replicas');
    sim = await startSim(3);
    // A imports the simulator's kubeconfig at first start; B and C find the table filled.
    const a = await startReplica(url, ['--kubeconfig', sim.kubeconfig, '--sync-interval', '2s']);
    const [b, c] = await Promise.all([startReplica(url, ['--sync-interval', '2s']), startReplica(url, ['--sync-interval', '2s'])]);
    replicas = [a, b, c];
  }, 120_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await sim?.stop();
    db?.stop();
  });

  it('every replica serves the registry, with versions found by the one prober', async () => {
    for (const r of replicas) {
      const list = await eventually(async () => {
        const l = await clusterList(r);
        return l.length === 3 && l.every((c) => c.version !== '') && l;
      }, kCap);
      expect(names(list)).toEqual(['sim-0001', 'sim-0002', 'sim-0003']);
    }
    await eventually(async () => proberOf(replicas).length === 1, kCap);
  });

  it('a cluster added, renamed, disabled and deleted on A is seen by B and C', async () => {
    const [a, b, c] = replicas as [ServerHandle, ServerHandle, ServerHandle];
    const kc = await (await fetch(`${sim.controlUrl}/clusters/sim-0001/kubeconfig`)).text();
    const created = await a.send('POST', '/api/v1/admin/clusters', { name: 'extra', config: kc });
    expect(created.status).toBe(201);
    const id = created.json().id as number;
    // Read-your-writes on the replica that took the write: no waiting.
    expect(names(await clusterList(a))).toContain('extra');
    for (const r of [b, c]) await eventually(async () => names(await clusterList(r)).includes('extra'), kCap);

    expect((await a.send('PUT', `/api/v1/admin/clusters/${id}`, { name: 'extra-2' })).status).toBe(200);
    for (const r of [b, c]) {
      await eventually(async () => {
        const n = names(await clusterList(r));
        return n.includes('extra-2') && !n.includes('extra');
      }, kCap);
    }

    expect((await a.send('PUT', `/api/v1/admin/clusters/${id}`, { enabled: false })).status).toBe(200);
    for (const r of [b, c]) {
      await eventually(async () => {
        const rows = (await r.get('/api/v1/admin/clusters', { authorization: `Bearer ${kSharedAdmin}` })).json() as { name: string; enabled: boolean; state: string }[];
        const row = rows.find((x) => x.name === 'extra-2');
        return row?.enabled === false && row.state === 'disabled';
      }, kCap);
    }

    expect((await a.send('DELETE', `/api/v1/admin/clusters/${id}`)).status).toBe(200);
    expect(names(await clusterList(a))).not.toContain('extra-2');
    for (const r of [b, c]) await eventually(async () => !names(await clusterList(r)).includes('extra-2'), kCap);
  });

  it('a token created on A works on B and C at once; revoked on B, A and C refuse it', async () => {
    const [a, b, c] = replicas as [ServerHandle, ServerHandle, ServerHandle];
    const made = await a.send('POST', '/api/v1/admin/tokens', { name: 'dev', role: 'viewer', clusters: ['*'] });
    expect(made.status).toBe(201);
    const { id, token } = made.json() as { id: number; token: string };
    for (const r of [a, b, c]) expect(names(await clusterList(r, token))).toEqual(['sim-0001', 'sim-0002', 'sim-0003']);
    // Created without clusters: no rules, so nothing, on every replica.
    const unscoped = await a.send('POST', '/api/v1/admin/tokens', { name: 'unscoped', role: 'viewer' });
    expect(unscoped.status).toBe(201);
    expect(unscoped.json().clusters).toEqual([]);
    const bare = { authorization: `Bearer ${unscoped.json().token as string}` };
    for (const r of [a, b, c]) {
      expect(names(await clusterList(r, unscoped.json().token))).toEqual([]);
      expect((await r.get('/k8s/sim-0001/api/v1/namespaces', bare)).status).toBe(403);
    }

    expect((await b.send('DELETE', `/api/v1/admin/tokens/${id}`)).status).toBe(200);
    expect((await b.get('/api/v1/clusters', { authorization: `Bearer ${token}` })).status).toBe(401);
    for (const r of [a, c]) {
      await eventually(async () => (await r.get('/api/v1/clusters', { authorization: `Bearer ${token}` })).status === 401, kCap);
    }
  });

  it('a group edited on A changes what a group-scoped token sees on B and C; audit records land in the shared table', async () => {
    const [a, b, c] = replicas as [ServerHandle, ServerHandle, ServerHandle];
    const g = await a.send('POST', '/api/v1/admin/groups', { name: 'team', clusters: ['sim-0001', 'sim-0002'] });
    expect(g.status).toBe(201);
    const made = await a.send('POST', '/api/v1/admin/tokens', { name: 'team-viewer', role: 'viewer', clusters: ['group:team', '!sim-0002'] });
    expect(made.status).toBe(201);
    const auth = { authorization: `Bearer ${made.json().token}` };
    const seen = async (r: ServerHandle) => names(await clusterList(r, made.json().token));
    expect(await seen(a)).toEqual(['sim-0001']);
    for (const r of [b, c]) await eventually(async () => (await seen(r)).join() === 'sim-0001', kCap);
    expect((await a.send('PUT', '/api/v1/admin/groups/team', { clusters: ['sim-0003'] })).status).toBe(200);
    expect(await seen(a)).toEqual(['sim-0003']);
    for (const r of [b, c]) {
      await eventually(async () => (await seen(r)).join() === 'sim-0003', kCap);
      expect((await r.get('/k8s/sim-0001/api/v1/namespaces', auth)).status).toBe(403);
    }
    // The refusals on B and C, and the writes on A, are all in the one audit table.
    const audit = await eventually(async () => {
      const items = (await c.get(`/api/v1/admin/audit?token=team-viewer&limit=1000`)).json().items as { status: number; route: string }[];
      return items.filter((x) => x.status === 403 && x.route === '/k8s/sim-0001/api/v1/namespaces').length >= 2 && items;
    }, kCap);
    expect(audit.length).toBeGreaterThanOrEqual(2);
    const writes = (await b.get('/api/v1/admin/audit?limit=1000')).json().items as { kind: string; route: string }[];
    expect(writes.some((x) => x.kind === 'admin' && x.route === '/api/v1/admin/groups/team')).toBe(true);
  });

  it('the load suite\'s verifier reads all three while the churn writes through one: zero findings', async () => {
    const [a] = replicas as [ServerHandle];
    const lsim = await startSim(3, ['--prefix', 'lsim', '--pods', '3']);
    try {
      const registry = new WriteRegistry('churn', true);
      // Rows already in the registry (the first simulator's) are stable as they are.
      const simInfo = (await (await fetch(`${sim.controlUrl}/clusters`)).json()) as { name: string; version: string }[];
      for (const c of simInfo) registry.recordSimVersion(c.name, c.version);
      const rows = (await a.get('/api/v1/admin/clusters', { authorization: `Bearer ${kSharedAdmin}` })).json() as { name: string; description: string }[];
      for (const r of rows) registry.recordStable(r.name, r.name, r.description);
      // The load simulator: two stable clusters the load reads, one behind the churn slots.
      const info = (await (await fetch(`${lsim.controlUrl}/clusters`)).json()) as { name: string; version: string }[];
      for (const c of info) registry.recordSimVersion(c.name, c.version);
      const byName = new Map(splitContexts(readFileSync(lsim.kubeconfig, 'utf8')).map((c) => [c.name, c.kubeconfig]));
      const stable: StableCluster[] = [];
      for (const c of info.slice(0, 2)) {
        const description = stableDescription(c.name, 0);
        registry.recordStable(c.name, c.name, description);
        const res = await a.send('POST', '/api/v1/admin/clusters', { name: c.name, description, config: byName.get(c.name) });
        expect(res.status).toBe(201);
        stable.push({ id: res.json().id as number, name: c.name, d: 0 });
      }
      // A answered those writes once its own index had them; B and C see them within a sync pass
      // of their own. Start the loads once every replica lists every stable cluster, or their
      // first lists would rightly report one missing.
      for (const r of replicas) {
        await eventually(async () => {
          const listed = new Set(names(await clusterList(r)));
          return [...registry.stable].every((s) => listed.has(s));
        }, kCap);
      }
      const churn = new ChurnDriver({
        baseUrl: a.url,
        adminToken: kSharedAdmin,
        registry,
        targets: info.slice(2).map((c) => ({ name: c.name, kubeconfig: byName.get(c.name)! })),
        versionSims: info.map((c) => c.name),
        stable,
        sim: new HttpSimControl(lsim.controlUrl),
        slots: 2,
        ratePerSec: 8,
        concurrency: 2,
        syncEveryMs: 250,
      });
      const mix = buildMix(stable.map((s) => s.name), kDefaultMix);
      const findings = replicas.map(() => new FindingLog(3));
      const loads = await Promise.all(
        replicas.map((r, i) =>
          runLoad({
            baseUrl: r.url,
            token: kSharedAdmin,
            durationSec: 4,
            connections: 2,
            mix,
            registry,
            verify: { requireAnnotation: true },
            findings: findings[i]!,
            onStart: i === 0 ? () => churn.start() : undefined,
          }),
        ),
      );
      const stats = await churn.stop();
      expect(Object.values(stats.ops).reduce((n, o) => n + o.ok, 0)).toBeGreaterThan(0);
      loads.forEach((load, i) => {
        expect(load.requests).toBeGreaterThan(0);
        expect(load.requests).toBe(load.autocannonResponses);
        expect(load.errors).toEqual({});
        // Every class: torn, caught, error, missing.
        expect(findings[i]!.byClass, JSON.stringify(findings[i]!.topReasons())).toEqual(zeroCounts());
      });
    } finally {
      await lsim.stop();
    }
  });

  it('a replica with another encryption key refuses to start and writes nothing', async () => {
    const probe = new pg.Client({ connectionString: url });
    await probe.connect();
    // Registry rows only: the prober keeps writing probe results (and the revision) meanwhile.
    const registry = async () =>
      JSON.stringify([
        (await probe.query('SELECT id, name, updated_at, config FROM clusters ORDER BY id')).rows,
        (await probe.query('SELECT id, hash FROM tokens ORDER BY id')).rows,
        (await probe.query('SELECT key, value FROM meta ORDER BY key')).rows,
      ]);
    try {
      const before = await registry();
      const err = await startServer(['--database', url, '--workers', '1', '--tls-port', 'off'], {
        env: { FLEETGATE_ENCRYPTION_KEY: 'd'.repeat(64), FLEETGATE_ADMIN_TOKEN: kSharedAdmin + '-other' },
      }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/does not match the key check/);
      expect(err?.message).toMatch(/every replica must use the same key/);
      expect(err?.message).not.toContain('d'.repeat(64));
      expect(await registry()).toBe(before);
    } finally {
      await probe.end();
    }
  });

  it('when the prober dies another replica takes over and keeps versions current', async () => {
    const [prober] = proberOf(replicas);
    expect(prober).toBeDefined();
    prober!.child.kill('SIGKILL');
    await new Promise((resolve) => (prober!.child.exitCode !== null ? resolve(null) : prober!.child.once('exit', resolve)));
    const survivors = replicas.filter((r) => r !== prober);
    await eventually(async () => proberOf(survivors).length === 1, kCap);
    // The new prober's periodic probe finds a version that changed after the old one died.
    const res = await fetch(`${sim.controlUrl}/clusters/sim-0002/version`, { method: 'POST', body: JSON.stringify({ gitVersion: 'v1.33.7' }) });
    expect(res.status).toBe(200);
    for (const r of survivors) {
      await eventually(async () => (await clusterList(r)).find((c) => c.name === 'sim-0002')?.version === 'v1.33.7', kCap);
    }
    replicas = survivors;
  });

  it('PostgreSQL restarts mid-run: reads never fail, writes fail cleanly then succeed, no row is lost', async () => {
    const [x, y] = replicas as [ServerHandle, ServerHandle];
    const before = names(await clusterList(x));
    const kc = await (await fetch(`${sim.controlUrl}/clusters/sim-0003/kubeconfig`)).text();
    let reads = 0;
    const readAll = async () => {
      for (const r of replicas) {
        expect(names(await clusterList(r))).toEqual(before);
        reads++;
      }
    };

    db.stopServer();
    try {
      for (const r of replicas) {
        await eventually(async () => {
          await readAll();
          const ready = await r.get('/readyz');
          return ready.status === 200 && /degraded: database unreachable since \d{4}-/.test(ready.json().message ?? '');
        }, kCap).catch(async (e: Error) => {
          throw new Error(`${e.message}; /readyz: ${(await r.get('/readyz')).body}; output:\n${r.output()}`);
        });
      }
      const refused = await x.send('POST', '/api/v1/admin/clusters', { name: 'during-outage', config: kc });
      expect(refused.status).toBe(503);
      expect(refused.json().error).toMatch(/database is unreachable/);
      await readAll();
    } finally {
      db.startServer();
    }
    expect(reads).toBeGreaterThan(0);

    // Back: a write succeeds (once the pool reconnects), is read back at once on the replica that
    // took it, and reaches the other one; every earlier row is still there.
    let last = '';
    const added = await eventually(async () => {
      const r = await x.send('POST', '/api/v1/admin/clusters', { name: 'after-outage', config: kc });
      last = `${r.status} ${r.body}`;
      return r.status === 201 && r;
    }, kCap).catch((e: Error) => {
      throw new Error(`${e.message}; last answer ${last}; output:\n${x.output()}`);
    });
    expect(added.json().name).toBe('after-outage');
    expect(names(await clusterList(x))).toEqual([...before, 'after-outage'].sort());
    await eventually(async () => names(await clusterList(y)).includes('after-outage'), kCap);
    for (const r of replicas) {
      await eventually(async () => (await r.get('/readyz')).json().status === 'ready', kCap).catch((e: Error) => {
        throw new Error(`${e.message}; readyz never ready again; output:\n${r.output()}`);
      });
      expect(names(await clusterList(r))).toEqual([...before, 'after-outage'].sort());
    }
  });

  it('two rows whose sealed kubeconfigs are swapped in the database error those clusters on every replica, naming no secret; the rest serve; swapped back, nothing is lost', async () => {
    const secrets = [...readFileSync(sim.kubeconfig, 'utf8').matchAll(/token: *"?([^"\s]+)/g)].map((m) => m[1]!);
    expect(secrets.length).toBeGreaterThan(0);
    const probe = new pg.Client({ connectionString: url });
    await probe.connect();
    const blob = async (name: string) => (await probe.query<{ config: Buffer }>('SELECT config FROM clusters WHERE name = $1', [name])).rows[0]!.config;
    const put = async (pairs: Array<[string, Buffer]>) => {
      await probe.query('BEGIN');
      for (const [name, v] of pairs) await probe.query('UPDATE clusters SET config = $1 WHERE name = $2', [v, name]);
      await probe.query('COMMIT');
    };
    const states = async (r: ServerHandle) => {
      expect((await r.send('POST', '/api/v1/admin/sync?wait=true')).json().committed).toBe(true);
      return (await r.get('/api/v1/clusters')).json() as Array<{ name: string; state: string; error: string }>;
    };
    try {
      const [one, two] = [await blob('sim-0001'), await blob('sim-0002')];
      expect([one[0], two[0]]).toEqual([2, 2]); // written bound to their row
      await put([['sim-0001', two], ['sim-0002', one]]);
      for (const r of replicas) {
        const list = await states(r);
        for (const name of ['sim-0001', 'sim-0002']) {
          const c = list.find((x) => x.name === name)!;
          expect([name, c.state]).toEqual([name, 'error']);
          expect(c.error).toMatch(new RegExp(`cannot decrypt the kubeconfig of cluster "${name}"`));
          for (const t of secrets) expect(c.error).not.toContain(t);
        }
        expect(list.find((x) => x.name === 'sim-0003')?.state).toBe('ok');
        expect((await r.get('/k8s/sim-0003/api/v1/namespaces')).status).toBe(200);
        const refused = await r.get('/api/v1/pods', { 'x-cluster-name': 'sim-0001' });
        expect(refused.status).toBe(503);
        for (const t of secrets) expect(refused.body).not.toContain(t);
      }
      await put([['sim-0001', one], ['sim-0002', two]]);
      for (const r of replicas) {
        for (const name of ['sim-0001', 'sim-0002']) {
          await eventually(async () => (await states(r)).find((x) => x.name === name)?.state === 'ok', kCap);
          expect((await r.get(`/k8s/${name}/api/v1/namespaces`)).status).toBe(200);
        }
      }
    } finally {
      await probe.end();
    }
  });
});
