/**
 * Loopback HTTP control interface of a running simulator, for other processes (the load suite):
 *
 *   GET  /healthz                       "ok"
 *   GET  /clusters                      [{ name, server, port, version, token, viewerToken, fault }]
 *   GET  /clusters/NAME                 one of those
 *   POST /clusters/NAME/fault           body Partial<Fault>, e.g. {"down":true} → { name, fault }
 *   POST /clusters/NAME/version         body {"gitVersion":"v1.30.2"} → the cluster
 *   POST /clusters/NAME/rotate          new admin token (and client certificate with auth "cert");
 *                                       the old credential answers 401 → { name, token, kubeconfig }
 *   GET  /clusters/NAME/kubeconfig      one-context kubeconfig (YAML)
 *   GET  /kubeconfig                    kubeconfig of every cluster (YAML)
 *   GET  /stats                         { requests, byCluster, generatedClusters, streams }
 *
 * Errors are JSON { error } with 400/404/405. It listens on 127.0.0.1 only and has no
 * authentication: it is a test tool, like the simulated clusters themselves.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Simulator } from './types.js';

function json(res: http.ServerResponse, code: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
  res.end(s);
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      s += c;
      if (s.length > 1 << 20) req.destroy(new Error('body too large'));
    });
    req.on('end', () => {
      try {
        resolve(s.trim() ? JSON.parse(s) : {});
      } catch {
        reject(new Error('body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

export async function startControlServer(sim: Simulator, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const describe = (name: string) => {
    const c = sim.cluster(name);
    return { name: c.name, server: c.server, port: c.port, version: c.version, token: c.token, viewerToken: c.viewerToken, fault: sim.fault(name) };
  };
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const method = req.method ?? 'GET';
      if (method === 'GET' && url.pathname === '/healthz') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
        return;
      }
      if (method === 'GET' && url.pathname === '/stats') return json(res, 200, sim.stats());
      if (method === 'GET' && url.pathname === '/kubeconfig') {
        res.writeHead(200, { 'Content-Type': 'application/yaml' }).end(sim.kubeconfig());
        return;
      }
      if (parts[0] !== 'clusters') return json(res, 404, { error: `no route ${method} ${url.pathname}` });
      if (parts.length === 1) {
        if (method !== 'GET') return json(res, 405, { error: 'method not allowed' });
        return json(res, 200, sim.clusters.map((c) => describe(c.name)));
      }
      const name = parts[1];
      try {
        sim.cluster(name);
      } catch {
        return json(res, 404, { error: `no cluster named "${name}"` });
      }
      const action = parts[2] ?? '';
      if (parts.length > 3) return json(res, 404, { error: `no route ${method} ${url.pathname}` });
      if (!action) {
        if (method !== 'GET') return json(res, 405, { error: 'method not allowed' });
        return json(res, 200, describe(name));
      }
      if (action === 'kubeconfig' && method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'application/yaml' }).end(sim.singleKubeconfig(name));
        return;
      }
      if (method !== 'POST') return json(res, 405, { error: 'method not allowed' });
      let body: Record<string, unknown>;
      try {
        const b = await readJson(req);
        if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new Error('body must be a JSON object');
        body = b as Record<string, unknown>;
      } catch (e) {
        return json(res, 400, { error: (e as Error).message });
      }
      switch (action) {
        case 'fault': {
          const f: Record<string, unknown> = {};
          for (const k of ['latencyMs', 'errorRate', 'down', 'hang']) if (k in body) f[k] = body[k];
          const unknown = Object.keys(body).filter((k) => !(k in f));
          if (unknown.length) return json(res, 400, { error: `unknown fault field(s): ${unknown.join(', ')}` });
          if ('latencyMs' in f && (typeof f.latencyMs !== 'number' || f.latencyMs < 0)) return json(res, 400, { error: 'latencyMs must be a number >= 0' });
          if ('errorRate' in f && (typeof f.errorRate !== 'number' || f.errorRate < 0 || f.errorRate > 1)) return json(res, 400, { error: 'errorRate must be a number in 0..1' });
          for (const k of ['down', 'hang']) if (k in f && typeof f[k] !== 'boolean') return json(res, 400, { error: `${k} must be a boolean` });
          await sim.setFault(name, f);
          return json(res, 200, { name, fault: sim.fault(name) });
        }
        case 'version': {
          const v = body.gitVersion;
          if (typeof v !== 'string' || !/^v\d+\.\d+\.\d+/.test(v)) return json(res, 400, { error: 'gitVersion must look like v1.30.2' });
          sim.setVersion(name, v);
          return json(res, 200, describe(name));
        }
        case 'rotate': {
          const token = sim.rotateToken(name);
          const c = sim.cluster(name);
          if (c.clientCertPem) await sim.rotateClientCert(name);
          return json(res, 200, { name, token, kubeconfig: sim.singleKubeconfig(name) });
        }
        default:
          return json(res, 404, { error: `no route ${method} ${url.pathname}` });
      }
    } catch (e) {
      if (!res.headersSent) json(res, 500, { error: (e as Error).message });
      else res.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
