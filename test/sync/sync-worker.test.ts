// The sync worker end to end: a real thread, a real SQLite store, simulated clusters over HTTPS.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSharedMetrics } from '../../src/metrics/shared.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { eventually } from '../helpers/server.js';
import { startSyncHarness, type SyncHarness } from '../helpers/sync-harness.js';

describe('sync worker against simulated clusters', () => {
  let sim: Simulator;
  let h: SyncHarness;
  beforeAll(async () => {
    sim = await startSimulator({ clusters: 6 });
    h = await startSyncHarness({
      probeTimeoutMs: 2500,
      seed: (store) => {
        for (const c of sim.clusters.slice(0, 3)) store.clusters.create({ name: c.name, config: sim.singleKubeconfig(c.name) });
      },
    });
  });
  afterAll(async () => {
    await h?.stop();
    await sim?.stop();
  });

  const entry = (name: string) => h.reader.lookup(name);

  it('commits every cluster with its simulated version', async () => {
    await eventually(async () => sim.clusters.slice(0, 3).every((c) => entry(c.name)?.state === 'ok'));
    for (const c of sim.clusters.slice(0, 3)) {
      expect(entry(c.name)).toMatchObject({ state: 'ok', version: c.version, error: '' });
      expect(entry(c.name)!.probedAt).toBeGreaterThan(0);
    }
    // No row was marked default: the first enabled cluster by name is.
    expect(h.reader.lookupDefaultHead()?.name).toBe(sim.clusters[0]!.name);
    expect(h.reader.isReady()).toBe(true);
  });

  it('a new cluster appears once a sync request is served', async () => {
    const c = sim.clusters[3]!;
    h.store.clusters.create({ name: c.name, config: sim.singleKubeconfig(c.name), description: 'added' });
    await h.syncNow();
    expect(entry(c.name)).toMatchObject({ description: 'added' });
    expect(['building', 'ok']).toContain(entry(c.name)!.state);
    await eventually(async () => entry(c.name)?.state === 'ok');
    expect(entry(c.name)!.version).toBe(c.version);
  });

  it('picks up a changed kubeconfig: new server, new entry generation', async () => {
    const a = sim.clusters[0]!;
    const b = sim.clusters[4]!;
    const row = h.store.clusters.getByName(a.name)!;
    const before = entry(a.name)!;
    h.store.clusters.update(row.id, { config: sim.singleKubeconfig(b.name) });
    await h.syncNow();
    const after = entry(a.name)!;
    expect(after.client.server).toBe(b.server);
    expect(after.generation).toBe(before.generation + 1);
    await eventually(async () => entry(a.name)?.state === 'ok' && entry(a.name)?.version === b.version);
    h.store.clusters.update(row.id, { config: sim.singleKubeconfig(a.name) });
    await h.syncNow();
  });

  it('shows a disabled cluster as disabled and a deleted one vanishes', async () => {
    const c = sim.clusters[1]!;
    const row = h.store.clusters.getByName(c.name)!;
    h.store.clusters.update(row.id, { enabled: false });
    await h.syncNow();
    expect(entry(c.name)).toMatchObject({ state: 'disabled', enabled: false });
    h.store.clusters.delete(row.id);
    await h.syncNow();
    expect(entry(c.name)).toBeUndefined();
    expect(h.reader.list().map((e) => e.name)).not.toContain(c.name);
  });

  it('a down or hanging cluster shows error with its reason while the others stay ok and commit on time', async () => {
    const down = sim.clusters[2]!;
    const fresh = sim.clusters[4]!;
    const hang = sim.clusters[5]!;
    await sim.setFault(down.name, { down: true });
    await sim.setFault(hang.name, { hang: true });
    h.store.clusters.create({ name: 'down-one', config: sim.singleKubeconfig(down.name) });
    h.store.clusters.create({ name: 'hanging-one', config: sim.singleKubeconfig(hang.name) });
    h.store.clusters.create({ name: 'fresh-one', config: sim.singleKubeconfig(fresh.name) });
    await h.syncNow();
    await eventually(async () => entry('fresh-one')?.state === 'ok', 5000, 10);
    // The healthy newcomer is committed before the hanging probe's 2.5 s timeout has ended it.
    expect(entry('hanging-one')!.state).toBe('building');
    await eventually(async () => entry('down-one')?.state === 'error', 5000);
    expect(entry('down-one')!.error).toMatch(/ECONNREFUSED/);
    await eventually(async () => entry('hanging-one')?.state === 'error', 10_000);
    expect(entry('hanging-one')!.error).toMatch(/timed out after 2500 ms/);
    expect(entry('hanging-one')!.errorAt).toBeGreaterThan(0);
    // Everyone else kept serving.
    expect(entry(sim.clusters[0]!.name)!.state).toBe('ok');
    await sim.setFault(hang.name, { hang: false });
    await sim.setFault(down.name, { down: false });
  });

  it('refuses a kubeconfig whose user runs an exec plugin, and runs nothing', async () => {
    const marker = join(h.dataDir, 'exec-ran');
    const script = join(h.dataDir, 'plugin.sh');
    writeFileSync(script, `#!/bin/sh\ntouch ${marker}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"x"}}'\n`, { mode: 0o755 });
    const config = [
      'apiVersion: v1',
      'kind: Config',
      'current-context: x',
      'contexts: [{name: x, context: {cluster: x, user: x}}]',
      `clusters: [{name: x, cluster: {server: "${sim.clusters[3]!.server}", insecure-skip-tls-verify: true}}]`,
      `users: [{name: x, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: "${script}"}}}]`,
    ].join('\n');
    h.store.clusters.create({ name: 'exec-user', config });
    await h.syncNow();
    const e = entry('exec-user')!;
    expect(e.state).toBe('error');
    expect(e.error).toMatch(/exec plugin/);
    // Refused while reading the kubeconfig, before any probe: a plugin that had been started
    // would have been awaited for its credential by this pass, so its marker would exist now.
    expect(existsSync(marker)).toBe(false);
  });

  it('picks up a change made directly in the database by another process, without a sync request', async () => {
    const c = sim.clusters[3]!;
    const row = h.store.clusters.getByName(c.name)!;
    // Another OS process, its own connection: a plain UPDATE of a non-secret column.
    execFileSync(process.execPath, [
      '-e',
      `const D=require('better-sqlite3');const db=new D(process.argv[1]);db.prepare("update clusters set description='from-outside' where id=?").run(Number(process.argv[2]));db.close();`,
      join(h.dataDir, 'fleetgate.db'),
      String(row.id),
    ], { cwd: process.cwd() });
    await eventually(async () => entry(c.name)?.description === 'from-outside', 5000, 20);
  });

  it('keeps kubeconfigs encrypted at rest, in every file of the data directory (the WAL too)', () => {
    const files = readdirSync(h.dataDir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => join(d.parentPath, d.name));
    // Recent pages live in fleetgate.db-wal until a checkpoint: the database file alone proves little.
    expect(files.some((f) => f.endsWith('-wal'))).toBe(true);
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const c of sim.clusters) expect(bytes.includes(Buffer.from(c.token)), `${c.name}'s token in ${f}`).toBe(false);
    }
  });

  it('reports passes, commits, probes and clusters by state in shared memory', () => {
    const text = renderSharedMetrics(h.sab);
    const value = (re: RegExp) => Number(re.exec(text)?.[1]);
    expect(value(/^fleetgate_sync_passes_total (\d+)/m)).toBeGreaterThan(5);
    expect(value(/^fleetgate_index_commits_total (\d+)/m)).toBeGreaterThan(5);
    // Registering clusters and their probe results changed the index; later passes may not have.
    expect(value(/^fleetgate_index_content_commits_total (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^fleetgate_index_content_commits_total (\d+)/m)).toBeLessThanOrEqual(value(/^fleetgate_index_commits_total (\d+)/m));
    expect(value(/^fleetgate_probe_failures_total (\d+)/m)).toBeGreaterThanOrEqual(2);
    // exec-user stays refused; the down and hanging clusters may have recovered by now.
    expect(value(/^fleetgate_clusters\{state="error"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    // A commit may land between the two counters' reads; they never drift further apart.
    const drift = value(/^fleetgate_index_commits_total (\d+)/m) - value(/^fleetgate_commit_hold_microseconds_count (\d+)/m);
    expect(Math.abs(drift)).toBeLessThanOrEqual(1);
    expect(value(/^fleetgate_torn_reads_total (\d+)/m)).toBe(0);
    expect(value(/^fleetgate_lock_mode\{mode="rw"\} (\d+)/m)).toBe(1);
    expect(value(/^fleetgate_lock_mode\{mode="none"\} (\d+)/m)).toBe(0);
  });
});
