/** The load suite's client of the simulator's control interface, against the real simulator. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { HttpSimControl } from '../../load/sim-control.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ clusters: 2, controlPort: 0 });
});
afterAll(async () => {
  await sim?.stop();
});

describe('HttpSimControl', () => {
  it('switches versions and rotates tokens', async () => {
    const c = new HttpSimControl(sim.controlUrl!);
    const before = await c.clusters();
    expect(before.map((x) => x.name)).toEqual(['sim-0001', 'sim-0002']);
    await c.setVersion('sim-0002', 'v1.41.7-churn');
    expect(sim.cluster('sim-0002').version).toBe('v1.41.7-churn');
    const token = await c.rotateToken('sim-0001');
    expect(token).not.toBe(before[0]!.token);
    expect(sim.cluster('sim-0001').token).toBe(token);
    await expect(c.setVersion('nope', 'v1.2.3')).rejects.toThrow(/404/);
  });
});
