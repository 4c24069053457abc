/**
 * The anchor of fullSync10kMs (bench/sync.bench.ts): a bare Node https client doing what the
 * sync worker's version probes do on the wire, and nothing else. One GET /version per client
 * config, `concurrency` in flight (the sync worker's probe concurrency), each on a fresh
 * connection with no TLS session reuse (agent: false, as probeVersion), the TLS options
 * probeVersion uses (servername, verification) with one secure context per distinct CA, as its
 * context cache keeps. Runs on its own thread, as the sync worker does, while the simulator
 * answers on the main thread. workerData: { configs, concurrency }; posts { ms, ok, failed }.
 */
import https from 'node:https';
import tls from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';
import type { ClientConfig } from '../src/index/types.js';
import { tlsOptionsOf } from '../src/k8s/index.js';

const { configs, concurrency } = workerData as { configs: ClientConfig[]; concurrency: number };
const contexts = new Map<string, tls.SecureContext>();

function get(c: ClientConfig): Promise<boolean> {
  const u = new URL(c.server);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const { ca: _ca, cert: _cert, key: _key, ...rest } = tlsOptionsOf(c, host);
  let secureContext = contexts.get(c.caData);
  if (!secureContext) contexts.set(c.caData, (secureContext = tls.createSecureContext({ ca: c.caData })));
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'fleetgate' };
  if (c.token) headers.authorization = `Bearer ${c.token}`;
  const options: https.RequestOptions = { host, port: Number(u.port || 443), path: '/version', method: 'GET', headers, agent: false, ...rest };
  Object.assign(options, { secureContext });
  return new Promise((resolve) => {
    const req = https.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 && typeof JSON.parse(Buffer.concat(chunks).toString('utf8')).gitVersion === 'string');
        } catch {
          resolve(false);
        }
      });
      res.on('error', () => resolve(false));
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

const t0 = performance.now();
let next = 0;
let ok = 0;
let failed = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < configs.length) {
      if (await get(configs[next++]!)) ok++;
      else failed++;
    }
  }),
);
parentPort!.postMessage({ ms: performance.now() - t0, ok, failed });
