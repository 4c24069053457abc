/**
 * The simulator's resource catalogue: every kind it serves, with the discovery documents
 * (APIVersions, APIGroupList, APIGroup, APIResourceList) built from it once per process.
 */

export interface ResourceDef {
  /** API group, '' for the core group. */
  group: string;
  version: string;
  /** "v1" or "apps/v1". */
  groupVersion: string;
  /** Lower-case plural, the URL segment. */
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Field selector paths this kind supports besides metadata.name and metadata.namespace. */
  fields: string[];
}

const kVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function def(
  group: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: { shortNames?: string[]; categories?: string[]; fields?: string[] } = {},
): ResourceDef {
  const version = 'v1';
  return {
    group,
    version,
    groupVersion: group ? `${group}/${version}` : version,
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced,
    shortNames: extra.shortNames,
    categories: extra.categories,
    fields: extra.fields ?? [],
  };
}

export const kResources: readonly ResourceDef[] = [
  def('', 'namespaces', 'Namespace', false, { shortNames: ['ns'], fields: ['status.phase'] }),
  def('', 'nodes', 'Node', false, { shortNames: ['no'], fields: ['spec.unschedulable'] }),
  def('', 'pods', 'Pod', true, {
    shortNames: ['po'],
    categories: ['all'],
    fields: ['spec.nodeName', 'status.phase', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.podIP'],
  }),
  def('', 'services', 'Service', true, { shortNames: ['svc'], categories: ['all'], fields: ['spec.type', 'spec.clusterIP'] }),
  def('', 'endpoints', 'Endpoints', true, { shortNames: ['ep'] }),
  def('', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  def('', 'secrets', 'Secret', true, { fields: ['type'] }),
  def('', 'events', 'Event', true, {
    shortNames: ['ev'],
    fields: ['involvedObject.kind', 'involvedObject.name', 'involvedObject.namespace', 'involvedObject.uid', 'reason', 'type', 'source'],
  }),
  def('', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  def('', 'persistentvolumes', 'PersistentVolume', false, { shortNames: ['pv'], fields: ['status.phase'] }),
  def('', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, { shortNames: ['pvc'], fields: ['status.phase'] }),
  def('apps', 'deployments', 'Deployment', true, { shortNames: ['deploy'], categories: ['all'] }),
  def('apps', 'replicasets', 'ReplicaSet', true, { shortNames: ['rs'], categories: ['all'] }),
  def('apps', 'statefulsets', 'StatefulSet', true, { shortNames: ['sts'], categories: ['all'] }),
  def('apps', 'daemonsets', 'DaemonSet', true, { shortNames: ['ds'], categories: ['all'] }),
  def('batch', 'jobs', 'Job', true, { categories: ['all'], fields: ['status.successful'] }),
  def('batch', 'cronjobs', 'CronJob', true, { shortNames: ['cj'], categories: ['all'] }),
  def('networking.k8s.io', 'ingresses', 'Ingress', true, { shortNames: ['ing'] }),
  def('rbac.authorization.k8s.io', 'roles', 'Role', true),
  def('rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding', true),
  def('rbac.authorization.k8s.io', 'clusterroles', 'ClusterRole', false),
  def('rbac.authorization.k8s.io', 'clusterrolebindings', 'ClusterRoleBinding', false),
  def('storage.k8s.io', 'storageclasses', 'StorageClass', false, { shortNames: ['sc'] }),
  def('apiextensions.k8s.io', 'customresourcedefinitions', 'CustomResourceDefinition', false, { shortNames: ['crd', 'crds'] }),
];

/** Key of a resource inside one cluster: "pods", "apps/deployments". */
export function resourceKey(group: string, plural: string): string {
  return group ? `${group}/${plural}` : plural;
}

export const kResourceByKey: ReadonlyMap<string, ResourceDef> = new Map(kResources.map((r) => [resourceKey(r.group, r.plural), r]));

/** Plural → resource (plurals are unique in this catalogue). */
export const kResourceByPlural: ReadonlyMap<string, ResourceDef> = new Map(kResources.map((r) => [r.plural, r]));

/** groupVersion ("v1", "apps/v1") → resources served under it. */
export const kResourcesByGv: ReadonlyMap<string, ResourceDef[]> = (() => {
  const m = new Map<string, ResourceDef[]>();
  for (const r of kResources) {
    const list = m.get(r.groupVersion) ?? [];
    list.push(r);
    m.set(r.groupVersion, list);
  }
  return m;
})();

export const kGroups: readonly string[] = [...new Set(kResources.filter((r) => r.group).map((r) => r.group))];

function apiResourceList(groupVersion: string): unknown {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: (kResourcesByGv.get(groupVersion) ?? []).flatMap((r) => {
      const main: Record<string, unknown> = {
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: kVerbs,
      };
      if (r.shortNames) main.shortNames = r.shortNames;
      if (r.categories) main.categories = r.categories;
      const out: unknown[] = [main];
      if (['pods', 'deployments', 'statefulsets', 'daemonsets', 'replicasets', 'jobs', 'cronjobs', 'nodes', 'namespaces', 'services', 'persistentvolumes', 'persistentvolumeclaims', 'ingresses'].includes(r.plural)) {
        out.push({ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] });
      }
      if (r.plural === 'pods') {
        out.push({ name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] });
      }
      return out;
    }),
  };
}

function apiGroup(group: string): Record<string, unknown> {
  const gv = { groupVersion: `${group}/v1`, version: 'v1' };
  return { name: group, versions: [gv], preferredVersion: gv };
}

/**
 * Discovery documents by URL path, serialised once. Content type is plain application/json, so
 * kubectl's request for aggregated discovery (apidiscovery.k8s.io/v2) falls back to the legacy
 * per-group-version documents, as it does against an older API server.
 */
export const kDiscovery: ReadonlyMap<string, Buffer> = (() => {
  const m = new Map<string, Buffer>();
  const put = (path: string, body: unknown) => m.set(path, Buffer.from(JSON.stringify(body)));
  put('/api', { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:443' }] });
  put('/api/v1', apiResourceList('v1'));
  put('/apis', { kind: 'APIGroupList', apiVersion: 'v1', groups: kGroups.map(apiGroup) });
  for (const g of kGroups) {
    put(`/apis/${g}`, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g) });
    put(`/apis/${g}/v1`, apiResourceList(`${g}/v1`));
  }
  return m;
})();
