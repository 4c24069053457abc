import { describe, expect, it } from 'vitest';
import { WriteRegistry } from '../../load/registry.js';
import { churnDescription, churnName, descriptionMismatch, fnv1a, parseChurnName, stableDescription } from '../../load/scheme.js';
import { checkClusterList, checkErrorResponse, checkItemList, checkOverview, checkResponse, emptyNotes, type Finding } from '../../load/verify.js';

/** `class: reason`, so one match checks both. */
const show = (f: Finding | undefined) => f && `${f.cls}: ${f.reason}`;

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
    expect(show(checkClusterList(JSON.stringify(good()), registry()))).toBeUndefined();
    const g = good();
    expect(show(checkClusterList(JSON.stringify([g[0], entry('churn-0-r2', churnDescription('churn', 0, 2, 0), 'v1.30.0'), g[1]]), registry()))).toBeUndefined();
  });
  it('rejects unparsable JSON and non-arrays', () => {
    expect(show(checkClusterList('[{"name":"sim-0001"', registry()))).toMatch(/^error: JSON does not parse/);
    expect(show(checkClusterList('{}', registry()))).toMatch(/^error: cluster list is not a JSON array/);
  });
  it('rejects an unsorted list and duplicates', () => {
    expect(show(checkClusterList(JSON.stringify(good().reverse()), registry()))).toMatch(/^torn: list not sorted/);
    const g = good();
    expect(show(checkClusterList(JSON.stringify([g[0], g[0], g[1]]), registry()))).toMatch(/^torn: duplicate/);
  });
  it('rejects entries never written, and mixed revisions', () => {
    const g = good();
    expect(show(checkClusterList(JSON.stringify([entry('churn-0-r0', churnDescription('churn', 0, 0, 0)), g[1]]), registry()))).toMatch(/never written/);
    expect(show(checkClusterList(JSON.stringify([entry('churn-0-r2', churnDescription('churn', 0, 1, 1)), g[1]]), registry()))).toMatch(/^torn: .*two revisions mixed/);
    // Scheme-valid but never written for this name (d9 never sent).
    expect(show(checkClusterList(JSON.stringify([entry('churn-0-r1', churnDescription('churn', 0, 1, 9)), g[1]]), registry()))).toMatch(/^torn: .*never written for this name/);
  });
  it('rejects versions the simulator never served to that cluster', () => {
    const g = good();
    // sim-0002's version on a cluster backed by sim-0001 only.
    expect(show(checkClusterList(JSON.stringify([g[0], { ...g[1], version: 'v1.29.1' }]), registry()))).toMatch(/never served/);
    expect(show(checkClusterList(JSON.stringify([{ ...g[0], version: '' }, g[1]]), registry()))).toBeUndefined();
  });
  it('rejects bad field types, two defaults and a missing stable cluster', () => {
    const g = good();
    expect(show(checkClusterList(JSON.stringify([{ ...g[0], isDefault: 'yes' }, g[1]]), registry()))).toMatch(/^error: .*isDefault/);
    expect(show(checkClusterList(JSON.stringify([{ ...g[0], state: 'okk' }, g[1]]), registry()))).toMatch(/^torn: .*state/);
    expect(show(checkClusterList(JSON.stringify([{ ...g[0], isDefault: true }, g[1]]), registry()))).toMatch(/^torn: 2 entries are marked default/);
    expect(show(checkClusterList(JSON.stringify([g[0]]), registry()))).toMatch(/^torn: stable cluster "sim-0001" is missing/);
  });
  it('counts entries without description instead of failing them', () => {
    const notes = emptyNotes();
    const g = good().map(({ description: _d, ...rest }) => rest);
    expect(show(checkClusterList(JSON.stringify(g), registry(), notes))).toBeUndefined();
    expect(notes.missingDescription).toBe(2);
  });
  it('in lenient mode judges only names that are ours', () => {
    const reg = new WriteRegistry('churn-ab12', false);
    const list = [entry('anything', 'free text', 'v9'), entry('prod', '')];
    expect(show(checkClusterList(JSON.stringify(list), reg))).toBeUndefined();
    expect(show(checkClusterList(JSON.stringify([entry('churn-ab12-0-r1', 'x')]), reg))).toMatch(/never written/);
  });
});

