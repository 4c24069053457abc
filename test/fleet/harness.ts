/**
 * Test and benchmark harness for fleet queries: an index of simulated clusters in a real shared
 * region, tokens, and an Express app wired like an HTTP worker's (requireAuth on /api, the Kite
 * cluster list, the fleet router at /api/v1/fleet, the app's error handler).
 */
import express from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireAuth, TokenVerifier } from '../../src/http/auth.js';
import type { ClusterDirectory, Role, TokenRecord, TokenStoreLike } from '../../src/http/deps.js';
import { errorHandler } from '../../src/http/errors.js';
import { HttpError } from '../../src/util/http-error.js';
import { registerClusterRoutes } from '../../src/http/routes/clusters.js';
import type { FleetService } from '../../src/fleet/index.js';
import type { IndexEntryInput } from '../../src/index/types.js';
import type { SimCluster } from '../../src/sim/index.js';

/** Index entries for simulated clusters (ids from 1, the first is the default). */
export function simEntries(clusters: readonly Pick<SimCluster, 'name' | 'server' | 'token' | 'version' | 'caPem'>[], gen = 1): IndexEntryInput[] {
  return clusters.map((c, i) => ({
    id: i + 1,
    name: c.name,
    description: `simulated ${c.name}`,
    enabled: true,
    isDefault: i === 0,
    inCluster: false,
    state: 'ok',
    version: c.version,
    error: '',
    errorAt: 0,
    probedAt: Date.now(),
    configHash: `hash-${c.name}-${gen}`,
    generation: gen,
    prometheusUrl: '',
    client: { server: c.server, caData: c.caPem, certData: '', keyData: '', token: c.token, tlsServerName: '', insecure: false, proxyUrl: '' },
  }));
}

/** Fixed tokens: secret → record. */
export class StaticTokens implements TokenStoreLike {
  private readonly bySecret = new Map<string, TokenRecord>();

  add(secret: string, name: string, role: Role, clusters: string[] | null = null): string {
    this.bySecret.set(secret, { id: this.bySecret.size + 1, name, role, clusters, createdAt: 0 });
    return secret;
  }
  create(): never {
    throw new HttpError(501, 'static tokens');
  }
  list(): TokenRecord[] {
    return [...this.bySecret.values()];
  }
  delete(): never {
    throw new HttpError(501, 'static tokens');
  }
  verify(secret: string): TokenRecord | undefined {
    return this.bySecret.get(secret);
  }
}

export function fleetApp(directory: ClusterDirectory, tokens: TokenStoreLike, fleet: FleetService, log: (l: string) => void = () => {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use('/api', requireAuth(new TokenVerifier(tokens, 1000)));
  registerClusterRoutes(app, directory);
  app.use('/api/v1/fleet', fleet.router());
  app.use((req, _res, next) => next(new HttpError(404, `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(log));
  return app;
}

export async function listen(app: express.Express): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer({ keepAliveTimeout: 5000 }, app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    url,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function getJson(url: string, token: string): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body };
}
