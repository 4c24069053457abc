import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientConfig } from '../../src/index/types.js';
import { probeVersion } from '../../src/k8s/index.js';
import { fixture, kToken } from './helpers.js';

const ca = fixture('ca.crt');
const versionBody = JSON.stringify({ major: '1', minor: '31', gitVersion: 'v1.31.4-fg' });

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
async function listen<T extends net.Server>(server: T): Promise<number> {
  servers.push(server);
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

function cfg(over: Partial<ClientConfig>): ClientConfig {
  return { server: '', caData: '', certData: '', keyData: '', token: '', tlsServerName: '', insecure: false, proxyUrl: '', ...over };
}

/** The /version handler of a fake API server: token checked when `token` is set. */
function versionHandler(token?: string, prefix = '') {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.url !== `${prefix}/version`) {
      res.writeHead(404).end();
      return;
    }
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"kind":"Status","code":401}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(versionBody);
  };
}

let tlsPort = 0;
let mtlsPort = 0;
let altPort = 0;
let plainPort = 0;
let hangPort = 0;
let slowPort = 0;
let trickleBodyPort = 0;
let badJsonPort = 0;
let refusedPort = 0;
let proxyPort = 0;
let proxyConnects = 0;

beforeAll(async () => {
  tlsPort = await listen(https.createServer({ cert: fixture('server.crt'), key: fixture('server.key') }, versionHandler(kToken)));
  mtlsPort = await listen(
    https.createServer(
      { cert: fixture('server.crt'), key: fixture('server.key'), ca, requestCert: true, rejectUnauthorized: true },
      versionHandler(),
    ),
  );
  altPort = await listen(https.createServer({ cert: fixture('server-alt.crt'), key: fixture('server-alt.key') }, versionHandler()));
  plainPort = await listen(http.createServer(versionHandler(undefined, '/prefix/x')));
  hangPort = await listen(net.createServer(() => {})); // accepts, never answers
  slowPort = await listen(
    http.createServer((req, res) => {
      setTimeout(() => versionHandler()(req, res), 200);
    }),
  );
  trickleBodyPort = await listen(
    http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"gitVersion":'); // headers fast, body never finishes
    }),
  );
  badJsonPort = await listen(http.createServer((_req, res) => res.writeHead(200).end('<html>not json</html>')));
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  refusedPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    proxyConnects++;
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  proxyPort = await listen(proxy);
});