describe('resource answers', () => {
  const items = (...clusters: string[]) =>
    JSON.stringify({ kind: 'NamespaceList', items: clusters.map((c, i) => ({ metadata: { name: `ns${i}`, annotations: { 'fleetgate.dev/cluster': c } } })) });
  it('accepts items from the cluster asked for, rejects others', () => {
    const reg = registry();
    expect(show(checkItemList(items('sim-0001', 'sim-0001'), 'sim-0001', reg, { requireAnnotation: true }, 'NamespaceList'))).toBeUndefined();
    expect(show(checkItemList(items('sim-0001', 'sim-0002'), 'sim-0001', reg, { requireAnnotation: true }))).toMatch(/^torn: .*came from cluster "sim-0002", asked "sim-0001"/);
    expect(show(checkItemList(items('sim-0001'), 'sim-0001', reg, { requireAnnotation: true }, 'PodList'))).toMatch(/^error: list kind/);
    expect(show(checkItemList('{"items":[{"metadata":{"name":"x"}}]}', 'sim-0001', reg, { requireAnnotation: true }))).toMatch(/^error: .*no fleetgate.dev\/cluster annotation/);
    expect(show(checkItemList('{"items":[{"metadata":{"name":"x"}}]}', 'sim-0001', reg, { requireAnnotation: false }))).toBeUndefined();
    // A churn name may be answered by any sim its slot ever pointed at.
    expect(show(checkItemList(items('sim-0003'), 'churn-0-r2', reg, { requireAnnotation: true }))).toBeUndefined();
  });
  it('checks the overview', () => {
    const reg = registry();
    const ov = (cluster: string, version: string) =>
      JSON.stringify({ cluster, version, totalNodes: 3, readyNodes: 2, totalPods: 20, runningPods: 15, totalNamespaces: 4, totalServices: 5, prometheusEnabled: false });
    expect(show(checkOverview(ov('sim-0001', 'v1.28.3'), 'sim-0001', reg))).toBeUndefined();
    expect(show(checkOverview(ov('churn-0-r1', 'v1.28.3'), 'sim-0001', reg))).toMatch(/^torn: overview is for cluster "churn-0-r1", asked "sim-0001"/);
    expect(show(checkOverview(ov('sim-0001', 'v1.30.0'), 'sim-0001', reg))).toMatch(/never served/);
  });
  it('classifies every error answer', () => {
    const reg = registry();
    expect(show(checkErrorResponse(404, '{"error":"x"}', 'sim-0001', reg))).toMatch(/^missing: stable cluster "sim-0001" answered 404/);
    // Not a stable cluster: still a failure, of the plain kind.
    expect(show(checkErrorResponse(404, '{"error":"x"}', 'churn-0-r1', reg))).toBe('error: status 404: x');
    expect(show(checkErrorResponse(502, '<html>', 'churn-0-r1', reg))).toMatch(/^error: status 502: error body JSON does not parse/);
    expect(show(checkErrorResponse(500, '{"error":"internal error"}', 'sim-0001', reg))).toBe('error: status 500: internal error');
    expect(show(checkErrorResponse(500, '{"error":"internal error: torn read of the cluster index"}', 'sim-0001', reg))).toMatch(/^caught: status 500: fleetgate caught a torn read/);
    // A 4xx that merely mentions it is not fleetgate catching a tear.
    expect(show(checkErrorResponse(400, '{"error":"torn read"}', undefined, reg))).toMatch(/^error: /);
    expect(show(checkResponse('clusters', undefined, 503, '', reg, { requireAnnotation: true }))).toBe('error: status 503 with an empty body');
    expect(show(checkResponse('clusters', undefined, 302, '', reg, { requireAnnotation: true }))).toMatch(/^error: status 302/);
  });
  it('fails a 2xx answer that is not JSON, empty or truncated, as an error, not a tear', () => {
    const reg = registry();
    for (const body of ['', '<html>ok</html>', JSON.stringify(good()).slice(0, 40)]) {
      expect(show(checkResponse('clusters', undefined, 200, body, reg, { requireAnnotation: true }))).toMatch(/^error: JSON does not parse/);
      expect(show(checkResponse('overview', 'sim-0001', 200, body, reg, { requireAnnotation: true }))).toMatch(/^error: JSON does not parse/);
    }
  });
  it('calls a garbled or empty name torn, and shows the entry seen', () => {
    const g = good();
    const f = checkClusterList(JSON.stringify([{ ...g[0], name: '' }, g[1]]), registry());
    expect(show(f)).toMatch(/^torn: \[0\] entry name is empty/);
    expect(f!.seen).toContain('"name":""');
    expect(show(checkClusterList(JSON.stringify([g[0], { ...g[1], name: 'sim-0\ufffd01' }]), registry()))).toMatch(/^torn: .*never written/);
  });
});
