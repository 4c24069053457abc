/**
 * The simulated API servers. One TLS server object (never listening itself) holds the shared
 * certificate and request handler; each cluster owns a plain TCP listener on its own loopback
 * port that hands accepted sockets to it. A request finds its cluster by the socket's local port.
 * This keeps 1,000+ clusters cheap: one secure context, one handler, one fd per cluster.
 *
 * Faults act per cluster: `down` closes the listener and drops its connections (clients get
 * ECONNREFUSED; coming back up reuses the port), `hang` accepts and completes TLS but holds every
 * request unanswered until hang is lifted, `latencyMs` delays each answer, `errorRate` answers
 * that fraction of requests (seeded) with a 500 Status.
 */
import https from 'node:https';
import net from 'node:net';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DISCOVERY, RESOURCE_BY_KEY, RESOURCES_BY_GV, resourceKey, type ResourceDef } from './resources.js';
import { ClusterStore, Collection, entryKey, type Entry } from './store.js';
import { generateCluster, hashString, rngFrom, type Obj } from './generate.js';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import { tableJson } from './table.js';
import { jsonPatch, mergePatch, PatchError } from './patch.js';
import { decodeKubernetesProtobuf, ProtobufError } from './protobuf.js';
import { parseStreamPath, serveStreaming } from './streaming.js';
import { serveWatch } from './watch.js';

export interface Fault {
  /** Added to every answer, in milliseconds. */
  latencyMs?: number;
  /** Fraction (0..1) of requests answered with a 500 InternalError Status. */
  errorRate?: number;
  /** Listener closed: connections are refused. Coming back up reuses the same port. */
  down?: boolean;
  /** Connections are accepted (TLS completes) but requests are never answered while set. */
  hang?: boolean;
}

export type User = 'admin' | 'viewer';

interface Held {
  req: IncomingMessage;
  res: ServerResponse;
}

/** Runtime state of one simulated cluster. */
export class ClusterRuntime {
  port = 0;
  token: string;
  /** Read-only credential: list/get/watch everything but secrets; writes are 403. */
  viewerToken: string;
  version: string;
  versionBody!: Buffer;
  fault: Required<Fault> = { latencyMs: 0, errorRate: 0, down: false, hang: false };
  clientCertPem?: string;
  clientKeyPem?: string;
  clientFingerprint?: string;
  requests = 0;
  listener: net.Server | null = null;
  readonly sockets = new Set<net.Socket>();
  readonly held = new Set<Held>();
  private storeValue: ClusterStore | null = null;
  readonly errorRng: () => number;

  constructor(
    readonly name: string,
    readonly index: number,
    readonly seed: number,
    readonly podCount: number,
    version: string,
  ) {
    this.token = newToken();
    this.viewerToken = newToken();
    this.version = version;
    this.setVersion(version);
    this.errorRng = rngFrom(hashString(`${seed}:${name}:errors`));
  }

  setVersion(gitVersion: string): void {
    const m = gitVersion.match(/^v?(\d+)\.(\d+)/);
    this.version = gitVersion;
    this.versionBody = Buffer.from(
      JSON.stringify({
        major: m ? m[1] : '1',
        minor: m ? m[2] : '0',
        gitVersion,
        gitCommit: hashString(gitVersion).toString(16).padStart(8, '0') + 'f1ee7ga7e',
        gitTreeState: 'clean',
        buildDate: '2025-01-01T00:00:00Z',
        goVersion: 'go1.22.8',
        compiler: 'gc',
        platform: 'linux/amd64',
      }),
    );
  }

  get generated(): boolean {
    return this.storeValue !== null;
  }

  /** Objects are generated on first use and then kept (with writes) until the simulator stops. */
  get store(): ClusterStore {
    if (!this.storeValue) {
      const s = new ClusterStore(this.name);
      s.loadGenerated(generateCluster(this.name, this.seed, this.podCount, this.version));
      this.storeValue = s;
    }
    return this.storeValue;
  }
}

export function newToken(): string {
  return 'sim-' + randomBytes(18).toString('base64url');
}

const JSON_TYPE = 'application/json';
const TABLE_TYPE = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const MAX_BODY = 3 * 1024 * 1024;

function statusJson(code: number, reason: string, message: string, details?: Obj): string {
  const s: Obj = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details) s.details = details;
  s.code = code;
  return JSON.stringify(s);
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
  }
}

const notFound = (def: ResourceDef, name: string) => new HttpError(404, 'NotFound', `${def.plural}${def.group ? '.' + def.group : ''} "${name}" not found`, { name, group: def.group || undefined, kind: def.plural });
const NO_ROUTE = () => new HttpError(404, 'NotFound', 'the server could not find the requested resource', { causes: [{ reason: 'UnexpectedServerResponse', message: '404 page not found' }] });

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function invalid(def: ResourceDef, name: string, field: string, value: unknown, why: string): HttpError {
  const detail = `Invalid value: ${JSON.stringify(value)}: ${why}`;
  return new HttpError(422, 'Invalid', `${def.kind} "${name}" is invalid: ${field}: ${detail}`, {
    name,
    group: def.group || undefined,
    kind: def.kind,
    causes: [{ reason: 'FieldValueInvalid', message: detail, field }],
  });
}

