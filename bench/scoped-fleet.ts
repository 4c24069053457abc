/**
 * The fleet bench:http's scope measurement runs against: 1,000 clusters (contexts of one kubeconfig,
 * all pointing at one simulated cluster, so every probe succeeds and the index stays quiet), five
 * groups, and two viewer tokens of 20 rules each (globs, group:NAME, exclusions, names):
 *  - `scoped`: a team's scope, which admits part of the fleet;
 *  - `scopedAll`: `*` and then 19 rules that match nothing, so every rule is tried for every cluster
 *    and all 1,000 clusters are listed, as for the admin token: the same JSON, only the checks differ.
 */
const kEnvs = ['prod', 'staging', 'qa', 'dev'] as const;
const kRegions = ['eu', 'us', 'ap'] as const;

export function scopedClusterNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${kEnvs[i % kEnvs.length]}-${kRegions[(i >> 2) % kRegions.length]}-${String(i).padStart(4, '0')}`);
}

/** A kubeconfig (JSON, which is YAML) with `names.length` contexts on one cluster and user. */
export function scopedKubeconfig(names: readonly string[], server: string, caPem: string, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sim', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'sim', user: { token } }],
    contexts: names.map((n) => ({ name: n, context: { cluster: 'sim', user: 'sim' } })),
    'current-context': names[0],
  });
}

/** Group name → every k-th cluster. */
const kGroups: Record<string, number> = { payments: 7, search: 11, quarantine: 13, infra: 17, ml: 19 };

export const kScopedRules = [
  'prod-*', 'staging-*', 'qa-*', '!qa-ap-*', 'group:payments', 'group:search', '!group:quarantine', 'dev-eu-*',
  'dev-us-0*', '!staging-*-09?', 'edge-*', 'group:infra', '!prod-ap-07*', 'batch-?-*', 'group:ml', '!dev-eu-05*',
  'shared-*', 'canary-*', '!canary-*-x', 'ops-*',
];

export const kScopedAllRules = [
  '*', '!edge-*', '!batch-?-*', '!shared-*', '!canary-*', '!ops-*', '!group:none', '!lab-*', '!tmp-*', '!old-?-*',
  '!x-*', '!y-*-z', '!sandbox', '!perf-*', '!loadtest-*', '!mirror-*', '!archive-*', '!scratch-*', '!demo-?', '!trial-*',
];

async function api(url: string, admin: string, method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`bench: ${method} ${path} → ${r.status} ${text}`);
  return JSON.parse(text);
}

/** Creates the groups and the two tokens; returns the tokens and how many clusters each lists. */
export async function setUpScopes(url: string, admin: string, names: readonly string[]): Promise<{ scoped: string; scopedAll: string; visible: Record<string, number> }> {
  for (const [g, k] of Object.entries(kGroups)) {
    await api(url, admin, 'POST', '/api/v1/admin/groups', { name: g, clusters: names.filter((_, i) => i % k === 0) });
  }
  await api(url, admin, 'POST', '/api/v1/admin/groups', { name: 'none' });
  const scoped = (await api(url, admin, 'POST', '/api/v1/admin/tokens', { name: 'bench-scoped', role: 'viewer', clusters: kScopedRules })).token as string;
  const scopedAll = (await api(url, admin, 'POST', '/api/v1/admin/tokens', { name: 'bench-scoped-all', role: 'viewer', clusters: kScopedAllRules })).token as string;
  const count = async (t: string) => ((await (await fetch(url + '/api/v1/clusters', { headers: { authorization: `Bearer ${t}` } })).json()) as unknown[]).length;
  return { scoped, scopedAll, visible: { admin: await count(admin), scoped: await count(scoped), scopedAll: await count(scopedAll) } };
}
