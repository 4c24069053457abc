/**
 * Per-worker upstream client cache: one keep-alive undici Pool per (cluster id, per-entry
 * generation, config hash), reused by every request to that cluster from this worker.
 *
 * Why: @kubernetes/client-node's API classes build a new https.Agent per call
 * (kubernetes-client/javascript#2893), so every request pays a TCP and TLS handshake and leaks
 * sockets. Here a request acquires the cluster's cached client, dispatches on its pool, and
 * releases it when its exchange is over. undici rather than node:http because it costs less CPU
 * per proxied request (issue 17 quotes 23 against 34 µs; its request writer and parser skip
 * http.ClientRequest and IncomingMessage), and CPU is what fills the cores under load.
 *
 * Connection upgrades (exec, attach, port-forward) stay on node:http (upgradeAgent(), made on
 * first use): they are rare and long, so their per-request cost does not matter; undici's upgrade
 * takes the socket out of the pool anyway and refuses a caller's own Upgrade/Connection headers,
 * while upgrade.ts relays the 101 with the cluster's raw header casing and status text.
 *
 * Keying (client-go transport/cache.go): the sync worker bumps an entry's generation whenever its
 * client config changes, and configHash covers the inputs, so two entries share a client exactly
 * when their (id, generation, configHash) match. A request carrying an older generation than the
 * cached client (a copy read just before a commit) uses the newer client rather than thrashing.
 *
 * Lifecycle: a client is replaced when its cluster's entry changes, and retired when its cluster
 * vanishes from the index (noticed by a sweep that runs at most once per sweepIntervalMs after the
 * index generation moved). A retired client is closed (pool and upgrade agent destroyed) once its
 * in-flight requests have released it; never earlier, so a change of config never cuts a running
 * request.
 *
 * Credentials are read only on a miss: a request brings the cluster's IndexHead (no secrets), and
 * only when no current client matches does the cache copy the whole entry out of the index
 * (ClientCacheOptions.fullEntry), so the per-request lookup never touches the CA, key or token.
 *
 * Proxies: a cluster's proxy-url is honoured here as in the version probe (src/k8s/proxy.ts): an
 * https API server through a CONNECT tunnel (the pool's connector opens each connection with
 * connectTunnel, then undici's own TLS connector, with its session cache, runs inside it; the
 * upgrade agent is a TunnelingAgent), a plain-http one with absolute-form requests to the proxy.
 * The tunnel is proxy.ts's rather than undici's ProxyAgent so that probe, requests and upgrades
 * share one implementation and its error texts, and each cluster keeps one plain Pool.
 *
 * Secrets: the client holds the cluster's bearer token, TLS key and proxy credentials; its
 * inspect/toString output and stats are redacted.
 */
import http from 'node:http';
import https from 'node:https';
import { inspect } from 'node:util';
import { buildConnector, Pool } from 'undici';
import { authorityOf, connectTunnel, parseProxyUrl, TunnelingAgent, type ProxyTarget } from '../k8s/index.js';
import type { IndexEntry, IndexHead } from '../index/types.js';
import { HttpError } from '../util/http-error.js';

/** Cache activity, summed over workers for /metrics. */
export interface UpstreamCacheStats {
  hits: number;
  misses: number;
  /** Agents created and destroyed so far; live = created - destroyed. */
  created: number;
  destroyed: number;
  live: number;
  /** Agents replaced or orphaned but still serving in-flight requests. */
  retired: number;
}

export function emptyUpstreamStats(): UpstreamCacheStats {
  return { hits: 0, misses: 0, created: 0, destroyed: 0, live: 0, retired: 0 };
}

