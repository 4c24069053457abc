import { describe, expect, it, vi } from 'vitest';
import type { ClientConfig, IndexEntryInput } from '../../src/index/types.js';
import { SyncEngine, type ProbeResult, type SyncDeps, type SyncRow } from '../../src/sync/engine.js';
import { eventually } from '../helpers/server.js';
import { kSyncStatsUsedBytes, SyncStats } from '../../src/sync/stats.js';

/** A fake world: a table of rows, probes answered by a per-server script, and every commit recorded. */
function world() {
  const rows: SyncRow[] = [];
  const commits: IndexEntryInput[][] = [];
  const probes: string[] = [];
  const pending = new Map<string, Array<(r: ProbeResult) => void>>();
  const answers = new Map<string, ProbeResult | 'hang'>();
  let builds = 0;
  const deps: SyncDeps = {
    listRows: () => [...rows].sort((a, b) => a.name.localeCompare(b.name)),
    publish: (entries) => {
      commits.push(entries.map((e) => ({ ...e })));
      return { generation: commits.length, holdNs: 1000 };
    },
    initialSnapshot: () => [],
    buildClient: (row) => {
      builds++;
      if (row.config.startsWith('bad')) throw new Error('user "u" runs an exec plugin; refused');
      return { server: row.config, caData: '', certData: '', keyData: '', token: 't', tlsServerName: '', insecure: false, proxyUrl: '' };
    },
    hashConfig: ({ config, prometheusUrl, enabled }) => `${config.server}|${prometheusUrl}|${enabled}`,
    probe: (client: ClientConfig) => {
      probes.push(client.server);
      const a = answers.get(client.server) ?? { ok: true, gitVersion: 'v1.30.0' };
      if (a === 'hang') return new Promise((resolve) => pending.set(client.server, [...(pending.get(client.server) ?? []), resolve]));
      return Promise.resolve(a);
    },
  };
  const row = (id: number, name: string, extra: Partial<SyncRow> = {}): SyncRow => ({
    id,
    name,
    description: '',
    config: `https://${name}`,
    prometheusUrl: '',
    inCluster: false,
    isDefault: false,
    enabled: true,
    ...extra,
  });
  const last = () => commits[commits.length - 1]!;
  const byName = (n: string) => last().find((e) => e.name === n);
  return { rows, commits, probes, pending, answers, deps, row, last, byName, builds: () => builds };
}

