/** Unit tests without servers: client cache keying (pairwise), lifecycle, metrics sums, selection helpers. */
import { describe, expect, it } from 'vitest';
import { UpstreamClientCache } from '../../src/upstream/client-cache.js';
import { HttpMetrics, renderHttpMetrics, sumHttpSnapshots } from '../../src/http/metrics.js';
import { resourceKind, resourcePath } from '../../src/k8s/resources.js';
import { cookieValue } from '../../src/http/select.js';
import { upstreamRequestHeaders } from '../../src/http/passthrough.js';
import type { IndexEntry, IndexHead } from '../../src/index/types.js';
import { inspect } from 'node:util';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getJson } from '../../src/upstream/call.js';

function entry(over: Partial<IndexEntry> & { token?: string } = {}): IndexEntry {
  const { token, ...rest } = over;
  return {
    id: 1,
    name: 'a',
    description: '',
    enabled: true,
    isDefault: false,
    inCluster: false,
    state: 'ok',
    version: 'v1',
    error: '',
    errorAt: 0,
    probedAt: 0,
    configHash: 'h1',
    generation: 1,
    prometheusUrl: '',
    client: { server: 'https://127.0.0.1:6443', caData: '', certData: '', keyData: '', token: token ?? 'secret-token', tlsServerName: '', insecure: false, proxyUrl: '' },
    indexGeneration: 1,
    ...rest,
  };
}

describe('UpstreamClientCache keying', () => {
  it('shares a client exactly when (id, generation, configHash) match', async () => {
    const cache = new UpstreamClientCache();
    const a = cache.acquire(entry());
    const same = cache.acquire(entry({ indexGeneration: 7, description: 'other', version: 'v2' }));
    expect(same).toBe(a);
    cache.release(a);
    cache.release(same);
    const newGen = cache.acquire(entry({ generation: 2 }));
    expect(newGen).not.toBe(a);
    expect(a.destroyed).toBe(true);
    cache.release(newGen);
    const newHash = cache.acquire(entry({ generation: 2, configHash: 'h2' }));
    expect(newHash).not.toBe(newGen);
    cache.release(newHash);
    const otherId = cache.acquire(entry({ id: 2, generation: 2, configHash: 'h2' }));
    expect(otherId).not.toBe(newHash);
    cache.release(otherId);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 4, created: 4, destroyed: 2, live: 2, retired: 0 });
    await cache.close();
    expect(cache.stats().live).toBe(0);
  });

  it('a stale copy (older generation) uses the newer client instead of thrashing', async () => {
    const cache = new UpstreamClientCache();
    const fresh = cache.acquire(entry({ generation: 3 }));
    const stale = cache.acquire(entry({ generation: 2, configHash: 'old' }));
    expect(stale).toBe(fresh);
    cache.release(fresh);
    cache.release(stale);
    await cache.close();
  });

  it('retires on sweep and destroys after the last release; misuse is loud', async () => {
    const cache = new UpstreamClientCache();
    const c = cache.acquire(entry());
    cache.retireMissing([]);
    expect(c.retired).toBe(true);
    expect(c.destroyed).toBe(false);
    expect(cache.stats().retired).toBe(1);
    cache.release(c);
    expect(c.destroyed).toBe(true);
    expect(() => cache.release(c)).toThrow(/release without acquire/);
    await cache.close();
    expect(() => cache.acquire(entry())).toThrow(/shutting down/);
  });

  it('with a head (no credentials) reads the whole entry only on a miss', async () => {
    const full: IndexEntry[] = [entry()];
    const reads: string[] = [];
    const cache = new UpstreamClientCache({
      fullEntry: (name) => {
        reads.push(name);
        return full.find((e) => e.name === name);
      },
    });
    const head = (e: IndexEntry): IndexHead => ({ ...e, client: { server: e.client.server } });
    const a = cache.acquire(head(entry()));
    const b = cache.acquire(head(entry({ indexGeneration: 4 })));
    expect(b).toBe(a);
    expect(reads).toEqual(['a']);
    // A commit between the head and the whole read: the client is keyed by the newer entry.
    full[0] = entry({ generation: 2, configHash: 'h2' });
    const c = cache.acquire(head(entry({ configHash: 'h-old', generation: 1 })));
    expect(reads).toEqual(['a', 'a']);
    expect(c).not.toBe(a);
    expect(c.generation).toBe(2);
    expect(cache.acquire(head(entry({ generation: 2, configHash: 'h2' })))).toBe(c);
    expect(reads.length).toBe(2);
    // The cluster vanished between the head and the whole read.
    full.length = 0;
    expect(() => cache.acquire(head(entry({ id: 9, name: 'gone' })))).toThrow(/cluster "gone" not found/);
    for (const x of [a, b, c, c]) cache.release(x);
    await cache.close();
    expect(() => new UpstreamClientCache().acquire(head(entry()))).toThrow(/needs options.fullEntry/);
  });

  it('redacts credentials when printed', async () => {
    const cache = new UpstreamClientCache();
    const c = cache.acquire(entry());
    for (const text of [String(c), inspect(c), JSON.stringify({ c })]) expect(text).not.toContain('secret-token');
    cache.release(c);
    await cache.close();
  });
});

