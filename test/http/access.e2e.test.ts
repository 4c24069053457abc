/**
 * Access that fits a team, through the real server (`fleetgate serve`, a child process, two HTTP
 * workers, the shared-memory index) in front of the simulator (in this process): scope rules with
 * patterns, exclusions and groups; groups edited with every worker following within one commit;
 * token expiry closing an open watch; the audit log and what it must never contain; bad input
 * refused with a clear 400 and nothing changed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { eventually, startServer, type ServerHandle } from '../helpers/server.js';

let sim: Simulator;
let server: ServerHandle;
let dir: string;
const secrets: string[] = [];

/** One request on a connection of its own (agent: false), so successive calls spread over the workers. */
function fresh(method: string, path: string, token: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: '127.0.0.1', port: server.port, method, path, agent: false, headers: { authorization: `Bearer ${token}`, ...headers } });
    r.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += String(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

async function json(method: string, path: string, body?: unknown, token = server.token): Promise<{ status: number; body: any }> {
  const r = await server.send(method, path, body, { authorization: `Bearer ${token}` });
  return { status: r.status, body: r.body === '' ? undefined : JSON.parse(r.body) };
}

async function names(token: string): Promise<string[]> {
  const r = await json('GET', '/api/v1/clusters', undefined, token);
  expect(r.status).toBe(200);
  return r.body.map((c: { name: string }) => c.name);
}

async function viewer(name: string, clusters: string[] | undefined, extra: Record<string, unknown> = {}): Promise<{ id: number; token: string }> {
  const r = await json('POST', '/api/v1/admin/tokens', { name, role: 'viewer', clusters, ...extra });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  secrets.push(r.body.token);
  return { id: r.body.id, token: r.body.token };
}

async function addCluster(name: string, simName: string): Promise<number> {
  const r = await json('POST', '/api/v1/admin/clusters', { name, config: sim.singleKubeconfig(simName) });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id;
}

beforeAll(async () => {
  sim = await startSimulator({ clusters: 4, podsPerCluster: 3 });
  for (const c of sim.clusters) secrets.push(c.token);
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-access-'));
  const kc = join(dir, 'sim.kubeconfig');
  writeFileSync(kc, sim.kubeconfig({ names: [sim.clusters[0]!.name] }));
  server = await startServer(['--kubeconfig', kc, '--workers', '2', '--audit-log', 'stdout']);
  secrets.push(server.token);
  await eventually(async () => (await server.get('/readyz')).status === 200, 30_000);
  await addCluster('prod-a', sim.clusters[1]!.name);
  await addCluster('prod-b', sim.clusters[2]!.name);
  await addCluster('dev-a', sim.clusters[3]!.name);
}, 90_000);

afterAll(async () => {
  await server?.stop();
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('scope rules', () => {
  it('a pattern token sees a cluster created after the token, with no token edit', async () => {
    const t = await viewer('prod-reader', ['prod-*']);
    expect(await names(t.token)).toEqual(['prod-a', 'prod-b']);
    const id = await addCluster('prod-late', sim.clusters[1]!.name);
    expect(await names(t.token)).toEqual(['prod-a', 'prod-b', 'prod-late']);
    expect((await fresh('GET', '/k8s/prod-late/api/v1/namespaces', t.token)).status).toBe(200);
    expect((await fresh('GET', '/k8s/dev-a/api/v1/namespaces', t.token)).status).toBe(403);
    expect((await json('DELETE', `/api/v1/admin/clusters/${id}`)).status).toBe(200);
  });

  it('an exclusion beats an earlier include; the last matching rule wins', async () => {
    const t = await viewer('prod-but-b', ['prod-*', '!prod-b']);
    expect(await names(t.token)).toEqual(['prod-a']);
    expect((await fresh('GET', '/k8s/prod-b/api/v1/namespaces', t.token)).status).toBe(403);
    expect((await fresh('GET', '/api/v1/pods', t.token, { 'x-cluster-name': 'prod-b' })).status).toBe(403);
    // The same rules the other way round: the include comes last and wins.
    const u = await viewer('b-after-all', ['!prod-b', 'prod-*']);
    expect(await names(u.token)).toEqual(['prod-a', 'prod-b']);
    // No rules: nothing, on every route.
    const none = await viewer('nothing', []);
    expect(await names(none.token)).toEqual([]);
    expect((await fresh('GET', `/k8s/${sim.clusters[0]!.name}/api/v1/namespaces`, none.token)).status).toBe(403);
    // A name outside the scope is refused whether or not the cluster exists.
    expect((await fresh('GET', '/k8s/no-such-cluster/api/v1/namespaces', t.token)).status).toBe(403);
    const overview = await json('GET', '/api/v1/fleet/overview', undefined, t.token);
    expect(overview.status).toBe(200);
    expect(overview.body.clusters.map((c: { cluster: string }) => c.cluster)).toEqual(['prod-a']);
  });
});

describe('a viewer created without clusters', () => {
  it('has no rules: the answer says clusters [], it lists nothing and every cluster route is 403; ["*"] sees every cluster', async () => {
    const all = await names(server.token);
    expect(all.length).toBeGreaterThanOrEqual(4);
    const made = await json('POST', '/api/v1/admin/tokens', { name: 'no-clusters-field', role: 'viewer' });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    secrets.push(made.body.token);
    expect(made.body.clusters).toEqual([]);
    const listed = (await json('GET', '/api/v1/admin/tokens')).body.find((x: { id: number }) => x.id === made.body.id);
    expect(listed.clusters).toEqual([]);
    const none = made.body.token as string;
    expect(await names(none)).toEqual([]);
    for (const c of all) {
      expect([c, (await fresh('GET', `/k8s/${c}/api/v1/namespaces`, none)).status]).toEqual([c, 403]);
      expect([c, (await fresh('GET', '/api/v1/pods', none, { 'x-cluster-name': c })).status]).toEqual([c, 403]);
    }
    const overview = await json('GET', '/api/v1/fleet/overview', undefined, none);
    expect(overview.status).toBe(200);
    expect(overview.body.clusters).toEqual([]);

    const every = await viewer('every-cluster', ['*']);
    expect(await names(every.token)).toEqual(all);
    for (const c of all) expect([c, (await fresh('GET', `/k8s/${c}/api/v1/namespaces`, every.token)).status]).toEqual([c, 200]);
  });
});

describe('cluster groups', () => {
  it('group rules follow membership; removing a cluster from a group removes access on every worker within one commit', async () => {
    const g = await json('POST', '/api/v1/admin/groups', { name: 'prod', clusters: ['prod-a', 'dev-a'] });
    expect(g.status, JSON.stringify(g.body)).toBe(201);
    expect(g.body).toMatchObject({ name: 'prod', clusters: ['dev-a', 'prod-a'] });
    const t = await viewer('prod-group', ['group:prod']);
    const list = (await json('GET', '/api/v1/clusters', undefined, t.token)).body;
    expect(list.map((c: { name: string; groups: string[] }) => [c.name, c.groups])).toEqual([['dev-a', ['prod']], ['prod-a', ['prod']]]);
    // 24 requests on fresh connections: with two workers behind one port (reusePort spreads
    // connections by their source port) the chance that one worker saw none of them is 2^-23.
    const before = await Promise.all(Array.from({ length: 24 }, () => fresh('GET', '/k8s/dev-a/api/v1/namespaces', t.token)));
    expect(before.map((r) => r.status)).toEqual(Array(24).fill(200));

    const put = await json('PUT', '/api/v1/admin/groups/prod', { removeClusters: ['dev-a'] });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.clusters).toEqual(['prod-a']);
    // The write answered after the commit holding it: no wait, no retry, on any worker.
    const after = await Promise.all(Array.from({ length: 24 }, () => fresh('GET', '/k8s/dev-a/api/v1/namespaces', t.token)));
    expect(after.map((r) => r.status)).toEqual(Array(24).fill(403));
    const lists = await Promise.all(Array.from({ length: 8 }, () => fresh('GET', '/api/v1/clusters', t.token)));
    for (const l of lists) expect(JSON.parse(l.body).map((c: { name: string }) => c.name)).toEqual(['prod-a']);
  });

  it('a rename carries the scope rules that name the group; a group in use cannot be deleted', async () => {
    const t = await viewer('renamed-reader', ['group:prod', '!dev-*']);
    const r = await json('PUT', '/api/v1/admin/groups/prod', { name: 'production' });
    expect(r.status).toBe(200);
    const tokens = (await json('GET', '/api/v1/admin/tokens')).body;
    expect(tokens.find((x: { id: number }) => x.id === t.id).clusters).toEqual(['group:production', '!dev-*']);
    expect(await names(t.token)).toEqual(['prod-a']);
    const del = await json('DELETE', '/api/v1/admin/groups/production');
    expect(del.status).toBe(409);
    expect(del.body.error).toMatch(/named in the scope of token/);
    expect((await json('GET', '/api/v1/admin/groups/production')).status).toBe(200);
    const spare = await json('POST', '/api/v1/admin/groups', { name: 'spare' });
    expect((await json('DELETE', `/api/v1/admin/groups/${spare.body.id}`)).status).toBe(200);
    expect((await json('GET', '/api/v1/admin/groups/spare')).status).toBe(404);
  });
});

describe('bad input gets a clear 400 and changes nothing', () => {
  it('tokens: unknown group, malformed pattern, expiry in the past, bad ttl', async () => {
    const before = (await json('GET', '/api/v1/admin/tokens')).body.length;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'x', role: 'viewer', clusters: ['group:nope'] }, /unknown group "nope"/],
      [{ name: 'x', role: 'viewer', clusters: ['prod/*'] }, /scope rule "prod\/\*" is malformed/],
      [{ name: 'x', role: 'viewer', clusters: ['group:'] }, /group name/],
      [{ name: 'x', role: 'viewer', expiresAt: '2001-01-01T00:00:00Z' }, /expiresAt .* is in the past/],
      [{ name: 'x', role: 'viewer', expiresAt: 'tomorrow' }, /ISO 8601/],
      [{ name: 'x', role: 'viewer', ttl: 'forever' }, /ttl must be a duration/],
      [{ name: 'x', role: 'viewer', ttl: '1h', expiresAt: '2099-01-01T00:00:00Z' }, /not both/],
    ];
    for (const [body, message] of cases) {
      const r = await json('POST', '/api/v1/admin/tokens', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toMatch(message);
    }
    expect((await json('GET', '/api/v1/admin/tokens')).body.length).toBe(before);
  });

  it('groups: unknown cluster, bad name, duplicate', async () => {
    const before = (await json('GET', '/api/v1/admin/groups')).body;
    const bad = await json('POST', '/api/v1/admin/groups', { name: 'staging', clusters: ['prod-a', 'nope'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/unknown cluster "nope"/);
    expect((await json('POST', '/api/v1/admin/groups', { name: 'a b' })).status).toBe(400);
    expect((await json('POST', '/api/v1/admin/groups', { name: 'production' })).status).toBe(409);
    const put = await json('PUT', '/api/v1/admin/groups/production', { addClusters: ['dev-a'], removeClusters: ['nope'] });
    expect(put.status).toBe(400);
    expect((await json('GET', '/api/v1/admin/groups')).body).toEqual(before);
  });
});

describe('expiry and last use', () => {
  it('an expired token is refused with "token expired" and its open watch closes', async () => {
    const t = await viewer('short-lived', ['prod-*'], { ttl: '3s' });
    const created = (await json('GET', '/api/v1/admin/tokens')).body.find((x: { id: number }) => x.id === t.id);
    expect(created.expiresAt).toBeGreaterThan(Date.now());
    const closed = new Promise<{ status: number }>((resolve, reject) => {
      const r = httpRequest({ host: '127.0.0.1', port: server.port, path: '/k8s/prod-a/api/v1/pods?watch=1', agent: false, headers: { authorization: `Bearer ${t.token}` } });
      r.on('response', (res: IncomingMessage) => {
        res.resume();
        res.on('close', () => resolve({ status: res.statusCode ?? 0 }));
      });
      r.on('error', () => resolve({ status: -1 }));
      r.setTimeout(60_000, () => reject(new Error('the watch stayed open past the token expiry')));
      r.end();
    });
    // The watch was admitted (200) and then ended by the expiry, not by the cluster.
    expect((await closed).status).toBe(200);
    const r = await fresh('GET', '/api/v1/clusters', t.token);
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).error).toBe('token expired');
    expect((await fresh('GET', '/k8s/prod-a/api/v1/namespaces', t.token)).status).toBe(401);
  });

  it('GET /api/v1/admin/tokens shows last use', async () => {
    const t = await viewer('used-once', ['prod-*']);
    expect((await fresh('GET', '/api/v1/clusters', t.token)).status).toBe(200);
    const seen = await eventually(async () => {
      const x = (await json('GET', '/api/v1/admin/tokens')).body.find((y: { id: number }) => y.id === t.id);
      return x.lastUsedAt !== null ? x : undefined;
    });
    expect(seen.lastUsedAt).toBeLessThanOrEqual(Date.now());
  });
});

