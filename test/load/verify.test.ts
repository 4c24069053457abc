import { describe, expect, it } from 'vitest';
import { WriteRegistry } from '../../load/registry.js';
import { churnDescription, churnName, descriptionMismatch, fnv1a, parseChurnName, stableDescription } from '../../load/scheme.js';
import { checkClusterList, checkErrorResponse, checkItemList, checkOverview, checkResponse, emptyNotes } from '../../load/verify.js';

function registry(): WriteRegistry {
  const reg = new WriteRegistry('churn');
  reg.recordSimVersion('sim-0001', 'v1.28.3');
  reg.recordSimVersion('sim-0002', 'v1.29.1');
  reg.recordSimVersion('sim-0003', 'v1.30.0');
  reg.recordStable('sim-0001', 'sim-0001', stableDescription('sim-0001', 0));
  reg.recordChurn(churnName('churn', 0, 1), churnDescription('churn', 0, 1, 0), 'sim-0003');
  reg.recordChurn(churnName('churn', 0, 1), churnDescription('churn', 0, 1, 1));
  reg.recordChurn(churnName('churn', 0, 2), churnDescription('churn', 0, 2, 0));
  return reg;
}

const entry = (name: string, description: string, version = '', extra: Record<string, unknown> = {}) => ({
  name,
  version,
  isDefault: false,
  state: 'ok',
  description,
  ...extra,
});

const good = () => [
  entry('churn-0-r1', churnDescription('churn', 0, 1, 1), 'v1.30.0'),
  entry('sim-0001', stableDescription('sim-0001', 0), 'v1.28.3', { isDefault: true }),
];

describe('scheme', () => {
  it('hashes deterministically and parses names', () => {
    expect(fnv1a('')).toBe('811c9dc5');
    expect(fnv1a('a')).toBe('e40c292c');
    expect(parseChurnName('churn-3-r12', 'churn')).toEqual({ prefix: 'churn', slot: 3, rev: 12 });
    expect(parseChurnName('churn-x-3-r12', 'churn')).toBeUndefined();
    expect(parseChurnName('sim-0001', 'churn')).toBeUndefined();
  });
  it('tells mixed revisions from a bad checksum', () => {
    expect(descriptionMismatch('churn-0-r2', churnDescription('churn', 0, 2, 5), 'churn-0', 2)).toBeUndefined();
    expect(descriptionMismatch('churn-0-r2', churnDescription('churn', 0, 1, 0), 'churn-0', 2)).toMatch(/two revisions mixed/);
    expect(descriptionMismatch('churn-0-r2', churnDescription('churn', 1, 2, 0), 'churn-0', 2)).toMatch(/two entries mixed/);
    expect(descriptionMismatch('churn-0-r2', 'churn-0 rev 2 d0 sum 00000000 pad ', 'churn-0', 2)).toMatch(/checksum/);
    const good = churnDescription('churn', 0, 2, 5);
    expect(descriptionMismatch('churn-0-r2', good + '.', 'churn-0', 2)).toMatch(/pad characters/);
    expect(new Set([0, 1, 2, 3, 4, 5, 6, 7].map((d) => churnDescription('churn', 0, 2, d).length)).size).toBeGreaterThan(4);
    expect(descriptionMismatch('churn-0-r2', 'garbage', 'churn-0', 2)).toMatch(/scheme/);
  });
});