describe('UpstreamClientCache through a proxy-url', () => {
  it('a plain-http API server behind an http proxy: absolute-form requests with Proxy-Authorization', async () => {
    const api = createServer((req, res) => res.end(JSON.stringify({ path: req.url, auth: req.headers.authorization ?? '' })));
    const seen: Array<{ url: string; proxyAuth: string; host: string }> = [];
    const proxy = createServer((req, res) => {
      seen.push({ url: req.url ?? '', proxyAuth: String(req.headers['proxy-authorization'] ?? ''), host: String(req.headers.host ?? '') });
      const target = new URL(req.url ?? '');
      const up = httpRequest({ host: target.hostname, port: target.port, path: target.pathname + target.search, headers: { authorization: req.headers.authorization ?? '' } }, (r) => r.pipe(res));
      up.end();
    });
    const listen = (srv: Server) => new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as AddressInfo).port)));
    const [apiPort, proxyPort] = [await listen(api), await listen(proxy)];
    const cache = new UpstreamClientCache();
    try {
      const client = cache.acquire(entry({ client: { ...entry().client, server: `http://127.0.0.1:${apiPort}/base`, proxyUrl: `http://u:p%40ss@127.0.0.1:${proxyPort}` } }));
      const got = await getJson<{ path: string; auth: string }>(cache, client, '/version?x=1', 2000); // releases the client
      expect(got).toEqual({ path: '/base/version?x=1', auth: 'Bearer secret-token' });
      expect(seen).toEqual([{ url: `http://127.0.0.1:${apiPort}/base/version?x=1`, proxyAuth: `Basic ${Buffer.from('u:p@ss').toString('base64')}`, host: `127.0.0.1:${apiPort}` }]);
      for (const text of [String(client), inspect(client)]) expect(text).not.toContain('p%40ss');
    } finally {
      await cache.close();
      for (const srv of [api, proxy]) {
        srv.closeAllConnections();
        await new Promise((r) => srv.close(r));
      }
    }
  });

  it('a proxy-url that is not http(s) is a 502 naming the cluster, not the URL', () => {
    const cache = new UpstreamClientCache();
    let err: unknown;
    try {
      cache.acquire(entry({ client: { ...entry().client, proxyUrl: 'socks5://user:hunter2@10.0.0.1:1080' } }));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ status: 502, message: 'cluster "a": invalid proxy URL (only http and https proxies are supported)' });
  });
});

describe('metrics', () => {
  it('sums snapshots across workers and renders Prometheus text', () => {
    const m1 = new HttpMetrics();
    const m2 = new HttpMetrics();
    m1.observe('/api/v1/clusters', 'GET', 200, 0.002);
    m1.observe('/api/v1/clusters', 'GET', 200, 0.2);
    m2.observe('/api/v1/clusters', 'GET', 200, 0.0005);
    m2.observe('/k8s/:cluster/*', 'POST', 403, 0.001);
    const up = { hits: 3, misses: 1, created: 1, destroyed: 0, live: 1, retired: 0 };
    const sum = sumHttpSnapshots([m1.snapshot(up), JSON.parse(JSON.stringify(m2.snapshot(up)))]);
    expect(sum.requests['/api/v1/clusters\tGET\t200']).toBe(3);
    expect(sum.upstream.hits).toBe(6);
    const text = renderHttpMetrics(sum);
    expect(text).toContain('fleetgate_http_requests_total{route="/api/v1/clusters",method="GET",status="200"} 3');
    expect(text).toContain('fleetgate_http_request_duration_seconds_bucket{route="/api/v1/clusters",le="0.001"} 1');
    expect(text).toContain('fleetgate_http_request_duration_seconds_bucket{route="/api/v1/clusters",le="0.0025"} 2');
    expect(text).toContain('fleetgate_http_request_duration_seconds_count{route="/api/v1/clusters"} 3');
    expect(text).toContain('fleetgate_upstream_agent_cache_total{result="hit"} 6');
  });
});

describe('helpers', () => {
  it('maps kinds to API paths', () => {
    expect(resourcePath(resourceKind('pods')!, '')).toBe('/api/v1/pods');
    expect(resourcePath(resourceKind('pods')!, 'ns', 'p')).toBe('/api/v1/namespaces/ns/pods/p');
    expect(resourcePath(resourceKind('ingresses')!, 'ns')).toBe('/apis/networking.k8s.io/v1/namespaces/ns/ingresses');
    expect(resourcePath(resourceKind('nodes')!, 'ignored', 'n1')).toBe('/api/v1/nodes/n1');
    expect(resourceKind('constructor')).toBeUndefined();
    expect(resourceKind('__proto__')).toBeUndefined();
  });

  it('parses cookies', () => {
    expect(cookieValue('a=1; x-cluster-name=prod%2Dbeta; b=2', 'x-cluster-name')).toBe('prod-beta');
    expect(cookieValue('x-cluster-name="q"', 'x-cluster-name')).toBe('q');
    expect(cookieValue('xx-cluster-name=1', 'x-cluster-name')).toBe('');
    expect(cookieValue(undefined, 'x-cluster-name')).toBe('');
  });

  it('never forwards the caller credentials or hop-by-hop headers', () => {
    const h = upstreamRequestHeaders(
      { authorization: 'Bearer x', cookie: 'c', connection: 'keep-alive', host: 'h', 'x-remote-user': 'root', 'impersonate-user': 'u', accept: 'a', 'content-type': 't', 'transfer-encoding': 'chunked', expect: '100-continue' },
      false,
    );
    // A body without Content-Length goes up chunked anyway (undici frames it); Expect is this hop's.
    expect(h).toEqual({ accept: 'a', 'content-type': 't' });
    expect(upstreamRequestHeaders({ 'impersonate-user': 'u' }, true)).toEqual({ 'impersonate-user': 'u' });
  });
});
