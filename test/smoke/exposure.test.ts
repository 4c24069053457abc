// What the server hands out and to whom, through the real server: the kubeconfig download is
// never cached and, with --external-url, never built from the caller's Host header; the
// generated HTTPS certificate names the --tls-san hosts; --metrics-token closes /metrics.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startServer, type ServerHandle } from '../helpers/server.js';

const metricsToken = 'metrics-' + 'z'.repeat(40);
let server: ServerHandle;

beforeAll(async () => {
  server = await startServer(['--sim', '1', '--workers', '1', '--external-url', 'https://fleet.example.com:9443/', '--tls-san', 'fleet.example.com, 10.1.2.3', '--metrics-token', metricsToken]);
  await eventually(async () => (await server.get('/readyz')).status === 200);
});
afterAll(async () => {
  await server?.stop();
});

describe('exposure', () => {
  it('the kubeconfig download: no-store, and the server URL from --external-url whatever Host says', async () => {
    const name = (await server.get('/api/v1/clusters')).json()[0].name;
    const r = await fetch(`${server.url}/api/v1/clusters/${name}/kubeconfig`, { headers: { authorization: `Bearer ${server.token}`, host: 'evil.example:80' } });
    const text = await r.text();
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(text).toContain(`server: "https://fleet.example.com:9443/k8s/${name}"`);
    expect(text).not.toContain('evil.example');
  });

  it('the generated serving certificate names the --tls-san hosts as well as 127.0.0.1 and localhost', () => {
    const cert = new X509Certificate(readFileSync(join(server.dataDir, 'tls', 'tls.crt')));
    const sans = cert.subjectAltName ?? '';
    for (const want of ['IP Address:127.0.0.1', 'DNS:localhost', 'DNS:fleet.example.com', 'IP Address:10.1.2.3']) expect(sans).toContain(want);
  });

  it('/metrics needs the metrics token; an API token or none is 401', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await server.get('/metrics')).status).toBe(401);
    const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^fleetgate_index_generation /m);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
