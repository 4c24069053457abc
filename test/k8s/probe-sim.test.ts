/**
 * The config layer against the simulator: a kubeconfig from `fleetgate sim` goes through the
 * store's import, the normaliser and the probe, and each fault shows up as its short error.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClientConfig, probeVersion } from '../../src/k8s/index.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { open } from '../store/helpers.js';

let sim: Simulator;
let certSim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ clusters: 3 });
  certSim = await startSimulator({ clusters: 1, auth: 'cert', namePrefix: 'mtls' });
});
afterAll(async () => {
  await sim?.stop();
  await certSim?.stop();
});

describe('probeVersion against simulated clusters', () => {
  it('import → normalise → probe gives every cluster its simulated version', async () => {
    const store = open();
    const rows = store.clusters.importKubeconfig(sim.kubeconfig());
    expect(rows.map((r) => r.name).sort()).toEqual(sim.clusters.map((c) => c.name).sort());
    const results = await Promise.all(
      rows.map(async (r) => ({ name: r.name, res: await probeVersion(buildClientConfig(r).client, { timeoutMs: 5000 }) })),
    );
    for (const { name, res } of results) expect(res).toMatchObject({ ok: true, gitVersion: sim.cluster(name).version });
  });

  it('client-certificate auth', async () => {
    const name = certSim.clusters[0]!.name;
    const { client } = buildClientConfig({ config: certSim.singleKubeconfig(name), inCluster: false, prometheusUrl: '', enabled: true });
    expect(client.certData).toContain('BEGIN CERTIFICATE');
    expect(inspect(client)).not.toContain('PRIVATE KEY');
    expect(await probeVersion(client, { timeoutMs: 5000 })).toMatchObject({ ok: true, gitVersion: certSim.cluster(name).version });
  });

  it('down → refused, hang → timed out, rotated token → 401; the others stay ok', async () => {
    const [a, b, c] = sim.clusters.map((x) => x.name) as [string, string, string];
    const cfg = (n: string) => buildClientConfig({ config: sim.singleKubeconfig(n), inCluster: false, prometheusUrl: '', enabled: true }).client;
    const stale = cfg(c);
    await sim.setFault(a, { down: true });
    await sim.setFault(b, { hang: true });
    sim.rotateToken(c);
    try {
      const [ra, rb, rc] = await Promise.all([
        probeVersion(cfg(a), { timeoutMs: 1000 }),
        probeVersion(cfg(b), { timeoutMs: 1000 }),
        probeVersion(stale, { timeoutMs: 1000 }),
      ]);
      expect(ra).toMatchObject({ ok: false, error: expect.stringMatching(/^connect ECONNREFUSED 127\.0\.0\.1:\d+$/) });
      expect(rb).toMatchObject({ ok: false, error: 'timed out after 1000 ms' });
      expect(rc).toMatchObject({ ok: false, error: 'HTTP 401 Unauthorized' });
      expect(await probeVersion(cfg(c), { timeoutMs: 5000 })).toMatchObject({ ok: true });
    } finally {
      await sim.setFault(a, { down: false });
      await sim.setFault(b, { hang: false });
    }
    expect(await probeVersion(cfg(a), { timeoutMs: 5000 })).toMatchObject({ ok: true });
  });
});
