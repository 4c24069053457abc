import { afterAll, describe, expect, it } from 'vitest';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { req } from './helpers.js';

/** Soft limit of open files from /proc/self/limits (Linux), or 0 when unknown. */
function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : 0;
  } catch {
    return 0;
  }
}
const FD_LIMIT = openFileLimit();
if (FD_LIMIT < 12_000) console.warn(`test/sim/scale.test.ts: 10,000-cluster test skipped: open file limit ${FD_LIMIT || 'unknown'} < 12,000`);

describe('scale', () => {
  let sim: Simulator | undefined;
  afterAll(async () => {
    await sim?.stop();
  });

  it('starts 1,000 clusters in one process, each answering its own /version, objects generated lazily', async () => {
    const t0 = performance.now();
    sim = await startSimulator({ clusters: 1000 });
    const startMs = performance.now() - t0;
    console.log(`scale: 1,000 clusters started in ${Math.round(startMs)} ms (startMs ${Math.round(sim.startMs)})`);
    // The time is reported, not asserted (bench:sim measures start-up); what must hold is below.
    expect(sim.clusters.length).toBe(1000);
    expect(sim.clusters[999].name).toBe('sim-1000');
    expect(new Set(sim.clusters.map((c) => c.port)).size).toBe(1000);
    expect(sim.kubeconfig().match(/^- name: "sim-\d{4}"$/gm)?.length).toBe(2000); // clusters + contexts

    // Probe every cluster's /version over a keep-alive agent per cluster, 50 at a time.
    const t1 = performance.now();
    const versions: string[] = [];
    for (let i = 0; i < 1000; i += 50) {
      const batch = sim.clusters.slice(i, i + 50);
      const got = await Promise.all(batch.map((c) => req(c, '/version').then((r) => r.json.gitVersion)));
      versions.push(...got);
    }
    console.log(`scale: probed 1,000 /version (TLS handshake each) in ${Math.round(performance.now() - t1)} ms`);
    expect(versions).toEqual(sim.clusters.map((c) => c.version));
    expect(new Set(versions).size).toBeGreaterThan(10);
    expect(sim.stats().generatedClusters).toBe(0);

    const c = sim.clusters[500];
    const pods = await req(c, '/api/v1/pods');
    expect(pods.json.items.length).toBe(20);
    expect(sim.stats().generatedClusters).toBe(1);
    expect(sim.stats().requests).toBeGreaterThanOrEqual(1001);
  });

  it('chooses ports sequentially when asked (a downed cluster gets its port back); eager generates at start', async () => {
    const seq = await startSimulator({ clusters: 50, ports: 'sequential', namePrefix: 'seq', eager: true });
    try {
      expect(seq.stats().generatedClusters).toBe(50);
      const ports = seq.clusters.map((c) => c.port);
      expect(new Set(ports).size).toBe(50);
      for (const p of ports) expect(p).toBeGreaterThan(1024);
      const c = seq.clusters[7];
      await seq.setFault(c.name, { down: true });
      await seq.setFault(c.name, { down: false });
      expect(seq.cluster(c.name).port).toBe(c.port);
      expect((await req(c, '/version')).json.gitVersion).toBe(c.version);
    } finally {
      await seq.stop();
    }
  });

  it.skipIf(FD_LIMIT < 12_000)('starts 10,000 clusters in one process', async () => {
    const t0 = performance.now();
    const huge = await startSimulator({ clusters: 10_000, namePrefix: 'huge' });
    try {
      console.log(`scale: 10,000 clusters started in ${Math.round(performance.now() - t0)} ms, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`);
      expect(huge.clusters[9999].name).toBe('huge-10000');
      expect(new Set(huge.clusters.map((c) => c.port)).size).toBe(10_000);
      const sample = Array.from({ length: 40 }, (_, i) => huge.clusters[i * 250 + 3]);
      const versions = await Promise.all(sample.map((c) => req(c, '/version').then((r) => r.json.gitVersion)));
      expect(versions).toEqual(sample.map((c) => c.version));
    } finally {
      await huge.stop();
    }
  });

  it('serves a 5,000-pod cluster with pagination', async () => {
    const big = await startSimulator({ clusters: 1, podsPerCluster: 5000, namePrefix: 'big' });
    try {
      const c = big.clusters[0];
      const agent = new https.Agent({ keepAlive: true });
      const t = performance.now();
      const all = await req(c, '/api/v1/pods', { agent });
      console.log(`scale: first list of 5,000 pods (generation included) ${Math.round(performance.now() - t)} ms, ${(all.text.length / 1e6).toFixed(1)} MB`);
      expect(all.json.items.length).toBe(5000);
      let n = 0;
      let cont = '';
      do {
        const r = await req(c, `/api/v1/pods?limit=500${cont ? '&continue=' + encodeURIComponent(cont) : ''}`, { agent });
        n += r.json.items.length;
        cont = r.json.metadata.continue ?? '';
      } while (cont);
      expect(n).toBe(5000);
      const nodes = (await req(c, '/api/v1/nodes', { agent })).json.items;
      expect(nodes.length).toBe(200);
      agent.destroy();
    } finally {
      await big.stop();
    }
  });
});
