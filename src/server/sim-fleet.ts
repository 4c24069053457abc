/**
 * `fleetgate serve --sim N`: start N simulated clusters in this process and register them, so a
 * newcomer without a cluster sees a working fleet from one command. The simulator generates a new
 * CA and new ports on every run, so rows of simulated clusters from an earlier run are updated
 * in place (same id, same name) rather than duplicated.
 */
import { startSimulator, type Simulator } from '../sim/index.js';
import type { StoreBackend } from '../store/index.js';

export interface SimHandle {
  sim: Simulator;
}

export async function registerSimulated(store: StoreBackend, clusters: number, podsPerCluster: number): Promise<SimHandle> {
  const sim = await startSimulator({ clusters, podsPerCluster });
  const hasDefault = (await store.clusters.listForSync()).some((r) => r.isDefault);
  for (const [i, c] of sim.clusters.entries()) {
    const config = sim.singleKubeconfig(c.name);
    const existing = await store.clusters.getByName(c.name);
    if (existing) await store.clusters.update(existing.id, { config });
    else
      await store.clusters.create({
        name: c.name,
        description: `simulated cluster ${c.name} (${c.version})`,
        config,
        isDefault: !hasDefault && i === 0,
      });
  }
  return { sim };
}
