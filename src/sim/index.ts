/**
 * fleetgate's Kubernetes API simulator, in-process API.
 *
 *   const sim = await startSimulator({ clusters: 100 });
 *   writeFileSync(path, sim.kubeconfig());
 *   await sim.setFault('sim-0003', { down: true });
 *   await sim.stop();
 *
 * See server.ts for the request path and faults, generate.ts for the objects, control.ts for the
 * loopback control interface other processes use.
 */
import { createCertificateAuthority } from './certs.js';
import { ClusterRuntime, SimEngine, fingerprint256, newToken, type Fault } from './server.js';
import { renderKubeconfig } from './kubeconfig.js';
import { startControlServer } from './control.js';

export type { Fault } from './server.js';
export { kClusterAnnotation } from './store.js';

export interface SimOptions {
  /** Number of clusters, named `${namePrefix}-0001` upwards. */
  clusters: number;
  /** Default 'sim'. */
  namePrefix?: string;
  /** Only loopback is supported. */
  host?: '127.0.0.1';
  /** Seed of the generated objects (default 1). Same seed, same objects. */
  seed?: number;
  /** Pods per cluster (default 20); nodes, namespaces and workloads scale with it. */
  podsPerCluster?: number;
  /** Per-cluster pod count overriding podsPerCluster, by cluster name. */
  podsByCluster?: Record<string, number>;
  /** How kubeconfigs authenticate: bearer token (default) or client certificate. Tokens work in both. */
  auth?: 'token' | 'cert';
  /** Faults applied at start, by cluster name. */
  faults?: Record<string, Fault>;
  /** gitVersions at start, by cluster name (default: v1.28.x … v1.31.x, varying by cluster). */
  versions?: Record<string, string>;
  /** Port of the loopback control server: 0 = ephemeral, undefined = none. */
  controlPort?: number;
  /**
   * How cluster listeners get their ports: 'ephemeral' = bind(0) each; 'sequential' = walk the
   * ephemeral range from a random start (bind(0) gets slow past a few thousand ports).
   * Default: ephemeral up to 2,000 clusters, sequential above.
   */
  ports?: 'ephemeral' | 'sequential';
  /**
   * Generate every cluster's objects at start instead of on its first resource request (about
   * 0.1-0.3 s of CPU per 2,000 pods): for benchmarks that should not measure generation.
   */
  eager?: boolean;
}

export interface SimCluster {
  name: string;
  /** https://127.0.0.1:PORT */
  server: string;
  port: number;
  /** Admin bearer token (current; rotateToken replaces it). */
  token: string;
  /** Read-only bearer token: reads allowed except secrets, writes answer 403. */
  viewerToken: string;
  /** Current /version gitVersion. */
  version: string;
  caPem: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

export interface SimStats {
  requests: number;
  /** Requests per cluster name (only clusters that received any). */
  byCluster: Record<string, number>;
  /** Clusters whose objects have been generated. */
  generatedClusters: number;
  /** exec/attach/port-forward sessions served, by "KIND TRANSPORT PROTOCOL", e.g. "exec spdy v4.channel.k8s.io". */
  streams: Record<string, number>;
}

export interface Simulator {
  /** Live records: token, version and client certificate change in place on rotation and setVersion. */
  clusters: SimCluster[];
  caPem: string;
  kubeconfig(opts?: { names?: string[]; current?: string }): string;
  singleKubeconfig(name: string): string;
  cluster(name: string): SimCluster;
  setFault(name: string, fault: Partial<Fault>): Promise<void>;
  fault(name: string): Required<Fault>;
  setVersion(name: string, gitVersion: string): void;
  /** New admin token; the old one answers 401 from now on. */
  rotateToken(name: string): string;
  /** New client certificate (auth 'cert'); the old one answers 401 from now on. */
  rotateClientCert(name: string): Promise<SimCluster>;
  stats(): SimStats;
  controlUrl?: string;
  /** Milliseconds startSimulator took. */
  startMs: number;
  stop(): Promise<void>;
}

/** Clusters whose listeners (and client certificates) are set up at once at start. */
const kListenBatch = 200;

/** The default gitVersion of the cluster with 0-based index i: v1.28.0, v1.29.0, v1.30.0, v1.31.0, v1.28.1, ... */
export function defaultVersion(i: number): string {
  return `v1.${28 + (i % 4)}.${Math.floor(i / 4) % 12}`;
}

export function clusterName(prefix: string, i: number): string {
  return `${prefix}-${String(i + 1).padStart(4, '0')}`;
}

export async function startSimulator(opts: SimOptions): Promise<Simulator> {
  const t0 = performance.now();
  const count = Math.floor(opts.clusters);
  if (!(count >= 1)) throw new Error('startSimulator: clusters must be at least 1');
  if (opts.host && opts.host !== '127.0.0.1') throw new Error('startSimulator: only 127.0.0.1 is supported');
  const prefix = opts.namePrefix ?? 'sim';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(prefix)) throw new Error(`startSimulator: invalid namePrefix "${prefix}"`);
  const seed = opts.seed ?? 1;
  const pods = Math.max(0, Math.floor(opts.podsPerCluster ?? 20));
  const auth = opts.auth ?? 'token';