/** What one cluster generation's client is made of (UpstreamClientCache.create builds it). */
export interface UpstreamClientParts {
  key: string;
  clusterId: number;
  clusterName: string;
  generation: number;
  /** Origin and base path of the API server, e.g. https://10.0.0.1:6443 and '' or '/prefix'. */
  origin: URL;
  basePath: string;
  /** Every call but upgrades: keep-alive connections to the API server (or its proxy). */
  pool: Pool;
  /** node:http for upgrades: the request function and a factory of its agent. */
  upgrades: { request: typeof http.request; agent: () => http.Agent };
  /** `Bearer TOKEN` or undefined: never log. */
  authorization: string | undefined;
  /**
   * A plain-http API server behind an http(s) proxy: requests go to the proxy in absolute form
   * (basePath then starts with the server's origin) with this Proxy-Authorization, if any.
   * (An https one goes through a TunnelingAgent instead, and needs nothing here.)
   */
  viaProxy?: ProxyTarget;
}

export class UpstreamClient {
  readonly key: string;
  readonly clusterId: number;
  readonly clusterName: string;
  readonly generation: number;
  readonly origin: URL;
  readonly basePath: string;
  readonly pool: Pool;
  private readonly upgrades: UpstreamClientParts['upgrades'];
  /** `Bearer TOKEN` or undefined: never log. */
  readonly authorization: string | undefined;
  /** In-flight requests using this client. */
  refs = 0;
  retired = false;
  destroyed = false;
  /** node:http request options for upgrades, derived once from origin (IPv6 brackets stripped). */
  readonly protocol: string;
  readonly hostname: string;
  readonly port: string | undefined;

  constructor(p: UpstreamClientParts) {
    this.key = p.key;
    this.clusterId = p.clusterId;
    this.clusterName = p.clusterName;
    this.generation = p.generation;
    this.origin = p.origin;
    this.basePath = p.basePath;
    this.pool = p.pool;
    this.upgrades = p.upgrades;
    this.authorization = p.authorization;
    const origin = p.origin;
    if (p.viaProxy) {
      this.protocol = p.viaProxy.tls ? 'https:' : 'http:';
      this.hostname = p.viaProxy.host;
      this.port = String(p.viaProxy.port);
      this.proxyAuthorization = p.viaProxy.authorization;
    } else {
      this.protocol = origin.protocol;
      this.hostname = origin.hostname.replace(/^\[|\]$/g, '');
      this.port = origin.port || undefined;
    }
  }

  /** `Basic …` for the cluster's proxy, when requests go to it in absolute form: never log. */
  readonly proxyAuthorization: string | undefined;

  private upgradeAgent_: http.Agent | undefined;

  /** The node:http request function and agent for connection upgrades (the agent made on first use). */
  get upgradeRequest(): typeof http.request {
    return this.upgrades.request;
  }

  upgradeAgent(): http.Agent {
    return (this.upgradeAgent_ ??= this.upgrades.agent());
  }

  /** Closes the pool and the upgrade agent; only once nothing is in flight (refs === 0). */
  close(): void {
    // destroy() rejects only if already destroyed; nothing waits on it.
    this.pool.destroy().catch(() => {});
    this.upgradeAgent_?.destroy();
  }