describe('audit log', () => {
  it('records admin writes, upgrades with their pod and container, and refusals, and never a token or kubeconfig secret', async () => {
    const v = await viewer('auditee', ['prod-a']);
    // A refusal (403, cluster outside the scope) and one without a valid token (401).
    expect((await fresh('GET', '/k8s/dev-a/api/v1/namespaces', v.token)).status).toBe(403);
    const bogus = 'fg_' + randomBytes(16).toString('base64url');
    secrets.push(bogus);
    expect((await fresh('GET', '/api/v1/clusters', bogus)).status).toBe(401);
    // An exec upgrade (admin) with a command that must not be recorded, and a viewer's, refused.
    const pods = JSON.parse((await fresh('GET', '/k8s/prod-a/api/v1/pods?limit=1', server.token)).body);
    const ns = pods.items[0].metadata.namespace as string;
    const pod = pods.items[0].metadata.name as string;
    const command = 'echo-' + randomBytes(8).toString('hex');
    const exec = `/k8s/prod-a/api/v1/namespaces/${ns}/pods/${pod}/exec?container=main&command=echo&command=${command}&stdout=true`;
    const ws = {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': randomBytes(16).toString('base64'),
      'sec-websocket-protocol': 'v5.channel.k8s.io',
    };
    const upgrade = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const r = httpRequest({ host: '127.0.0.1', port: server.port, path: exec, agent: false, headers: { authorization: `Bearer ${token}`, ...ws } });
        r.on('upgrade', (res, socket) => {
          socket.destroy();
          resolve(res.statusCode ?? 0);
        });
        r.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        r.on('error', reject);
        r.end();
      });
    expect(await upgrade(server.token)).toBe(101);
    expect(await upgrade(v.token)).toBe(403);

    type Rec = { id: number; kind: string; tokenId: number | null; tokenName: string; route: string; cluster: string; namespace: string; pod: string; container: string; status: number; outcome: string; client: string; at: number };
    const all = async (query: string): Promise<{ items: Rec[]; text: string }> => {
      const items: Rec[] = [];
      let text = '';
      let after = '';
      for (;;) {
        const r = await server.get(`/api/v1/admin/audit?limit=7${query}${after}`);
        expect(r.status).toBe(200);
        text += r.body;
        const page = r.json();
        items.push(...page.items);
        if (page.next === null) return { items, text };
        after = `&after=${page.next}`;
      }
    };
    // Records are written in batches a moment after the request: wait for the last of them.
    const found = await eventually(async () => {
      const got = await all('');
      const upgrades = got.items.filter((x) => x.kind === 'upgrade');
      const refusedUpgrade = got.items.find((x) => x.kind === 'refused' && x.route.endsWith('/exec'));
      return upgrades.length >= 1 && refusedUpgrade && got.items.some((x) => x.status === 401 && x.tokenId === null) ? got : undefined;
    });
    const recs = found.items;
    expect(new Set(recs.map((x) => x.id)).size).toBe(recs.length); // pages neither repeat nor overlap
    const up = recs.find((x) => x.kind === 'upgrade')!;
    expect(up).toMatchObject({ cluster: 'prod-a', namespace: ns, pod, container: 'main', status: 101, tokenName: expect.stringMatching(/admin/) });
    expect(up.route).toBe(`/k8s/prod-a/api/v1/namespaces/${ns}/pods/${pod}/exec`);
    expect(up.client).toMatch(/127\.0\.0\.1/);
    expect(recs.find((x) => x.kind === 'refused' && x.route.endsWith('/exec'))).toMatchObject({ tokenId: v.id, tokenName: 'auditee', status: 403, pod, container: 'main' });
    expect(recs.find((x) => x.kind === 'refused' && x.cluster === 'dev-a' && x.tokenId === v.id)).toMatchObject({ status: 403, route: '/k8s/dev-a/api/v1/namespaces' });
    expect(recs.find((x) => x.kind === 'refused' && x.outcome === 'token expired')).toMatchObject({ tokenName: 'short-lived', status: 401 });
    const admin = recs.filter((x) => x.kind === 'admin');
    expect(admin.some((x) => x.route === '/api/v1/admin/clusters' && x.cluster === 'prod-a' && x.status === 201)).toBe(true);
    expect(admin.some((x) => x.route === '/api/v1/admin/groups/prod' && x.status === 200 && /updated group/.test(x.outcome))).toBe(true);
    expect(admin.some((x) => x.route === '/api/v1/admin/tokens' && x.outcome === `created viewer token "auditee" (id ${v.id})`)).toBe(true);
    expect(admin.some((x) => x.route === '/api/v1/admin/tokens' && x.status === 400 && /unknown group/.test(x.outcome))).toBe(true);
    // Filters: by token (id or name) and by cluster.
    const byToken = await all(`&token=${v.id}`);
    expect(byToken.items.length).toBeGreaterThanOrEqual(2);
    expect(byToken.items.every((x) => x.tokenId === v.id)).toBe(true);
    expect((await all('&token=auditee')).items.map((x) => x.id)).toEqual(byToken.items.map((x) => x.id));
    expect((await all('&cluster=dev-a')).items.every((x) => x.cluster === 'dev-a')).toBe(true);
    const since = (await all(`&since=${new Date(up.at).toISOString()}`)).items;
    expect(since.every((x) => x.at >= up.at) && since.some((x) => x.id === up.id)).toBe(true);
    expect((await server.get('/api/v1/admin/audit?since=yesterday')).status).toBe(400);
    // Never a token, a cluster credential, or the exec command.
    const stdout = server.output().split('\n').filter((l) => l.startsWith('{'));
    expect(stdout.some((l) => JSON.parse(l).kind === 'upgrade')).toBe(true);
    for (const text of [found.text, ...stdout]) {
      for (const s of secrets) expect(text).not.toContain(s);
      expect(text).not.toContain(command);
      expect(text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|certificate-authority-data/);
    }
  });
});