  const ca = await createCertificateAuthority();
  const serverCert = await ca.issue({ commonName: 'fleetgate-sim', server: true });
  const sequentialPorts = (opts.ports ?? (count > 2000 ? 'sequential' : 'ephemeral')) === 'sequential';
  const engine = new SimEngine({ auth, sequentialPorts, caPem: ca.certPem, serverCertPem: serverCert.certPem, serverKeyPem: serverCert.keyPem });

  const runtimes: ClusterRuntime[] = [];
  for (let i = 0; i < count; i++) {
    const name = clusterName(prefix, i);
    const rt = new ClusterRuntime(name, i, seed, Math.max(0, Math.floor(opts.podsByCluster?.[name] ?? pods)), opts.versions?.[name] ?? defaultVersion(i));
    runtimes.push(rt);
    engine.add(rt);
  }
  const records = new Map<string, SimCluster>();

  const issueClientCert = async (rt: ClusterRuntime) => {
    const c = await ca.issue({ commonName: `admin@${rt.name}`, organization: 'system:masters' });
    rt.clientCertPem = c.certPem;
    rt.clientKeyPem = c.keyPem;
    rt.clientFingerprint = fingerprint256(c.certPem);
  };

  try {
    for (let i = 0; i < runtimes.length; i += kListenBatch) {
      await Promise.all(
        runtimes.slice(i, i + kListenBatch).map(async (rt) => {
          if (auth === 'cert') await issueClientCert(rt);
          await engine.listen(rt);
        }),
      );
    }
  } catch (err) {
    await engine.stop();
    throw err;
  }

  const sync = (rt: ClusterRuntime): SimCluster => {
    let r = records.get(rt.name);
    if (!r) {
      r = { name: rt.name, server: `https://127.0.0.1:${rt.port}`, port: rt.port, token: '', viewerToken: '', version: '', caPem: ca.certPem };
      records.set(rt.name, r);
    }
    r.token = rt.token;
    r.viewerToken = rt.viewerToken;
    r.version = rt.version;
    if (rt.clientCertPem) {
      r.clientCertPem = rt.clientCertPem;
      r.clientKeyPem = rt.clientKeyPem;
    }
    return r;
  };
  const clusters = runtimes.map(sync);

  const runtime = (name: string): ClusterRuntime => {
    const rt = engine.byName.get(name);
    if (!rt) throw new Error(`simulator: no cluster named "${name}"`);
    return rt;
  };

  if (opts.eager) {
    for (const rt of runtimes) {
      void rt.store;
      // Let the event loop breathe between clusters (the listeners are already up).
      await new Promise((r) => setImmediate(r));
    }
  }
  for (const [name, f] of Object.entries(opts.faults ?? {})) await engine.setFault(runtime(name), f);

  let control: { url: string; close(): Promise<void> } | undefined;
  const sim: Simulator = {
    clusters,
    caPem: ca.certPem,
    startMs: 0,
    kubeconfig(o) {
      const list = o?.names ? o.names.map((n) => sync(runtime(n))) : clusters;
      return renderKubeconfig(list, o?.current);
    },
    singleKubeconfig(name) {
      return renderKubeconfig([sync(runtime(name))]);
    },
    cluster(name) {
      return sync(runtime(name));
    },
    async setFault(name, fault) {
      await engine.setFault(runtime(name), fault);
    },
    fault(name) {
      return { ...runtime(name).fault };
    },
    setVersion(name, gitVersion) {
      const rt = runtime(name);
      rt.setVersion(gitVersion);
      sync(rt);
    },
    rotateToken(name) {
      const rt = runtime(name);
      rt.token = newToken();
      sync(rt);
      return rt.token;
    },
    async rotateClientCert(name) {
      const rt = runtime(name);
      if (auth !== 'cert') throw new Error('simulator: rotateClientCert needs auth "cert"');
      await issueClientCert(rt);
      // Connections authenticated with the old certificate keep it for their lifetime: drop them.
      for (const s of rt.sockets) s.destroy();
      return sync(rt);
    },
    stats() {
      const byCluster: Record<string, number> = {};
      let generated = 0;
      for (const rt of runtimes) {
        if (rt.requests) byCluster[rt.name] = rt.requests;
        if (rt.generated) generated++;
      }
      return { requests: engine.requests, byCluster, generatedClusters: generated, streams: Object.fromEntries(engine.streams) };
    },
    async stop() {
      await control?.close();
      await engine.stop();
    },
  };
  if (opts.controlPort !== undefined) {
    try {
      control = await startControlServer(sim, opts.controlPort);
    } catch (err) {
      await engine.stop();
      throw err;
    }
    sim.controlUrl = control.url;
  }
  sim.startMs = performance.now() - t0;
  return sim;
}
