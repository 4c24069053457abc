/**
 * A tiny Kubernetes-like API server for the HTTP app's tests: a few core and apps objects, each
 * annotated with its cluster's name, bearer-token or client-certificate auth, a log of requests
 * (to check what fleetgate forwards, with a promise per count of requests seen), and faults (hang,
 * or hold every answer until a gate opens). HTTP or HTTPS with the test certificates of
 * test/k8s/fixtures.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/paths.js';

const fixtures = join(packageRoot, 'test/k8s/fixtures');
export const tlsFixtures = {
  ca: readFileSync(join(fixtures, 'ca.crt'), 'utf8'),
  serverCert: readFileSync(join(fixtures, 'server.crt'), 'utf8'),
  serverKey: readFileSync(join(fixtures, 'server.key'), 'utf8'),
  clientCert: readFileSync(join(fixtures, 'client.crt'), 'utf8'),
  clientKey: readFileSync(join(fixtures, 'client.key'), 'utf8'),
};

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  remotePort: number;
  clientCert: boolean;
}

export interface FakeK8s {
  name: string;
  server: string;
  token: string;
  seen: SeenRequest[];
  /** Resolves once `count` requests in all have been seen (recorded in `seen`, not yet answered). */
  seenCount(count: number): Promise<void>;
  /**
   * hang: never answer. hold: answer each request only once this promise settles. streamGate:
   * /stream sends its first chunk, then the rest only once this promise settles.
   */
  fault: { hang?: boolean; hold?: Promise<unknown>; streamGate?: Promise<unknown> };
  /** Distinct client connections seen (by remote port). */
  connections(): number;
  stop(): Promise<void>;
}

type Obj = Record<string, any>;

function meta(cluster: string, name: string, namespace?: string, labels: Record<string, string> = {}): Obj {
  return {
    name,
    ...(namespace ? { namespace } : {}),
    labels,
    annotations: { 'fleetgate.dev/cluster': cluster },
    creationTimestamp: '2025-01-01T00:00:00Z',
  };
}

function objects(cluster: string): Map<string, Obj[]> {
  const m = new Map<string, Obj[]>();
  m.set('/api/v1/nodes', [
    { kind: 'Node', metadata: meta(cluster, 'node-1'), status: { conditions: [{ type: 'Ready', status: 'True' }] } },
    { kind: 'Node', metadata: meta(cluster, 'node-2'), status: { conditions: [{ type: 'Ready', status: 'False' }] } },
  ]);
  m.set('/api/v1/namespaces', ['default', 'kube-system', 'team-a'].map((n) => ({ kind: 'Namespace', metadata: meta(cluster, n) })));
  m.set('/api/v1/pods', [
    { kind: 'Pod', metadata: meta(cluster, 'web-1', 'default', { app: 'web' }), status: { phase: 'Running' } },
    { kind: 'Pod', metadata: meta(cluster, 'web-2', 'default', { app: 'web' }), status: { phase: 'Pending' } },
    { kind: 'Pod', metadata: meta(cluster, 'dns-1', 'kube-system', { app: 'dns' }), status: { phase: 'Running' } },
  ]);
  m.set('/api/v1/services', [{ kind: 'Service', metadata: meta(cluster, 'web', 'default') }]);
  m.set('/api/v1/configmaps', [{ kind: 'ConfigMap', metadata: meta(cluster, 'settings', 'team-a'), data: { a: '1' } }]);
  m.set('/apis/apps/v1/deployments', [{ kind: 'Deployment', metadata: meta(cluster, 'web', 'default') }]);
  m.set('/apis/rbac.authorization.k8s.io/v1/clusterroles', [{ kind: 'ClusterRole', metadata: meta(cluster, 'admin') }]);
  return m;
}

function status(res: http.ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }));
}

