/**
 * fleetgate's Kubernetes API simulator, in-process API.
 *
 *   const sim = await startSimulator({ clusters: 100 });
 *   writeFileSync(path, sim.kubeconfig());
 *   await sim.setFault('sim-0003', { down: true });
 *   await sim.stop();
 *
 * See types.ts for the public types, server.ts for the request path and faults, generate.ts for
 * the objects, control.ts for the loopback control interface other processes use.
 */
import { createCertificateAuthority } from '../pki/certs.js';
import { ClusterRuntime, SimEngine, fingerprint256, newToken } from './server.js';
import { renderKubeconfig } from './kubeconfig.js';
import { startControlServer } from './control.js';
import type { SimCluster, SimOptions, Simulator } from './types.js';

export type { Fault } from './server.js';
export type { SimCluster, SimOptions, SimStats, Simulator } from './types.js';
export { kClusterAnnotation } from './store.js';

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
    const rt = new ClusterRuntime(name, seed, Math.max(0, Math.floor(opts.podsByCluster?.[name] ?? pods)), opts.versions?.[name] ?? defaultVersion(i));
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
