/**
 * SyncEngine.reprobe: on the PostgreSQL backend a non-prober applies results another replica
 * recorded by probing those clusters again, at once, without a pass and without backoff.
 */
import { describe, expect, it } from 'vitest';
import type { IndexEntryInput } from '../../src/index/types.js';
import { SyncEngine, type ProbeResult, type SyncDeps, type SyncRow } from '../../src/sync/engine.js';

function row(id: number, name: string): SyncRow {
  return { id, name, description: '', config: `https://${name}`, prometheusUrl: '', inCluster: false, isDefault: false, enabled: true };
}

describe('SyncEngine.reprobe', () => {
  it('probes the named clusters now, skipping backoff, and commits their new state; others are left alone', async () => {
    const commits: IndexEntryInput[][] = [];
    const probes: string[] = [];
    const answers = new Map<string, ProbeResult>([
      ['https://a', { ok: false, error: 'no result yet' }],
      ['https://b', { ok: true, gitVersion: 'v1.30.0' }],
    ]);
    const deps: SyncDeps = {
      listRows: () => [row(1, 'a'), row(2, 'b')],
      publish: (entries) => {
        commits.push(entries.map((e) => ({ ...e })));
        return { generation: commits.length, holdNs: 1 };
      },
      initialSnapshot: () => [],
      buildClient: (r) => ({ server: r.config, caData: '', certData: '', keyData: '', token: '', tlsServerName: '', insecure: false, proxyUrl: '' }),
      hashConfig: ({ config }) => config.server,
      probe: async (client) => {
        probes.push(client.server);
        return answers.get(client.server)!;
      },
    };
    // A long backoff: without reprobe, 'a' would not be probed again within this test.
    const engine = new SyncEngine(deps, { probeCommitMs: 1, backoffBaseMs: 3_600_000, resyncIntervalMs: 7_200_000 });
    engine.pass();
    await engine.idle();
    const state = (n: string) => commits[commits.length - 1]!.find((e) => e.name === n);
    expect(state('a')).toMatchObject({ state: 'error', error: 'no result yet' });
    expect(probes).toEqual(['https://a', 'https://b']);

    answers.set('https://a', { ok: true, gitVersion: 'v1.31.2' });
    engine.reprobe([1, 99]); // 99: no such cluster, ignored
    await engine.idle();
    expect(probes).toEqual(['https://a', 'https://b', 'https://a']);
    expect(state('a')).toMatchObject({ state: 'ok', version: 'v1.31.2', error: '' });
    expect(state('b')).toMatchObject({ state: 'ok', version: 'v1.30.0' });
    engine.stop();
  });
});