export async function startFakeK8s(name: string, opts: { tls?: boolean; requireClientCert?: boolean; token?: string } = {}): Promise<FakeK8s> {
  const token = opts.token ?? `sim-token-${name}-${Math.random().toString(36).slice(2)}`;
  const store = objects(name);
  const seen: SeenRequest[] = [];
  const fault: FakeK8s['fault'] = {};
  const seenWaiters = new Set<{ count: number; resolve: () => void }>();
  const record = (r: SeenRequest) => {
    seen.push(r);
    for (const w of seenWaiters) {
      if (seen.length < w.count) continue;
      seenWaiters.delete(w);
      w.resolve();
    }
  };
  const sockets = new Set<Socket>();
  const ports = new Set<number>();

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const sock = req.socket as Socket & { getPeerCertificate?: () => { subject?: unknown } };
      const clientCert = !!(sock.getPeerCertificate && sock.getPeerCertificate()?.subject);
      ports.add(req.socket.remotePort ?? 0);
      const hold = fault.hold;
      record({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, remotePort: req.socket.remotePort ?? 0, clientCert });
      if (fault.hang) return; // never answer
      if (hold) await hold;
      if (!(opts.requireClientCert && clientCert) && req.headers.authorization !== `Bearer ${token}`) return status(res, 401, 'Unauthorized');
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      if (path === '/version') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ gitVersion: 'v1.30.0-fake' }));
      }
      if (path === '/stream') {
        // Three chunks, the last two held behind fault.streamGate: a proxy that buffered would
        // deliver nothing until the test opens the gate.
        const gate = fault.streamGate;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('chunk 0\n');
        await gate;
        res.write('chunk 1\n');
        return res.end('chunk 2\n');
      }
      if (path === '/headers') {
        // Repeated fields, the server's own spelling, and hop-by-hop fields a proxy must drop.
        res.writeHead(200, ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Warning', '199 - "one"', 'Warning', '199 - "two"', 'X-Mixed-Case', 'v', 'Keep-Alive', 'timeout=99', 'Proxy-Authenticate', 'Basic realm="up"', 'Trailer', 'X-Late', 'Upgrade', 'h2c']);
        return res.end('ok');
      }
      if (path === '/echo') {
        res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream', 'x-echo-length': String(body.length) });
        return res.end(body);
      }
      // /api/v1/namespaces/NS/KIND[/NAME] or /apis/G/V/namespaces/NS/KIND[/NAME] or cluster-wide
      const m = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(path);
      if (!m) return status(res, 404, `the server could not find the requested resource`);
      const [, prefix, ns, kind, objName] = m;
      const list = store.get(`${prefix}/${kind}`);
      if (!list) return status(res, 404, `the server could not find the requested resource`);
      if (req.method === 'POST') {
        const obj = JSON.parse(body) as Obj;
        obj.metadata = { ...obj.metadata, namespace: ns, annotations: { 'fleetgate.dev/cluster': name } };
        list.push(obj);
        res.writeHead(201, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(obj));
      }
      let items = list.filter((o) => ns === undefined || o.metadata.namespace === ns);
      const sel = url.searchParams.get('labelSelector');
      if (sel) {
        const [k, v] = sel.split('=');
        items = items.filter((o) => o.metadata.labels?.[k!] === v);
      }
      if (objName !== undefined) {
        const o = items.find((x) => x.metadata.name === objName);
        if (!o) return status(res, 404, `${kind} "${objName}" not found`);
        if (req.method === 'DELETE') {
          list.splice(list.indexOf(o), 1);
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ kind: 'Status', status: 'Success' }));
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(o));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items }));
    });
  };

  const server = opts.tls
    ? https.createServer(
        { cert: tlsFixtures.serverCert, key: tlsFixtures.serverKey, ca: tlsFixtures.ca, requestCert: !!opts.requireClientCert, rejectUnauthorized: false },
        handler,
      )
    : http.createServer(handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    server: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    token,
    seen,
    seenCount: (count) =>
      seen.length >= count ? Promise.resolve() : new Promise<void>((resolve) => seenWaiters.add({ count, resolve })),
    fault,
    connections: () => ports.size,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * Serves `app` on an ephemeral HTTP port and an ephemeral HTTPS port (tlsFixtures' server
 * certificate) on loopback, as the supervisor does: kubectl sends tokens only over TLS. With
 * `upgrades` (a FleetgateApp), they also pass connection upgrades on, as the HTTP worker's servers
 * do. close() drops every open connection and resolves once both servers have closed.
 */
export async function listenHttpAndHttps(
  app: http.RequestListener,
  upgrades?: { upgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void; shouldUpgrade: (req: http.IncomingMessage) => boolean },
): Promise<{ server: http.Server; tlsServer: https.Server; port: number; tlsPort: number; close(): Promise<void> }> {
  const options = upgrades ? { shouldUpgradeCallback: upgrades.shouldUpgrade } : {};
  const server = http.createServer(options, app);
  const tlsServer = https.createServer({ ...options, cert: tlsFixtures.serverCert, key: tlsFixtures.serverKey }, app);
  if (upgrades) for (const s of [server, tlsServer]) s.on('upgrade', upgrades.upgrade);
  await Promise.all([server, tlsServer].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  return {
    server,
    tlsServer,
    port: (server.address() as AddressInfo).port,
    tlsPort: (tlsServer.address() as AddressInfo).port,
    close: async () => {
      for (const s of [server, tlsServer]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  };
}