describe('SyncEngine', () => {
  it('commits new clusters as building, then ok with the probed version', async () => {
    const w = world();
    w.rows.push(w.row(1, 'a'), w.row(2, 'b'));
    w.answers.set('https://b', { ok: true, gitVersion: 'v1.29.3' });
    const engine = new SyncEngine(w.deps, { probeCommitMs: 1 });
    engine.pass();
    expect(w.last().map((e) => [e.name, e.state])).toEqual([
      ['a', 'building'],
      ['b', 'building'],
    ]);
    await engine.idle();
    expect(w.byName('a')).toMatchObject({ state: 'ok', version: 'v1.30.0', generation: 1 });
    expect(w.byName('b')).toMatchObject({ state: 'ok', version: 'v1.29.3' });
    expect(w.byName('a')!.probedAt).toBeGreaterThan(0);
  });

  it('a hanging cluster does not hold back the others\' commits', async () => {
    const w = world();
    w.rows.push(w.row(1, 'dead'), w.row(2, 'live'));
    w.answers.set('https://dead', 'hang');
    const engine = new SyncEngine(w.deps, { probeCommitMs: 1 });
    engine.pass();
    // The live cluster's probe answers and commits while the dead one's is still outstanding.
    await eventually(async () => w.byName('live')?.state === 'ok');
    expect(w.byName('live')).toMatchObject({ state: 'ok' });
    expect(w.byName('dead')).toMatchObject({ state: 'building' });
    // The probe's timeout is the probe function's job; when it gives up, the error is committed.
    w.pending.get('https://dead')![0]!({ ok: false, error: 'timed out after 5000 ms' });
    await engine.idle();
    expect(w.byName('dead')).toMatchObject({ state: 'error', error: 'timed out after 5000 ms' });
    expect(w.byName('dead')!.errorAt).toBeGreaterThan(0);
    engine.stop();
  });

  it('rebuilds only changed rows and bumps the entry generation only when the config changed', async () => {
    const w = world();
    w.rows.push(w.row(1, 'a'), w.row(2, 'b'));
    const engine = new SyncEngine(w.deps, { probeCommitMs: 1 });
    engine.pass();
    await engine.idle();
    const builds = w.builds();
    const probes = w.probes.length;
    w.rows[1] = { ...w.rows[1]!, description: 'renamed text' };
    engine.pass();
    await engine.idle();
    expect(w.builds()).toBe(builds); // description is not a client input
    expect(w.probes.length).toBe(probes); // nor a reason to re-probe
    expect(w.byName('b')).toMatchObject({ description: 'renamed text', generation: 1, state: 'ok' });
    w.rows[1] = { ...w.rows[1]!, config: 'https://b2' };
    engine.pass();
    expect(w.byName('b')).toMatchObject({ generation: 2, state: 'building', version: 'v1.30.0' });
    expect(w.byName('b')!.client.server).toBe('https://b2');
    expect(w.byName('a')!.generation).toBe(1);
    await engine.idle();
    expect(w.byName('b')).toMatchObject({ generation: 2, state: 'ok' });
    engine.stop();
  });

  it('drops deleted rows, shows disabled ones, refuses bad configs with their reason, and never probes them', async () => {
    const w = world();
    w.rows.push(w.row(1, 'a'), w.row(2, 'b', { enabled: false }), w.row(3, 'c', { config: 'bad-exec' }));
    const engine = new SyncEngine(w.deps, { probeCommitMs: 1 });
    engine.pass();
    await engine.idle();
    expect(w.byName('b')).toMatchObject({ state: 'disabled' });
    expect(w.byName('c')).toMatchObject({ state: 'error' });
    expect(w.byName('c')!.error).toContain('exec plugin');
    expect(w.probes).toEqual(['https://a']);
    w.rows.splice(0, 1);
    engine.pass();
    expect(w.byName('a')).toBeUndefined();
    engine.stop();
  });

  it('picks the marked default, else the first enabled cluster by name', () => {
    const w = world();
    w.rows.push(w.row(1, 'b'), w.row(2, 'a', { enabled: false }), w.row(3, 'c'));
    const engine = new SyncEngine(w.deps, { probeCommitMs: 1 });
    engine.pass();
    expect(w.last().filter((e) => e.isDefault).map((e) => e.name)).toEqual(['b']);
    w.rows[2] = { ...w.rows[2]!, isDefault: true };
    engine.pass();
    expect(w.last().filter((e) => e.isDefault).map((e) => e.name)).toEqual(['c']);
    engine.stop();
  });

  it('retries a failing cluster with exponential backoff, without a sync pass', async () => {
    const w = world();
    w.rows.push(w.row(1, 'flaky'));
    w.answers.set('https://flaky', { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:1' });
    // Timers and the clock are faked, so the schedule is exact whatever the machine is doing.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const engine = new SyncEngine(w.deps, { probeCommitMs: 1, backoffBaseMs: 20, resyncIntervalMs: 60_000 });
      engine.pass();
      // Attempts at 0, +20, +40, +80 ms after each failure: t = 0, 20, 60, 140; the next is at 300.
      await vi.advanceTimersByTimeAsync(200);
      expect(w.probes.length).toBe(4);
      await vi.advanceTimersByTimeAsync(99);
      expect(w.probes.length).toBe(4);
      w.answers.set('https://flaky', { ok: true, gitVersion: 'v1.31.1' });
      await vi.advanceTimersByTimeAsync(10);
      expect(w.probes.length).toBe(5);
      await vi.advanceTimersByTimeAsync(10);
      expect(w.byName('flaky')).toMatchObject({ state: 'ok', version: 'v1.31.1', error: '' });
      engine.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('bounds probe concurrency', async () => {
    const w = world();
    for (let i = 0; i < 10; i++) {
      w.rows.push(w.row(i + 1, `c${i}`));
      w.answers.set(`https://c${i}`, 'hang');
    }
    const engine = new SyncEngine(w.deps, { probeCommitMs: 1, probeConcurrency: 3 });
    engine.pass();
    expect(w.probes.length).toBe(3);
    w.pending.get('https://c0')![0]!({ ok: true, gitVersion: 'v1' });
    // The freed place goes to the next waiting cluster, and to no more than one.
    await eventually(async () => w.probes.length >= 4);
    expect(w.probes.length).toBe(4);
    engine.stop();
  });

  it('keeps per-entry generations across a restart by adopting the index snapshot', () => {
    const w = world();
    w.rows.push(w.row(1, 'a'));
    w.deps.initialSnapshot = () => [
      {
        id: 1, name: 'a', description: '', enabled: true, isDefault: true, inCluster: false, state: 'ok', version: 'v1.28.0',
        error: '', errorAt: 0, probedAt: 5, configHash: 'https://a||true', generation: 7, prometheusUrl: '',
        client: { server: 'https://a', caData: '', certData: '', keyData: '', token: 't', tlsServerName: '', insecure: false, proxyUrl: '' },
        indexGeneration: 40,
      },
    ];
    const engine = new SyncEngine(w.deps, { probeCommitMs: 1 });
    engine.pass({ resync: false });
    expect(w.byName('a')).toMatchObject({ generation: 7, state: 'ok', version: 'v1.28.0' });
    engine.stop();
  });

  it('counts content commits apart from no-op commits', async () => {
    const w = world();
    const stats = new SyncStats(new SharedArrayBuffer(kSyncStatsUsedBytes), 0, kSyncStatsUsedBytes);
    w.rows.push(w.row(1, 'a'));
    const engine = new SyncEngine({ ...w.deps, stats }, { probeCommitMs: 1 });
    engine.pass();
    await engine.idle(); // building → ok: a second content commit
    expect(stats.read()).toMatchObject({ commits: 2, contentCommits: 2 });
    engine.pass();
    engine.pass();
    expect(stats.read()).toMatchObject({ commits: 4, contentCommits: 2 });
    w.rows[0] = { ...w.rows[0]!, description: 'changed' };
    engine.pass();
    expect(stats.read()).toMatchObject({ commits: 5, contentCommits: 3 });
    w.rows.push(w.row(2, 'b', { enabled: false }));
    engine.pass();
    engine.pass();
    expect(stats.read()).toMatchObject({ commits: 7, contentCommits: 4 });
  });
});