describe('probeVersion', () => {
  it('succeeds over https with CA and bearer token', async () => {
    const r = await probeVersion(cfg({ server: `https://127.0.0.1:${tlsPort}`, caData: ca, token: kToken }), { timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: true, gitVersion: 'v1.31.4-fg' });
    expect(r.ms).toBeGreaterThanOrEqual(0);
  });

  it('wrong token → HTTP 401 Unauthorized, without the token in the text', async () => {
    const r = await probeVersion(cfg({ server: `https://127.0.0.1:${tlsPort}`, caData: ca, token: 'wrong-' + kToken }), { timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: false, error: 'HTTP 401 Unauthorized' });
  });

  it('untrusted certificate fails; insecure succeeds', async () => {
    const bad = await probeVersion(cfg({ server: `https://127.0.0.1:${tlsPort}`, token: kToken }), { timeoutMs: 5000 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/certificate/i);
    const ok = await probeVersion(cfg({ server: `https://127.0.0.1:${tlsPort}`, token: kToken, insecure: true }), { timeoutMs: 5000 });
    expect(ok.ok).toBe(true);
  });

  it('mTLS: client certificate and key are presented', async () => {
    const server = `https://127.0.0.1:${mtlsPort}`;
    const ok = await probeVersion(cfg({ server, caData: ca, certData: fixture('client.crt'), keyData: fixture('client.key') }), {
      timeoutMs: 5000,
    });
    expect(ok).toMatchObject({ ok: true });
    const noCert = await probeVersion(cfg({ server, caData: ca }), { timeoutMs: 5000 });
    expect(noCert.ok).toBe(false);
  });

  it('tls-server-name is used for SNI and the certificate check', async () => {
    const server = `https://127.0.0.1:${altPort}`;
    const without = await probeVersion(cfg({ server, caData: ca }), { timeoutMs: 5000 });
    expect(without.ok).toBe(false);
    if (!without.ok) expect(without.error).toMatch(/altnames|does not match/i);
    const withName = await probeVersion(cfg({ server, caData: ca, tlsServerName: 'fleetgate-alt.test' }), { timeoutMs: 5000 });
    expect(withName).toMatchObject({ ok: true });
  });

  it('plain http, server URL with a path prefix', async () => {
    const r = await probeVersion(cfg({ server: `http://127.0.0.1:${plainPort}/prefix/x` }), { timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: true, gitVersion: 'v1.31.4-fg' });
  });

  it('https through an http CONNECT proxy', async () => {
    const before = proxyConnects;
    const r = await probeVersion(
      cfg({ server: `https://127.0.0.1:${tlsPort}`, caData: ca, token: kToken, proxyUrl: `http://127.0.0.1:${proxyPort}` }),
      { timeoutMs: 5000 },
    );
    expect(r).toMatchObject({ ok: true, gitVersion: 'v1.31.4-fg' });
    expect(proxyConnects).toBe(before + 1);
  });

  it('connection refused', async () => {
    const r = await probeVersion(cfg({ server: `http://127.0.0.1:${refusedPort}` }), { timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: false, error: `connect ECONNREFUSED 127.0.0.1:${refusedPort}` });
  });

  it('a server that accepts and never answers times out at the deadline', async () => {
    const r = await probeVersion(cfg({ server: `https://127.0.0.1:${hangPort}`, token: kToken }), { timeoutMs: 300 });
    expect(r).toMatchObject({ ok: false, error: 'timed out after 300 ms' });
    // Not before the deadline (the deadline's own timer is what answered, as the message says).
    expect(r.ms).toBeGreaterThanOrEqual(250);
  });

  it('the deadline covers the body too', async () => {
    const r = await probeVersion(cfg({ server: `http://127.0.0.1:${trickleBodyPort}` }), { timeoutMs: 300 });
    expect(r).toMatchObject({ ok: false, error: 'timed out after 300 ms' });
  });

  it('a slow server within the deadline succeeds', async () => {
    const r = await probeVersion(cfg({ server: `http://127.0.0.1:${slowPort}` }), { timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: true });
    expect(r.ms).toBeGreaterThanOrEqual(150);
  });

  it('bad JSON → invalid /version response', async () => {
    const r = await probeVersion(cfg({ server: `http://127.0.0.1:${badJsonPort}` }), { timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: false, error: 'invalid /version response' });
  });

  it('never rejects: bad URL and abort', async () => {
    await expect(probeVersion(cfg({ server: 'nonsense' }), { timeoutMs: 100 })).resolves.toMatchObject({ ok: false, error: 'invalid server URL' });
    const ac = new AbortController();
    const p = probeVersion(cfg({ server: `http://127.0.0.1:${hangPort}` }), { timeoutMs: 5000, signal: ac.signal });
    ac.abort();
    await expect(p).resolves.toMatchObject({ ok: false, error: 'aborted' });
  });

  it('probes in parallel: one hanging server does not delay another', async () => {
    let hangSettled = false;
    const hang = probeVersion(cfg({ server: `http://127.0.0.1:${hangPort}` }), { timeoutMs: 2000 }).finally(() => (hangSettled = true));
    const fast = await probeVersion(cfg({ server: `http://127.0.0.1:${plainPort}/prefix/x` }), { timeoutMs: 2000 });
    expect(fast.ok).toBe(true);
    // The hanging probe, started first, is still waiting for its deadline.
    expect(hangSettled).toBe(false);
    expect(await hang).toMatchObject({ ok: false, error: 'timed out after 2000 ms' });
  });

  it('reuses a supplied keep-alive agent', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const c = cfg({ server: `https://127.0.0.1:${tlsPort}`, caData: ca, token: kToken });
    const a = await probeVersion(c, { timeoutMs: 5000, agent });
    const b = await probeVersion(c, { timeoutMs: 5000, agent });
    expect(a.ok && b.ok).toBe(true);
    agent.destroy();
  });
});