describe('checkClusterList', () => {
  it('accepts a consistent list', () => {
    expect(checkClusterList(JSON.stringify(good()), registry())).toBeUndefined();
    const g = good();
    expect(checkClusterList(JSON.stringify([g[0], entry('churn-0-r2', churnDescription('churn', 0, 2, 0), 'v1.30.0'), g[1]]), registry())).toBeUndefined();
  });
  it('rejects unparsable JSON and non-arrays', () => {
    expect(checkClusterList('[{"name":"sim-0001"', registry())).toMatch(/JSON does not parse/);
    expect(checkClusterList('{}', registry())).toMatch(/not a JSON array/);
  });
  it('rejects an unsorted list and duplicates', () => {
    expect(checkClusterList(JSON.stringify(good().reverse()), registry())).toMatch(/not sorted/);
    const g = good();
    expect(checkClusterList(JSON.stringify([g[0], g[0], g[1]]), registry())).toMatch(/duplicate/);
  });
  it('rejects entries never written, and mixed revisions', () => {
    const g = good();
    expect(checkClusterList(JSON.stringify([entry('churn-0-r0', churnDescription('churn', 0, 0, 0)), g[1]]), registry())).toMatch(/never written/);
    expect(checkClusterList(JSON.stringify([entry('churn-0-r2', churnDescription('churn', 0, 1, 1)), g[1]]), registry())).toMatch(/two revisions mixed/);
    // Scheme-valid but never written for this name (d9 never sent).
    expect(checkClusterList(JSON.stringify([entry('churn-0-r1', churnDescription('churn', 0, 1, 9)), g[1]]), registry())).toMatch(/never written for this name/);
  });
  it('rejects versions the simulator never served to that cluster', () => {
    const g = good();
    // sim-0002's version on a cluster backed by sim-0001 only.
    expect(checkClusterList(JSON.stringify([g[0], { ...g[1], version: 'v1.29.1' }]), registry())).toMatch(/never served/);
    expect(checkClusterList(JSON.stringify([{ ...g[0], version: '' }, g[1]]), registry())).toBeUndefined();
  });
  it('rejects bad field types, two defaults and a missing stable cluster', () => {
    const g = good();
    expect(checkClusterList(JSON.stringify([{ ...g[0], isDefault: 'yes' }, g[1]]), registry())).toMatch(/isDefault/);
    expect(checkClusterList(JSON.stringify([{ ...g[0], state: 'okk' }, g[1]]), registry())).toMatch(/state/);
    expect(checkClusterList(JSON.stringify([{ ...g[0], isDefault: true }, g[1]]), registry())).toMatch(/2 entries are marked default/);
    expect(checkClusterList(JSON.stringify([g[0]]), registry())).toMatch(/stable cluster "sim-0001" is missing/);
  });
  it('counts entries without description instead of failing them', () => {
    const notes = emptyNotes();
    const g = good().map(({ description: _d, ...rest }) => rest);
    expect(checkClusterList(JSON.stringify(g), registry(), notes)).toBeUndefined();
    expect(notes.missingDescription).toBe(2);
  });
  it('in lenient mode judges only names that are ours', () => {
    const reg = new WriteRegistry('churn-ab12', false);
    const list = [entry('anything', 'free text', 'v9'), entry('prod', '')];
    expect(checkClusterList(JSON.stringify(list), reg)).toBeUndefined();
    expect(checkClusterList(JSON.stringify([entry('churn-ab12-0-r1', 'x')]), reg)).toMatch(/never written/);
  });
});

describe('resource answers', () => {
  const items = (...clusters: string[]) =>
    JSON.stringify({ kind: 'NamespaceList', items: clusters.map((c, i) => ({ metadata: { name: `ns${i}`, annotations: { 'fleetgate.dev/cluster': c } } })) });
  it('accepts items from the cluster asked for, rejects others', () => {
    const reg = registry();
    expect(checkItemList(items('sim-0001', 'sim-0001'), 'sim-0001', reg, { requireAnnotation: true }, 'NamespaceList')).toBeUndefined();
    expect(checkItemList(items('sim-0001', 'sim-0002'), 'sim-0001', reg, { requireAnnotation: true })).toMatch(/came from cluster "sim-0002", asked "sim-0001"/);
    expect(checkItemList(items('sim-0001'), 'sim-0001', reg, { requireAnnotation: true }, 'PodList')).toMatch(/kind/);
    expect(checkItemList('{"items":[{"metadata":{"name":"x"}}]}', 'sim-0001', reg, { requireAnnotation: true })).toMatch(/no fleetgate.dev\/cluster annotation/);
    expect(checkItemList('{"items":[{"metadata":{"name":"x"}}]}', 'sim-0001', reg, { requireAnnotation: false })).toBeUndefined();
    // A churn name may be answered by any sim its slot ever pointed at.
    expect(checkItemList(items('sim-0003'), 'churn-0-r2', reg, { requireAnnotation: true })).toBeUndefined();
  });
  it('checks the overview', () => {
    const reg = registry();
    const ov = (cluster: string, version: string) =>
      JSON.stringify({ cluster, version, totalNodes: 3, readyNodes: 2, totalPods: 20, runningPods: 15, totalNamespaces: 4, totalServices: 5, prometheusEnabled: false });
    expect(checkOverview(ov('sim-0001', 'v1.28.3'), 'sim-0001', reg)).toBeUndefined();
    expect(checkOverview(ov('churn-0-r1', 'v1.28.3'), 'sim-0001', reg)).toMatch(/asked "sim-0001"/);
    expect(checkOverview(ov('sim-0001', 'v1.30.0'), 'sim-0001', reg)).toMatch(/never served/);
  });
  it('checks error answers', () => {
    const reg = registry();
    expect(checkErrorResponse(404, '{"error":"x"}', 'sim-0001', reg)).toMatch(/stable cluster "sim-0001" answered 404/);
    expect(checkErrorResponse(404, '{"error":"x"}', 'churn-0-r1', reg)).toBeUndefined();
    expect(checkErrorResponse(502, '<html>', 'churn-0-r1', reg)).toMatch(/error body JSON does not parse/);
    expect(checkResponse('clusters', undefined, 503, '', reg, { requireAnnotation: true })).toBeUndefined();
  });
});