function required(def: ResourceDef, name: string, field: string, why = 'Required value'): HttpError {
  return new HttpError(422, 'Invalid', `${def.kind} "${name}" is invalid: ${field}: ${why}`, {
    name,
    group: def.group || undefined,
    kind: def.kind,
    causes: [{ reason: 'FieldValueRequired', message: why, field }],
  });
}

function validate(def: ResourceDef, obj: Obj): void {
  const m = obj.metadata;
  const name: string = m.name;
  if (def.plural === 'namespaces') {
    if (name.length > 63 || !DNS1123_LABEL.test(name)) {
      throw invalid(def, name, 'metadata.name', name, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
    }
  } else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name) || name.includes(':')) {
    throw invalid(def, name, 'metadata.name', name, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  }
  for (const field of ['labels', 'annotations'] as const) {
    const v = m[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw invalid(def, name, `metadata.${field}`, v, 'must be a map of strings');
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== 'string') throw invalid(def, name, `metadata.${field}.${k}`, val, 'must be a string');
    }
  }
  if (def.plural === 'configmaps' || def.plural === 'secrets') {
    for (const field of def.plural === 'configmaps' ? ['data'] : ['data', 'stringData']) {
      const d = obj[field];
      if (d === undefined || d === null) continue;
      if (typeof d !== 'object' || Array.isArray(d)) throw invalid(def, name, field, d, 'must be a map of strings');
      for (const [k, val] of Object.entries(d)) {
        if (typeof val !== 'string') throw invalid(def, name, `${field}[${k}]`, val, 'must be a string');
      }
    }
  }
  if (def.plural === 'pods') {
    const cs = obj.spec?.containers;
    if (!Array.isArray(cs) || cs.length === 0) throw required(def, name, 'spec.containers');
    cs.forEach((c: Obj, i: number) => {
      if (!c || typeof c.name !== 'string' || !c.name) throw required(def, name, `spec.containers[${i}].name`);
      if (typeof c.image !== 'string' || !c.image) throw required(def, name, `spec.containers[${i}].image`);
    });
  }
}

interface Route {
  def: ResourceDef;
  namespace: string;
  name: string;
  sub: string;
}

/** Parses /api/v1/... and /apis/G/V/... into a resource route; null when not a resource path. */
function parseRoute(path: string): Route | null {
  let gv: string;
  let rest: string;
  if (path.startsWith('/api/v1/')) {
    gv = 'v1';
    rest = path.slice(8);
  } else if (path.startsWith('/apis/')) {
    const i = path.indexOf('/', 6);
    const j = i < 0 ? -1 : path.indexOf('/', i + 1);
    if (j < 0) return null;
    gv = path.slice(6, j);
    rest = path.slice(j + 1);
  } else return null;
  const resources = RESOURCES_BY_GV.get(gv);
  if (!resources) return null;
  const segs = rest.split('/');
  if (segs.length && segs[segs.length - 1] === '') segs.pop();
  if (!segs.length) return null;
  const group = gv === 'v1' ? '' : gv.slice(0, gv.indexOf('/'));
  let namespace = '';
  let plural: string;
  let name = '';
  let sub = '';
  if (segs[0] === 'namespaces' && segs.length >= 3 && RESOURCE_BY_KEY.get(resourceKey(group, segs[2]))?.namespaced) {
    namespace = decodeURIComponent(segs[1]);
    plural = segs[2];
    name = segs[3] !== undefined ? decodeURIComponent(segs[3]) : '';
    sub = segs[4] ?? '';
    if (segs.length > 5) return null;
  } else {
    plural = segs[0];
    name = segs[1] !== undefined ? decodeURIComponent(segs[1]) : '';
    sub = segs[2] ?? '';
    if (segs.length > 3) return null;
  }
  const def = RESOURCE_BY_KEY.get(resourceKey(group, plural));
  if (!def || def.groupVersion !== gv) return null;
  if (namespace && !def.namespaced) return null;
  const scalable = plural === 'deployments' || plural === 'statefulsets' || plural === 'replicasets';
  if (sub && !(sub === 'status' || (sub === 'log' && plural === 'pods') || (sub === 'finalize' && plural === 'namespaces') || (sub === 'scale' && scalable))) return null;
  if (sub && !name) return null;
  return { def, namespace, name, sub };
}

interface ContinueToken {
  k: string;
  rv: number;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString());
    if (typeof t.k === 'string' && typeof t.rv === 'number') return t;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'BadRequest', 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

