// Per-cluster faults in a sync pass: each costs its own cluster (error state with the reason),
// never the commit of the others.
import { describe, expect, it } from 'vitest';
import { IndexCapacityError } from '../../src/index/index.js';
import type { IndexEntryInput } from '../../src/index/types.js';
import { SyncEngine, type SyncDeps, type SyncRow } from '../../src/sync/engine.js';
import { createSharedRegion, kSyncStatsRegionBytes, kSyncStatsOffset, headInt32, kReadyWord } from '../../src/shm/layout.js';
import { SyncStats } from '../../src/sync/stats.js';
import { notReadyReason } from '../../src/sync/readiness.js';

function row(id: number, name: string, extra: Partial<SyncRow> = {}): SyncRow {
  return { id, name, description: '', config: `https://${name}`, prometheusUrl: '', inCluster: false, isDefault: false, enabled: true, ...extra };
}

function deps(rows: SyncRow[], roomFor: (entries: IndexEntryInput[]) => boolean, commits: IndexEntryInput[][]): SyncDeps {
  return {
    listRows: () => rows,
    publish: (entries) => {
      if (!roomFor(entries)) throw new IndexCapacityError('index: the next index needs more bytes than the shared buffer can grow to');
      commits.push(entries.map((e) => ({ ...e })));
      return { generation: commits.length, holdNs: 1 };
    },
    initialSnapshot: () => [],
    buildClient: (r) => {
      if (r.config.startsWith('exec')) throw new Error('user "u" runs an exec plugin; fleetgate refuses kubeconfigs that run commands on the server');
      return { server: r.config, caData: r.description === 'huge' ? 'x'.repeat(1 << 20) : '', certData: '', keyData: '', token: 't', tlsServerName: '', insecure: false, proxyUrl: '' };
    },
    hashConfig: ({ config }) => config.server + config.caData.length,
    probe: async () => ({ ok: true, gitVersion: 'v1.31.0' }),
  };
}

describe('SyncEngine fault isolation', () => {
  it('an undecryptable row, a refused exec plugin and an entry too large for the index each error only their cluster', () => {
    const rows = [
      row(1, 'a'),
      row(2, 'b', { config: '', configError: 'cannot decrypt the kubeconfig of cluster "b": the encryption key does not match' }),
      row(3, 'c', { config: 'exec://c' }),
      row(4, 'd', { description: 'huge' }),
      row(5, 'e'),
    ];
    const commits: IndexEntryInput[][] = [];
    // The "index" holds at most 64 KiB of CA data in all.
    const room = (es: IndexEntryInput[]) => es.reduce((n, e) => n + e.client.caData.length, 0) <= 64 * 1024;
    const engine = new SyncEngine(deps(rows, room, commits), { probeCommitMs: 1 });
    engine.pass();
    engine.stop();
    const last = commits[commits.length - 1]!;
    const byName = Object.fromEntries(last.map((e) => [e.name, e]));
    expect(Object.keys(byName)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect([byName.a!.state, byName.e!.state]).toEqual(['building', 'building']);
    expect(byName.a!.client.server).toBe('https://a');
    expect(byName.b).toMatchObject({ state: 'error', error: expect.stringMatching(/cannot decrypt/) });
    expect(byName.c).toMatchObject({ state: 'error', error: expect.stringMatching(/exec plugin/) });
    expect(byName.d).toMatchObject({ state: 'error', error: expect.stringMatching(/no room for this cluster's entry/) });
    expect(byName.d!.client.caData).toBe('');
  });

  it('an error that is not about room still fails the pass (a bug is not hidden)', () => {
    const commits: IndexEntryInput[][] = [];
    const d = deps([row(1, 'a')], () => true, commits);
    d.publish = () => {
      throw new Error('encoder bug');
    };
    expect(() => new SyncEngine(d).pass()).toThrow('encoder bug');
  });
});

describe('notReadyReason', () => {
  it('ready after the first commit; not ready while the sync worker restarts or after three intervals without a commit', () => {
    const sab = createSharedRegion();
    const stats = new SyncStats(sab, kSyncStatsOffset, kSyncStatsRegionBytes);
    expect(notReadyReason(sab, 1000)).toMatch(/first cluster sync has not committed/);
    Atomics.store(headInt32(sab), kReadyWord, 1);
    stats.recordCommit(1, { ok: 1, error: 0, building: 0, disabled: 0 });
    const t = stats.read().lastCommitAt;
    expect(notReadyReason(sab, 1000, t + 2999)).toBeUndefined();
    expect(notReadyReason(sab, 1000, t + 3001)).toMatch(/no cluster sync has committed for 3 s/);
    stats.setSyncDownSince(t);
    expect(notReadyReason(sab, 1000, t + 10)).toMatch(/sync worker exited .* restarting/);
    stats.setSyncDownSince(0);
    expect(notReadyReason(sab, 1000, t + 10)).toBeUndefined();
  });

  it('not ready when a canary word of the shared region was overwritten', () => {
    const sab = createSharedRegion();
    Atomics.store(headInt32(sab), kReadyWord, 1);
    expect(notReadyReason(sab, 1000)).toBeUndefined();
    // The canary at the end of the sync stats block: the word a run-away stats write would hit.
    new Int32Array(sab)[(kSyncStatsOffset + kSyncStatsRegionBytes) / 4] = 0;
    expect(notReadyReason(sab, 1000)).toMatch(/shared memory region is corrupt/);
  });
});