  toString(): string {
    return `UpstreamClient(${this.clusterName}#${this.clusterId} gen ${this.generation} ${this.origin.origin})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  toJSON(): string {
    return this.toString();
  }
}

export interface ClientCacheOptions {
  /**
   * The whole entry (with its client config) of a cluster, read when acquire() misses with a
   * head. Without it acquire() needs whole entries.
   */
  fullEntry?: (name: string) => IndexEntry | undefined;
  /** Lists the live index entries; used by the sweep that retires clients of vanished clusters. */
  entries?: () => readonly LiveEntry[];
  /** Minimum time between two sweeps (ms). Default 1000. */
  sweepIntervalMs?: number;
  /** Close idle keep-alive sockets after this long (ms). Default 60000. */
  idleSocketMs?: number;
  /** Per-agent socket limit. Default 256. */
  maxSockets?: number;
}

/** What the sweep needs of an index entry (an IndexEntry or IndexSummary). */
export interface LiveEntry {
  id: number;
  generation: number;
  configHash?: string;
}

function keyOf(e: LiveEntry): string {
  return `${e.id}:${e.generation}:${e.configHash}`;
}

/** An IndexEntry carries the credentials; a head's client has the server only. */
function isWhole(e: IndexHead | IndexEntry): e is IndexEntry {
  return 'token' in e.client;
}

export class UpstreamClientCache {
  private readonly current = new Map<number, UpstreamClient>();
  private readonly retiredSet = new Set<UpstreamClient>();
  private readonly stats_: UpstreamCacheStats = emptyUpstreamStats();
  private seenIndexGeneration = -1;
  private lastSweep = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: ClientCacheOptions = {}) {}

  /**
   * The client for this entry (created on a miss); pair every acquire with one release. `entry`
   * may be a head: on a miss the whole entry is read through opts.fullEntry.
   */
  acquire(entry: IndexHead | IndexEntry): UpstreamClient {
    if (this.closed) throw new HttpError(503, 'server is shutting down');
    this.noteIndexGeneration(entry.indexGeneration);
    let client = this.current.get(entry.id);
    if (client && (client.key === keyOf(entry) || client.generation > entry.generation)) {
      this.stats_.hits++;
    } else {
      this.stats_.misses++;
      const full = this.wholeEntry(entry);
      // The whole entry may be newer than the head (a commit in between): key by what we build.
      const key = keyOf(full);
      client = this.current.get(full.id);
      if (!client || client.key !== key) {
        if (client) this.retire(client);
        client = this.create(key, full);
        this.current.set(full.id, client);
      }
    }
    client.refs++;
    return client;
  }

  private wholeEntry(entry: IndexHead | IndexEntry): IndexEntry {
    if (isWhole(entry)) return entry;
    const full = this.opts.fullEntry?.(entry.name);
    if (!full) {
      if (!this.opts.fullEntry) throw new Error('client-cache: acquire() with a head needs options.fullEntry');
      throw new HttpError(404, `cluster "${entry.name}" not found`);
    }
    return full;
  }

  release(client: UpstreamClient): void {
    if (client.refs <= 0) throw new Error('client-cache: release without acquire');
    client.refs--;
    if (client.refs === 0 && client.retired) this.destroy(client);
  }

  /** The current client of a cluster id, if any (for tests and diagnostics; does not count). */
  peek(clusterId: number): UpstreamClient | undefined {
    return this.current.get(clusterId);
  }

  stats(): UpstreamCacheStats {
    return { ...this.stats_, live: this.stats_.created - this.stats_.destroyed, retired: this.retiredSet.size };
  }

  /**
   * Retires clients whose cluster is absent from `entries` or whose entry changed. Called by the
   * sweep; callable directly when the caller already holds a fresh list.
   */
  retireMissing(entries: readonly LiveEntry[]): void {
    const live = new Map<number, LiveEntry>();
    for (const e of entries) live.set(e.id, e);
    for (const [id, client] of this.current) {
      const e = live.get(id);
      const changed =
        !e ||
        e.generation > client.generation ||
        (e.generation === client.generation && e.configHash !== undefined && keyOf(e) !== client.key);
      if (changed) this.retire(client);
    }
  }

  /** Destroys every agent (in-flight requests on them fail). For worker shutdown after draining. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    for (const c of [...this.current.values()]) this.retire(c);
    for (const c of [...this.retiredSet]) this.destroy(c);
  }

  private noteIndexGeneration(gen: number): void {
    if (gen === this.seenIndexGeneration || !this.opts.entries) return;
    this.seenIndexGeneration = gen;
    if (this.sweepTimer) return;
    const interval = this.opts.sweepIntervalMs ?? 1000;
    const wait = Math.max(0, this.lastSweep + interval - Date.now());
    this.sweepTimer = setTimeout(() => this.sweep(), wait);
    this.sweepTimer.unref();
  }

  private sweep(): void {
    this.sweepTimer = undefined;
    this.lastSweep = Date.now();
    if (this.closed || !this.opts.entries) return;
    try {
      this.retireMissing(this.opts.entries());
    } catch {
      // A torn or failed read: try again on the next generation change.
      this.seenIndexGeneration = -1;
    }
  }

  private retire(client: UpstreamClient): void {
    if (this.current.get(client.clusterId) === client) this.current.delete(client.clusterId);
    if (client.retired) return;
    client.retired = true;
    if (client.refs === 0) this.destroy(client);
    else this.retiredSet.add(client);
  }

  private destroy(client: UpstreamClient): void {
    if (client.destroyed) return;
    client.destroyed = true;
    this.retiredSet.delete(client);
    client.close();
    this.stats_.destroyed++;
  }

  private create(key: string, entry: IndexEntry): UpstreamClient {
    const c = entry.client;
    if (!c.server) throw new HttpError(503, `cluster "${entry.name}" has no API server address yet`);
    let proxy: ProxyTarget | undefined;
    if (c.proxyUrl) {
      try {
        proxy = parseProxyUrl(c.proxyUrl);
      } catch (err) {
        throw new HttpError(502, `cluster "${entry.name}": ${(err as Error).message}`);
      }
    }
    let url: URL;
    try {
      url = new URL(c.server);
    } catch {
      throw new HttpError(502, `cluster "${entry.name}": invalid server URL`);
    }
    let pool: Pool;
    let upgrades: { request: typeof http.request; agent: () => http.Agent };
    const poolOptions = {
      connections: this.opts.maxSockets ?? 256,
      pipelining: 1,
      // Idle keep-alive connections close after this long (sooner if the server's Keep-Alive
      // header says so); the per-request header and body timeouts are set per call. undici's
      // connector sets TCP_NODELAY itself (Nagle would hold small exchanges for a delayed ACK).
      keepAliveTimeout: this.opts.idleSocketMs ?? 60_000,
    };
    // Upgraded sockets leave their agent for good, so the upgrade agent keeps none alive.
    const upgradeBase: http.AgentOptions = { keepAlive: false, noDelay: true } as http.AgentOptions;
    if (url.protocol === 'https:') {
      const tls = { rejectUnauthorized: !c.insecure, ...(c.caData && { ca: c.caData }), ...(c.certData && { cert: c.certData }), ...(c.keyData && { key: c.keyData }), ...(c.tlsServerName && { servername: c.tlsServerName }) };
      if (proxy) {
        const via = proxy;
        const tlsInside = buildConnector(tls);
        pool = new Pool(url.origin, {
          ...poolOptions,
          connect: (o, callback) => {
            connectTunnel(via, authorityOf(o.hostname, o.port || 443), (err, raw) => {
              if (err) return callback(err, null);
              tlsInside({ ...o, httpSocket: raw as never }, callback);
            });
          },
        });
        upgrades = { request: https.request, agent: () => new TunnelingAgent({ ...upgradeBase, ...tls }, via) };
      } else {
        pool = new Pool(url.origin, { ...poolOptions, connect: tls });
        upgrades = { request: https.request, agent: () => new https.Agent({ ...upgradeBase, ...tls }) };
      }
    } else if (url.protocol === 'http:') {
      // Through a proxy, the connections go to the proxy (over TLS for an https one).
      if (proxy) {
        pool = new Pool(`${proxy.tls ? 'https' : 'http'}://${authorityOf(proxy.host, proxy.port)}`, poolOptions);
        upgrades = proxy.tls ? { request: https.request, agent: () => new https.Agent(upgradeBase) } : { request: http.request, agent: () => new http.Agent(upgradeBase) };
      } else {
        pool = new Pool(url.origin, poolOptions);
        upgrades = { request: http.request, agent: () => new http.Agent(upgradeBase) };
      }
    } else {
      throw new HttpError(502, `cluster "${entry.name}": unsupported server URL scheme ${url.protocol}`);
    }
    this.stats_.created++;
    const basePath = url.pathname.replace(/\/+$/, '');
    const parts = {
      key,
      clusterId: entry.id,
      clusterName: entry.name,
      generation: entry.generation,
      origin: url,
      basePath,
      pool,
      upgrades,
      authorization: c.token ? `Bearer ${c.token}` : undefined,
    };
    if (proxy && url.protocol === 'http:') {
      const absolute = `http://${authorityOf(url.hostname.replace(/^\[|\]$/g, ''), url.port || 80)}${basePath}`;
      return new UpstreamClient({ ...parts, basePath: absolute, viaProxy: proxy });
    }
    return new UpstreamClient(parts);
  }
}