function firstAfter(entries: Entry[], key: string): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid].key <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'RequestEntityTooLarge', 'the request body is too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The kernel's ephemeral port range (Linux), or IANA's dynamic range elsewhere. */
const EPHEMERAL_RANGE: [number, number] = (() => {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo > 1024 && hi > lo && hi < 65536) return [lo, hi];
  } catch {
    // not Linux
  }
  return [49152, 65535];
})();

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
  readonly byPort = new Map<number, ClusterRuntime>();
  readonly byName = new Map<string, ClusterRuntime>();
  requests = 0;
  /** Streaming sessions served, by "KIND TRANSPORT PROTOCOL" (e.g. "portforward spdy portforward.k8s.io"). */
  readonly streams = new Map<string, number>();
  private portCursor = -1;
  private readonly socketCluster = new WeakMap<object, ClusterRuntime>();
  private stopped = false;

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
  }

  add(rt: ClusterRuntime): void {
    this.byName.set(rt.name, rt);
  }

  /** Opens the cluster's listener: on its known port when it has one, else on an ephemeral one. */
  async listen(rt: ClusterRuntime): Promise<void> {
    if (rt.listener) return;
    const server = net.createServer({ noDelay: true }, (sock) => {
      if (rt.fault.down || this.stopped) {
        sock.destroy();
        return;
      }
      rt.sockets.add(sock);
      sock.on('close', () => rt.sockets.delete(sock));
      sock.on('error', () => {});
      this.socketCluster.set(sock, rt);
      this.tls.emit('connection', sock);
    });
    server.on('error', () => {});
    const listenOn = (port: number) =>
      new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.once('error', onError);
        server.listen({ host: '127.0.0.1', port, backlog: 511 }, () => {
          server.off('error', onError);
          resolve();
        });
      });
    const chosen = !rt.port && this.opts.sequentialPorts;
    let port = rt.port || (chosen ? this.nextPort() : 0);
    let attempt = 0;
    for (;;) {
      try {
        await listenOn(port);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        if (chosen && ++attempt <= 5000) {
          // Someone else holds this one: take the next.
          port = this.nextPort();
          continue;
        }
        // Coming back up on its old port, which can be briefly busy: retry a few times.
        if (rt.port && ++attempt <= 20) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        throw err;
      }
    }
    rt.port = (server.address() as net.AddressInfo).port;
    rt.listener = server;
    this.byPort.set(rt.port, rt);
  }

  /**
   * Next candidate port for sequentialPorts: walks the ephemeral range from a random start,
   * skipping our own. bind(0) slows to milliseconds per call once thousands of ports of the range
   * are taken (the kernel scans for a free one), so large simulators choose their ports.
   */
  private nextPort(): number {
    const [lo, hi] = EPHEMERAL_RANGE;
    if (this.portCursor < 0) this.portCursor = lo + Math.floor(Math.random() * (hi - lo + 1));
    for (let i = 0; i <= hi - lo; i++) {
      this.portCursor = this.portCursor >= hi ? lo : this.portCursor + 1;
      if (!this.byPort.has(this.portCursor)) return this.portCursor;
    }
    throw new Error('simulator: no free port left in the ephemeral range');
  }

  /** Closes the listener and drops every connection: clients now get ECONNREFUSED. */
  async unlisten(rt: ClusterRuntime): Promise<void> {
    const server = rt.listener;
    rt.listener = null;
    for (const s of rt.sockets) s.destroy();
    rt.sockets.clear();
    rt.held.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async setFault(rt: ClusterRuntime, f: Partial<Fault>): Promise<void> {
    const next = { ...rt.fault };
    if (f.latencyMs !== undefined) next.latencyMs = Math.max(0, Number(f.latencyMs) || 0);
    if (f.errorRate !== undefined) next.errorRate = Math.min(1, Math.max(0, Number(f.errorRate) || 0));
    if (f.down !== undefined) next.down = !!f.down;
    if (f.hang !== undefined) next.hang = !!f.hang;
    const wasHanging = rt.fault.hang;
    rt.fault = next;
    if (next.down && rt.listener) await this.unlisten(rt);
    else if (!next.down && !rt.listener && !this.stopped) await this.listen(rt);
    if (wasHanging && !next.hang) {
      const held = [...rt.held];
      rt.held.clear();
      for (const h of held) if (!h.res.destroyed) this.afterFaults(rt, h.req, h.res);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.byName.values()].map((rt) => this.unlisten(rt)));
    this.tls.closeAllConnections?.();
  }

  private clusterOf(req: IncomingMessage): ClusterRuntime | undefined {
    const sock = req.socket as TLSSocket & { _parent?: object };
    let rt = this.socketCluster.get(sock);
    if (!rt) {
      rt = (sock._parent && this.socketCluster.get(sock._parent)) || this.byPort.get(sock.localPort ?? -1);
      if (rt) this.socketCluster.set(sock, rt);
    }
    return rt;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const rt = this.clusterOf(req);
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

  /**
   * Connection upgrades: pods/exec, attach and portforward over WebSocket or SPDY (streaming.ts).
   * Errors are answered as a plain HTTP response carrying a Status, as the API server answers a
   * failed upgrade.
   */
  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const rt = this.clusterOf(req);
    if (!rt) {
      socket.destroy();
      return;
    }
    rt.requests++;
    this.requests++;
    if (rt.fault.hang) return; // held unanswered; unlisten() drops the connection
    const refuse = (e: HttpError) => {
      const body = statusJson(e.code, e.reason, e.message, e.details);
      socket.end(
        `HTTP/1.1 ${e.code} ${STATUS_CODES[e.code] ?? ''}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Connection: close\r\nX-Fleetgate-Cluster: ${rt.name}\r\n\r\n${body}`,
      );
    };
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const target = parseStreamPath(q < 0 ? url : url.slice(0, q));
    if (!target) return refuse(NO_ROUTE());
    const user = this.authenticate(rt, req);
    if (!user) return refuse(new HttpError(401, 'Unauthorized', 'Unauthorized'));
    const pods = RESOURCE_BY_KEY.get(resourceKey('', 'pods'))!;
    if (user !== 'admin') {
      return refuse(
        new HttpError(403, 'Forbidden', `pods "${target.pod}" is forbidden: User "viewer@${rt.name}" cannot create resource "pods/${target.kind}" in API group "" in the namespace "${target.namespace}"`, {
          name: target.pod,
          kind: 'pods',
        }),
      );
    }
    const pod = rt.store.collection(resourceKey('', 'pods')).byKey.get(entryKey(pods, target.namespace, target.pod));
    if (!pod) return refuse(notFound(pods, target.pod));
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const outcome = serveStreaming(socket, req, head, { ...target, cluster: rt.name, query, podObject: JSON.parse(pod.json) });
    if ('refused' in outcome) return refuse(new HttpError(400, 'BadRequest', outcome.refused));
    this.streams.set(outcome.served, (this.streams.get(outcome.served) ?? 0) + 1);
  }

  private afterFaults(rt: ClusterRuntime, req: IncomingMessage, res: ServerResponse): void {
    if (rt.fault.latencyMs > 0) {
      setTimeout(() => {
        if (!res.destroyed) this.serve(rt, req, res);
      }, rt.fault.latencyMs);
    } else this.serve(rt, req, res);
  }

  private send(rt: ClusterRuntime, res: ServerResponse, code: number, body: string | Buffer, type = JSON_TYPE): void {
    res.writeHead(code, ['Content-Type', type, 'Content-Length', String(Buffer.byteLength(body)), 'Cache-Control', 'no-cache, private', 'X-Fleetgate-Cluster', rt.name]);
    res.end(body);
  }

  private sendError(rt: ClusterRuntime, res: ServerResponse, e: HttpError): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.send(rt, res, e.code, statusJson(e.code, e.reason, e.message, e.details));
  }

  private authenticate(rt: ClusterRuntime, req: IncomingMessage): User | null {
    if (rt.clientFingerprint) {
      const sock = req.socket as TLSSocket;
      if (sock.authorized) {
        const fp = sock.getPeerCertificate?.()?.fingerprint256;
        if (fp && fp === rt.clientFingerprint) return 'admin';
      }
    }
    const h = req.headers.authorization;
    if (h && h.startsWith('Bearer ')) {
      const t = h.slice(7).trim();
      if (t === rt.token) return 'admin';
      if (t === rt.viewerToken) return 'viewer';
    }
    return null;
  }

  private serve(rt: ClusterRuntime, req: IncomingMessage, res: ServerResponse): void {
    if (rt.fault.errorRate > 0 && rt.errorRng() < rt.fault.errorRate) {
      this.send(rt, res, 500, statusJson(500, 'InternalError', `Internal error occurred: simulated failure of cluster ${rt.name}`, { causes: [{ message: 'simulated failure (fleetgate sim errorRate)' }] }));
      return;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      this.send(rt, res, 200, 'ok', 'text/plain; charset=utf-8');
      return;
    }
    const user = this.authenticate(rt, req);
    if (!user) {
      this.send(rt, res, 401, statusJson(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (method === 'GET') {
      if (path === '/version') {
        this.send(rt, res, 200, rt.versionBody);
        return;
      }
      const doc = DISCOVERY.get(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path);
      if (doc) {
        this.send(rt, res, 200, doc);
        return;
      }
    }
    const route = parseRoute(path);
    if (!route) {
      this.sendError(rt, res, NO_ROUTE());
      return;
    }
    const query = q < 0 ? new URLSearchParams() : new URLSearchParams(url.slice(q + 1));
    try {
      const p = this.resource(rt, user, route, method, query, req, res);
      if (p) p.catch((e) => this.fail(rt, res, e));
    } catch (e) {
      this.fail(rt, res, e);
    }
  }

  private fail(rt: ClusterRuntime, res: ServerResponse, e: unknown): void {
    if (e instanceof HttpError) this.sendError(rt, res, e);
    else if (e instanceof SelectorError) this.sendError(rt, res, new HttpError(400, 'BadRequest', e.message));
    else this.sendError(rt, res, new HttpError(500, 'InternalError', `Internal error occurred: ${(e as Error)?.message ?? e}`));
  }

  private authorize(rt: ClusterRuntime, user: User, verb: string, route: Route): void {
    if (user === 'admin') return;
    const { def, namespace, name } = route;
    const read = verb === 'get' || verb === 'list' || verb === 'watch';
    if (read && def.plural !== 'secrets') return;
    const what = name ? `${def.plural}${def.group ? '.' + def.group : ''} "${name}"` : `${def.plural}${def.group ? '.' + def.group : ''}`;
    const where = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
    throw new HttpError(403, 'Forbidden', `${what} is forbidden: User "viewer@${rt.name}" cannot ${verb} resource "${def.plural}" in API group "${def.group}"${where}`, {
      name: name || undefined,
      group: def.group || undefined,
      kind: def.plural,
    });
  }

  private resource(rt: ClusterRuntime, user: User, route: Route, method: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const { def, name } = route;
    const watch = query.get('watch');
    const isWatch = watch === 'true' || watch === '1';
    let verb: string;
    switch (method) {
      case 'GET':
        verb = name ? 'get' : isWatch ? 'watch' : 'list';
        break;
      case 'POST':
        verb = 'create';
        if (name || (def.namespaced && !route.namespace)) throw new HttpError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
        break;
      case 'PUT':
        verb = 'update';
        break;
      case 'PATCH':
        verb = 'patch';
        break;
      case 'DELETE':
        verb = name ? 'delete' : 'deletecollection';
        break;
      default:
        throw new HttpError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
    if ((verb === 'update' || verb === 'patch') && !name) throw new HttpError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    this.authorize(rt, user, verb, route);
    const store = rt.store;
    const coll = store.collection(resourceKey(def.group, def.plural));
    if (route.sub === 'scale') return this.scale(rt, store, coll, route, verb, query, req, res);
    switch (verb) {
      case 'list':
        return this.list(rt, store, coll, route, query, req, res);
      case 'watch':
        return this.watch(rt, store, coll, route, query, res);
      case 'get':
        return this.get(rt, store, coll, route, query, req, res);
      case 'create':
        return this.create(rt, store, coll, route, query, req, res);
      case 'update':
        return this.update(rt, store, coll, route, query, req, res);
      case 'patch':
        return this.patch(rt, store, coll, route, query, req, res);
      case 'delete':
        return this.delete(rt, store, coll, route, res);
      default:
        return this.deleteCollection(rt, store, coll, route, query, res);
    }
  }

  private wantsTable(req: IncomingMessage): boolean {
    const a = req.headers.accept;
    return !!a && a.includes('as=Table') && a.includes('meta.k8s.io');
  }

  private list(rt: ClusterRuntime, store: ClusterStore, coll: Collection, route: Route, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
    const def = route.def;
    const labelSel = parseLabelSelector(query.get('labelSelector'));
    const fieldSel = parseFieldSelector(query.get('fieldSelector'), def.fields);
    const limitRaw = query.get('limit');
    const limit = limitRaw ? parseInt(limitRaw, 10) : 0;
    const cont = query.get('continue');
    const table = this.wantsTable(req);
    const head = (rv: number, extra = '') => `{"kind":"${def.kind}List","apiVersion":"${def.groupVersion}","metadata":{"resourceVersion":"${rv}"${extra}},"items":[`;
    if (!labelSel.length && !fieldSel.length && !(limit > 0) && !cont && !table) {
      this.send(rt, res, 200, head(store.rv) + coll.itemsJson(route.namespace) + ']}');
      return;
    }
    let listRv = store.rv;
    let entries = store.select(coll, route.namespace, labelSel, fieldSel);
    let start = 0;
    if (cont) {
      const t = decodeContinue(cont);
      listRv = t.rv;
      start = firstAfter(entries, t.k);
    }
    let end = entries.length;
    let continueToken: string | undefined;
    let remaining: number | undefined;
    if (limit > 0 && start + limit < entries.length) {
      end = start + limit;
      continueToken = encodeContinue({ k: entries[end - 1].key, rv: listRv });
      if (!labelSel.length && !fieldSel.length) remaining = entries.length - end;
    }
    entries = start === 0 && end === entries.length ? entries : entries.slice(start, end);
    if (table) {
      this.send(
        rt,
        res,
        200,
        tableJson(
          def,
          entries.map((e) => JSON.parse(e.json)),
          { includeObject: query.get('includeObject'), resourceVersion: String(listRv), continueToken, remainingItemCount: remaining },
          ),
        TABLE_TYPE,
      );
      return;
    }
    let extra = '';
    if (continueToken) extra += `,"continue":"${continueToken}"`;
    if (remaining !== undefined) extra += `,"remainingItemCount":${remaining}`;
    this.send(rt, res, 200, head(listRv, extra) + entries.map((e) => e.json).join(',') + ']}');
  }

  private watch(rt: ClusterRuntime, store: ClusterStore, coll: Collection, route: Route, query: URLSearchParams, res: ServerResponse): void {
    const labels = parseLabelSelector(query.get('labelSelector'));
    const fields = parseFieldSelector(query.get('fieldSelector'), route.def.fields);
    serveWatch(store, coll, { cluster: rt.name, def: route.def, namespace: route.namespace, labels, fields, query }, res);
  }

  private get(rt: ClusterRuntime, store: ClusterStore, coll: Collection, route: Route, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
    const e = coll.byKey.get(entryKey(route.def, route.namespace, route.name));
    if (!e) throw notFound(route.def, route.name);
    if (route.sub === 'log') {
      const o = JSON.parse(e.json);
      const container = query.get('container') ?? o.spec?.containers?.[0]?.name ?? 'main';
      const lines: string[] = [];
      for (let i = 0; i < 10; i++) lines.push(`2025-01-01T00:00:0${i}Z INFO ${container} line ${i + 1} from ${rt.name}/${route.namespace}/${route.name}`);
      const tail = parseInt(query.get('tailLines') ?? '', 10);
      const text = (tail >= 0 ? lines.slice(Math.max(0, lines.length - tail)) : lines).join('\n') + '\n';
      const follow = query.get('follow');
      if (follow !== 'true' && follow !== '1') {
        this.send(rt, res, 200, text, 'text/plain');
        return;
      }
      // Follow: the lines so far, then one more a second until the client leaves.
      res.writeHead(200, ['Content-Type', 'text/plain', 'Cache-Control', 'no-cache, private', 'X-Fleetgate-Cluster', rt.name, 'Transfer-Encoding', 'chunked']);
      res.write(text);
      let n = lines.length;
      const timer = setInterval(() => res.write(`2025-01-01T00:01:${String(n % 60).padStart(2, '0')}Z INFO ${container} line ${++n} from ${rt.name}/${route.namespace}/${route.name}\n`), 1000);
      timer.unref();
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (this.wantsTable(req)) {
      this.send(rt, res, 200, tableJson(route.def, [JSON.parse(e.json)], { includeObject: query.get('includeObject'), resourceVersion: String(store.rv) }), TABLE_TYPE);
      return;
    }
    this.send(rt, res, 200, e.json);
  }

  private async readObject(req: IncomingMessage, def: ResourceDef): Promise<Obj> {
    const ctype = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (ctype === 'application/vnd.kubernetes.protobuf') {
      const raw = await readBody(req);
      try {
        return decodeKubernetesProtobuf(raw);
      } catch (e) {
        if (e instanceof ProtobufError) throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${e.message}`);
        throw e;
      }
    }
    if (ctype && ctype !== 'application/json') {
      await readBody(req).catch(() => undefined);
      throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf`);
    }
    const body = await readBody(req);
    let obj: unknown;
    try {
      obj = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new HttpError(400, 'BadRequest', `error decoding request body: ${(e as Error).message}`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new HttpError(422, 'Invalid', `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: the body must be a JSON object`, { kind: def.kind, group: def.group || undefined });
    }
    return obj as Obj;
  }

  private checkTypeAndMeta(obj: Obj, def: ResourceDef): void {
    if (obj.kind !== undefined && obj.kind !== def.kind) {
      throw new HttpError(400, 'BadRequest', `the kind in the data (${obj.kind}) does not match the expected kind (${def.kind})`);
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== def.groupVersion) {
      throw new HttpError(400, 'BadRequest', `the API version in the data (${obj.apiVersion}) does not match the expected API version (${def.groupVersion})`);
    }
    if (obj.metadata !== undefined && (obj.metadata === null || typeof obj.metadata !== 'object' || Array.isArray(obj.metadata))) {
      throw new HttpError(422, 'Invalid', `${def.kind} is invalid: metadata: Invalid value: must be an object`, { kind: def.kind });
    }
    obj.metadata ??= {};
  }

  private checkNamespace(store: ClusterStore, def: ResourceDef, obj: Obj, namespace: string): void {
    if (!def.namespaced) return;
    if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== '' && obj.metadata.namespace !== namespace) {
      throw new HttpError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.metadata.namespace = namespace;
    if (!store.collection('namespaces').byKey.has(namespace)) {
      throw new HttpError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    }
  }

  private dryRun(query: URLSearchParams): boolean {
    return query.getAll('dryRun').includes('All');
  }

  private async create(rt: ClusterRuntime, store: ClusterStore, coll: Collection, route: Route, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const def = route.def;
    const obj = await this.readObject(req, def);
    this.checkTypeAndMeta(obj, def);
    const m = obj.metadata;
    if (!m.name && typeof m.generateName === 'string' && m.generateName) {
      m.name = m.generateName + randomBytes(4).toString('hex').slice(0, 5);
    }
    if (typeof m.name !== 'string' || !m.name) throw required(def, '', 'metadata.name', 'Required value: name or generateName is required');
    validate(def, obj);
    this.checkNamespace(store, def, obj, route.namespace);
    const key = entryKey(def, route.namespace, m.name);
    if (coll.byKey.has(key)) {
      throw new HttpError(409, 'AlreadyExists', `${def.plural}${def.group ? '.' + def.group : ''} "${m.name}" already exists`, { name: m.name, group: def.group || undefined, kind: def.plural });
    }
    delete m.resourceVersion;
    delete m.uid;
    delete m.creationTimestamp;
    delete m.deletionTimestamp;
    if (def.plural === 'namespaces') {
      obj.spec = { finalizers: ['kubernetes'], ...(obj.spec ?? {}) };
      obj.status = { phase: 'Active' };
      m.labels = { ...(m.labels ?? {}), 'kubernetes.io/metadata.name': m.name };
    }
    if (def.plural === 'secrets') obj.type ??= 'Opaque';
    if (def.plural === 'secrets' && obj.stringData && typeof obj.stringData === 'object') {
      obj.data = { ...(obj.data ?? {}) };
      for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
      delete obj.stringData;
    }
    if (this.dryRun(query)) {
      const probe = new ClusterStore(rt.name);
      probe.rv = store.rv;
      this.send(rt, res, 201, probe.makeEntry(def, obj).json);
      return;
    }
    const entry = store.makeEntry(def, obj);
    coll.put(entry, 'ADDED');
    this.send(rt, res, 201, entry.json);
  }

  private replace(rt: ClusterRuntime, store: ClusterStore, coll: Collection, route: Route, query: URLSearchParams, res: ServerResponse, old: Entry, obj: Obj): void {
    const def = route.def;
    const oldObj = JSON.parse(old.json);
    const m = obj.metadata;
    if (m.name !== undefined && m.name !== route.name) {
      throw new HttpError(400, 'BadRequest', `the name of the object (${m.name}) does not match the name on the URL (${route.name})`);
    }
    m.name = route.name;
    if (def.namespaced) {
      if (m.namespace !== undefined && m.namespace !== route.namespace) {
        throw new HttpError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      }
      m.namespace = route.namespace;
    }
    if (m.resourceVersion !== undefined && m.resourceVersion !== '' && String(m.resourceVersion) !== String(old.rv)) {
      throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${def.plural}${def.group ? '.' + def.group : ''} "${route.name}": the object has been modified; please apply your changes to the latest version and try again`, {
        name: route.name,
        group: def.group || undefined,
        kind: def.plural,
      });
    }
    validate(def, obj);
    m.uid = oldObj.metadata.uid;
    m.creationTimestamp = oldObj.metadata.creationTimestamp;
    if (route.sub === 'status') {
      // Only status changes through the status subresource.
      const status = obj.status;
      obj = { ...oldObj, status };
      obj.metadata = { ...oldObj.metadata };
    }
    if (this.dryRun(query)) {
      const probe = new ClusterStore(rt.name);
      probe.rv = store.rv;
      this.send(rt, res, 200, probe.makeEntry(def, obj).json);
      return;
    }
    const entry = store.makeEntry(def, obj);
    coll.put(entry, 'MODIFIED');
    this.send(rt, res, 200, entry.json);
  }

  private async update(rt: ClusterRuntime, store: ClusterStore, coll: Collection, route: Route, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const obj = await this.readObject(req, route.def);
    this.checkTypeAndMeta(obj, route.def);
    const old = coll.byKey.get(entryKey(route.def, route.namespace, route.name));
    if (!old) throw notFound(route.def, route.name);
    this.replace(rt, store, coll, route, query, res, old, obj);
  }

  private async patch(rt: ClusterRuntime, store: ClusterStore, coll: Collection, route: Route, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const def = route.def;
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
    if (type !== 'application/merge-patch+json' && type !== 'application/strategic-merge-patch+json' && type !== 'application/json-patch+json') {
      await readBody(req).catch(() => undefined);
      throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
    }
    const body = await readBody(req);
    let patch: unknown;
    try {
      patch = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new HttpError(400, 'BadRequest', `error decoding patch: ${(e as Error).message}`);
    }
    const old = coll.byKey.get(entryKey(def, route.namespace, route.name));
    if (!old) throw notFound(def, route.name);
    const oldObj = JSON.parse(old.json);
    let next: unknown;
    try {
      next = type === 'application/json-patch+json' ? jsonPatch(oldObj, patch) : mergePatch(oldObj, patch);
    } catch (e) {
      if (e instanceof PatchError) throw new HttpError(422, 'Invalid', `the server rejected our request due to an error in our request: ${e.message}`, { kind: def.kind, name: route.name });
      throw e;
    }
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      throw new HttpError(422, 'Invalid', `${def.kind} "${route.name}" is invalid: the patched object is not an object`, { kind: def.kind, name: route.name });
    }
    const obj = next as Obj;
    this.checkTypeAndMeta(obj, def);
    this.replace(rt, store, coll, route, query, res, old, obj);
  }

  /** The autoscaling/v1 Scale subresource of deployments, statefulsets and replicasets (kubectl scale). */
  private async scale(rt: ClusterRuntime, store: ClusterStore, coll: Collection, route: Route, verb: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const def = route.def;
    const key = entryKey(def, route.namespace, route.name);
    const e = coll.byKey.get(key);
    if (verb !== 'get' && verb !== 'update' && verb !== 'patch') throw new HttpError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    const toScale = (entry: Entry): Obj => {
      const o = JSON.parse(entry.json);
      const sel = Object.entries(o.spec?.selector?.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      return {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
        spec: { replicas: o.spec?.replicas ?? 0 },
        status: { replicas: o.status?.replicas ?? 0, selector: sel },
      };
    };
    if (verb === 'get') {
      if (!e) throw notFound(def, route.name);
      this.send(rt, res, 200, JSON.stringify(toScale(e)));
      return;
    }
    let next: Obj;
    if (verb === 'update') {
      const body = await this.readObject(req, { ...def, kind: 'Scale', groupVersion: 'autoscaling/v1' });
      if (!e) throw notFound(def, route.name);
      next = body;
    } else {
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
      const raw = await readBody(req);
      if (!e) throw notFound(def, route.name);
      let patch: unknown;
      try {
        patch = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        throw new HttpError(400, 'BadRequest', `error decoding patch: ${(err as Error).message}`);
      }
      try {
        next = (type === 'application/json-patch+json' ? jsonPatch(toScale(e), patch) : mergePatch(toScale(e), patch)) as Obj;
      } catch (err) {
        if (err instanceof PatchError) throw new HttpError(422, 'Invalid', `the server rejected our request due to an error in our request: ${err.message}`);
        throw err;
      }
    }
    const replicas = next?.spec?.replicas ?? 0;
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new HttpError(422, 'Invalid', `Scale.autoscaling "${route.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, { name: route.name, group: 'autoscaling', kind: 'Scale' });
    }
    const rv = next?.metadata?.resourceVersion;
    if (rv !== undefined && rv !== '' && String(rv) !== String(e.rv)) {
      throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${def.plural}.${def.group} "${route.name}": the object has been modified; please apply your changes to the latest version and try again`, { name: route.name, group: def.group, kind: def.plural });
    }
    const obj = JSON.parse(e.json);
    obj.spec = { ...(obj.spec ?? {}), replicas };
    obj.metadata.generation = (obj.metadata.generation ?? 1) + 1;
    if (this.dryRun(query)) {
      this.send(rt, res, 200, JSON.stringify({ ...toScale(e), spec: { replicas } }));
      return;
    }
    const entry = store.makeEntry(def, obj);
    coll.put(entry, 'MODIFIED');
    this.send(rt, res, 200, JSON.stringify(toScale(entry)));
  }

  private delete(rt: ClusterRuntime, store: ClusterStore, coll: Collection, route: Route, res: ServerResponse): void {
    const def = route.def;
    const e = coll.byKey.get(entryKey(def, route.namespace, route.name));
    if (!e) throw notFound(def, route.name);
    this.removeEntry(store, coll, e);
    this.send(rt, res, 200, e.json);
  }

  private removeEntry(store: ClusterStore, coll: Collection, e: Entry): void {
    store.rv++;
    coll.remove(e);
    if (coll.def.plural === 'namespaces') {
      // A namespace takes its objects with it (at once: the simulator has no finalizers).
      for (const c of store.collections.values()) {
        if (!c.def.namespaced) continue;
        for (const x of c.scope(e.name)) {
          store.rv++;
          c.remove(x);
        }
      }
    }
  }

  private deleteCollection(rt: ClusterRuntime, store: ClusterStore, coll: Collection, route: Route, query: URLSearchParams, res: ServerResponse): void {
    const def = route.def;
    const entries = store.select(coll, route.namespace, parseLabelSelector(query.get('labelSelector')), parseFieldSelector(query.get('fieldSelector'), def.fields));
    const removed = [...entries];
    for (const e of removed) this.removeEntry(store, coll, e);
    this.send(rt, res, 200, `{"kind":"${def.kind}List","apiVersion":"${def.groupVersion}","metadata":{"resourceVersion":"${store.rv}"},"items":[${removed.map((e) => e.json).join(',')}]}`);
  }
}

/** Fingerprint in Node's getPeerCertificate() format. */
export function fingerprint256(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}
