/**
 * The simulated API servers. One TLS server object (never listening itself) holds the shared
 * certificate and request handler; each cluster owns a plain TCP listener on its own loopback
 * port that hands accepted sockets to it (server/listeners.ts). A request finds its cluster by
 * the socket's local port. This keeps 1,000+ clusters cheap: one secure context, one handler,
 * one fd per cluster.
 *
 * Faults act per cluster: `down` closes the listener and drops its connections (clients get
 * ECONNREFUSED; coming back up reuses the port), `hang` accepts and completes TLS but holds every
 * request unanswered until hang is lifted, `latencyMs` delays each answer, `errorRate` answers
 * that fraction of requests (seeded) with a 500 Status.
 *
 * The request path: faults, then health, authentication, /version and discovery, then a resource
 * route (server/route.ts) to a read (server/reads.ts), a write (server/writes.ts) or the scale
 * subresource (server/scale.ts); upgrades go to server/upgrade.ts.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { kDiscovery, resourceKey } from './resources.js';
import { authenticate, authorize, type User } from './server/auth.js';
import { noRoute, statusJson } from './server/errors.js';
import { Listeners } from './server/listeners.js';
import { get, list, watch } from './server/reads.js';
import { fail, send, sendError } from './server/respond.js';
import { parseRoute, verbOf, type Call, type Route } from './server/route.js';
import type { ClusterRuntime, Fault } from './server/runtime.js';
import { scale } from './server/scale.js';
import { serveUpgrade } from './server/upgrade.js';
import { create, deleteCollection, deleteOne, patch, update } from './server/writes.js';

export { ClusterRuntime, fingerprint256, newToken, type Fault } from './server/runtime.js';

export interface EngineOptions {
  auth: 'token' | 'cert';
  /** Choose listener ports sequentially in the ephemeral range instead of bind(0) (for many clusters). */
  sequentialPorts?: boolean;
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

/** All clusters of one simulator: the shared TLS server, the listeners and the request path. */
export class SimEngine {
  readonly tls: https.Server;
  readonly byName = new Map<string, ClusterRuntime>();
  requests = 0;
  /** Streaming sessions served, by "KIND TRANSPORT PROTOCOL" (e.g. "portforward spdy portforward.k8s.io"). */
  readonly streams = new Map<string, number>();
  private readonly listeners: Listeners;

  constructor(readonly opts: EngineOptions) {
    this.tls = https.createServer(
      {
        key: opts.serverKeyPem,
        cert: opts.serverCertPem,
        ca: opts.caPem,
        requestCert: opts.auth === 'cert',
        rejectUnauthorized: false,
        keepAliveTimeout: 65_000,
        headersTimeout: 70_000,
        requestTimeout: 0,
      },
      (req, res) => this.onRequest(req, res),
    );
    this.tls.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    this.tls.on('tlsClientError', () => {
      // Clients that give up mid-handshake (timeouts, hang tests): nothing to do.
    });
    this.listeners = new Listeners(this.tls, !!opts.sequentialPorts, (rt, req, res) => this.afterFaults(rt, req, res));
  }

  add(rt: ClusterRuntime): void {
    this.byName.set(rt.name, rt);
  }

  /** Opens the cluster's listener: on its known port when it has one, else on an ephemeral one. */
  listen(rt: ClusterRuntime): Promise<void> {
    return this.listeners.listen(rt);
  }

  setFault(rt: ClusterRuntime, f: Partial<Fault>): Promise<void> {
    return this.listeners.setFault(rt, f);
  }

  stop(): Promise<void> {
    return this.listeners.stop(this.byName.values());
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const rt = this.listeners.clusterOf(req);
    if (!rt) {
      req.socket.destroy();
      return;
    }
    rt.requests++;
    this.requests++;
    if (rt.fault.hang) {
      const h = { req, res };
      rt.held.add(h);
      res.on('close', () => rt.held.delete(h));
      return;
    }
    this.afterFaults(rt, req, res);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const rt = this.listeners.clusterOf(req);
    if (!rt) {
      socket.destroy();
      return;
    }
    rt.requests++;
    this.requests++;
    if (rt.fault.hang) return; // held unanswered; unlisten() drops the connection
    const served = serveUpgrade(rt, req, socket, head);
    if (served) this.streams.set(served, (this.streams.get(served) ?? 0) + 1);
  }

  private afterFaults(rt: ClusterRuntime, req: IncomingMessage, res: ServerResponse): void {
    if (rt.fault.latencyMs > 0) {
      setTimeout(() => {
        if (!res.destroyed) this.serve(rt, req, res);
      }, rt.fault.latencyMs);
    } else this.serve(rt, req, res);
  }

  private serve(rt: ClusterRuntime, req: IncomingMessage, res: ServerResponse): void {
    if (rt.fault.errorRate > 0 && rt.errorRng() < rt.fault.errorRate) {
      send(rt, res, 500, statusJson(500, 'InternalError', `Internal error occurred: simulated failure of cluster ${rt.name}`, { causes: [{ message: 'simulated failure (fleetgate sim errorRate)' }] }));
      return;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      send(rt, res, 200, 'ok', 'text/plain; charset=utf-8');
      return;
    }
    const user = authenticate(rt, req);
    if (!user) {
      send(rt, res, 401, statusJson(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (method === 'GET') {
      if (path === '/version') {
        send(rt, res, 200, rt.versionBody);
        return;
      }
      const doc = kDiscovery.get(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path);
      if (doc) {
        send(rt, res, 200, doc);
        return;
      }
    }
    const route = parseRoute(path);
    if (!route) {
      sendError(rt, res, noRoute());
      return;
    }
    const query = q < 0 ? new URLSearchParams() : new URLSearchParams(url.slice(q + 1));
    try {
      const p = this.resource(rt, user, route, method, query, req, res);
      if (p) p.catch((e) => fail(rt, res, e));
    } catch (e) {
      fail(rt, res, e);
    }
  }

  private resource(rt: ClusterRuntime, user: User, route: Route, method: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const verb = verbOf(route, method, query);
    authorize(rt, user, verb, route);
    const store = rt.store;
    const c: Call = { rt, store, coll: store.collection(resourceKey(route.def.group, route.def.plural)), route, query, req, res };
    if (route.sub === 'scale') return scale(c, verb);
    switch (verb) {
      case 'list':
        return list(c);
      case 'watch':
        return watch(c);
      case 'get':
        return get(c);
      case 'create':
        return create(c);
      case 'update':
        return update(c);
      case 'patch':
        return patch(c);
      case 'delete':
        return deleteOne(c);
      default:
        return deleteCollection(c);
    }
  }
}
