/**
 * Streams end with their token. Through the real server (two HTTP workers) and the simulator:
 * watches and exec sessions opened with tokens that are then deleted are closed by fleetgate,
 * on whichever worker holds them; a stream of a token that was not deleted stays open. And one
 * token cannot hold more than --max-streams-per-token streams: one more is 429, other tokens are
 * not affected, and a closed stream frees its place.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { eventually, startServer, type ServerHandle } from '../helpers/server.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ clusters: 1, podsPerCluster: 2 });
});
afterAll(async () => {
  await sim?.stop();
});

interface Open {
  status: number;
  closed: Promise<void>;
  isClosed(): boolean;
  stop(): void;
}

/** A watch (or any GET): resolves with its status once headers arrive; `closed` when fleetgate ends it. */
function watch(server: ServerHandle, path: string, token: string): Promise<Open> {
  return new Promise((resolve, reject) => {
    const r: ClientRequest = httpRequest({ host: '127.0.0.1', port: server.port, path, headers: { authorization: `Bearer ${token}` } });
    r.on('response', (res: IncomingMessage) => {
      let done = false;
      const closed = new Promise<void>((c) => res.once('close', () => ((done = true), c())));
      res.resume();
      resolve({ status: res.statusCode ?? 0, closed, isClosed: () => done, stop: () => r.destroy() });
    });
    r.on('error', reject);
    r.end();
  });
}

/** An exec session over WebSocket (`cat` waits on stdin, so it stays open). */
function exec(server: ServerHandle, path: string, token: string): Promise<Open> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({
      host: '127.0.0.1',
      port: server.port,
      path,
      headers: {
        authorization: `Bearer ${token}`,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': Buffer.from('fleetgate-streams').toString('base64'),
        'sec-websocket-protocol': 'v5.channel.k8s.io',
      },
    });
    r.on('upgrade', (res: IncomingMessage, socket: Duplex) => {
      let done = false;
      const closed = new Promise<void>((c) => socket.once('close', () => ((done = true), c())));
      socket.resume();
      resolve({ status: res.statusCode ?? 0, closed, isClosed: () => done, stop: () => socket.destroy() });
    });
    r.on('response', (res) => resolve({ status: res.statusCode ?? 0, closed: Promise.resolve(), isClosed: () => true, stop: () => {} }));
    r.on('error', reject);
    r.end();
  });
}

describe('revoking a token ends its streams on every worker', () => {
  let server: ServerHandle;
  beforeAll(async () => {
    server = await startServer(['--workers', '2']);
    await eventually(async () => (await server.get('/readyz')).status === 200);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('watches and exec sessions close after DELETE /api/v1/admin/tokens/:id; other tokens keep theirs', async () => {
    const c = sim.clusters[0]!;
    const config = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'x', cluster: { server: c.server, 'certificate-authority-data': Buffer.from(c.caPem).toString('base64') } }],
      users: [{ name: 'x', user: { token: c.token } }],
      contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
      'current-context': 'x',
    });
    expect((await server.send('POST', '/api/v1/admin/clusters', { name: 'one', config })).status).toBe(201);
    await eventually(async () => (await server.get('/api/v1/clusters')).json()[0]?.state === 'ok', 30_000);
    const pods = (await server.get('/k8s/one/api/v1/pods?limit=1')).json();
    const { namespace: ns, name: pod } = pods.items[0].metadata;

    const viewer = (await server.send('POST', '/api/v1/admin/tokens', { name: 'leaving-viewer', role: 'viewer', clusters: ['*'] })).json();
    const admin = (await server.send('POST', '/api/v1/admin/tokens', { name: 'leaving-admin', role: 'admin' })).json();
    const watches = await Promise.all(Array.from({ length: 4 }, () => watch(server, '/k8s/one/api/v1/pods?watch=1', viewer.token)));
    const execPath = `/k8s/one/api/v1/namespaces/${ns}/pods/${pod}/exec?command=cat&stdin=true&stdout=true`;
    const sessions = await Promise.all(Array.from({ length: 2 }, () => exec(server, execPath, admin.token)));
    const bystander = await watch(server, '/k8s/one/api/v1/pods?watch=1', server.token);
    expect(watches.map((w) => w.status)).toEqual([200, 200, 200, 200]);
    expect(sessions.map((s) => s.status)).toEqual([101, 101]);
    expect(bystander.status).toBe(200);

    for (const t of [viewer, admin]) expect((await server.send('DELETE', `/api/v1/admin/tokens/${t.id}`)).status).toBe(200);
    await Promise.all([...watches, ...sessions].map((s) => s.closed));
    expect(bystander.isClosed()).toBe(false);
    bystander.stop();
  }, 60_000);
});

describe('--max-streams-per-token', () => {
  it('one stream over the cap is 429; other tokens are unaffected; a closed stream frees its place', async () => {
    const server = await startServer(['--sim', '1', '--workers', '1', '--max-streams-per-token', '2']);
    try {
      await eventually(async () => (await server.get('/api/v1/clusters')).json()[0]?.state === 'ok', 30_000);
      const name = (await server.get('/api/v1/clusters')).json()[0].name;
      const t = (await server.send('POST', '/api/v1/admin/tokens', { name: 'greedy', role: 'viewer', clusters: ['*'] })).json().token;
      const path = `/k8s/${name}/api/v1/pods?watch=1`;
      const first = await watch(server, path, t);
      const second = await watch(server, path, t);
      expect([first.status, second.status]).toEqual([200, 200]);
      const third = await server.get(path, { authorization: `Bearer ${t}` });
      expect(third.status).toBe(429);
      expect(third.json().error).toMatch(/limit is 2/);
      const other = await watch(server, path, server.token);
      expect(other.status).toBe(200);
      // A short read is not a stream and is never counted.
      expect((await server.get(`/k8s/${name}/api/v1/pods?limit=1`, { authorization: `Bearer ${t}` })).status).toBe(200);
      first.stop();
      const again = await eventually(async () => {
        const w = await watch(server, path, t);
        if (w.status === 200) return w;
        return undefined;
      });
      for (const w of [second, other, again]) w.stop();
    } finally {
      await server.stop();
    }
  }, 60_000);
});
