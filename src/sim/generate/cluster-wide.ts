/**
 * Cluster-scoped objects every cluster has whatever its size: the bootstrap clusterroles and
 * bindings, two storageclasses and three CRDs.
 */
import type { GenContext } from './context.js';

export function generateClusterWide(ctx: GenContext): void {
  const { cluster, add, meta } = ctx;
  for (const name of ['cluster-admin', 'admin', 'edit', 'view', 'system:node', 'system:controller:deployment-controller']) {
    add('clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: meta(name, undefined, { 'kubernetes.io/bootstrapping': 'rbac-defaults' }),
      rules:
        name === 'cluster-admin'
          ? [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }]
          : [{ apiGroups: ['', 'apps', 'batch'], resources: ['pods', 'deployments', 'jobs'], verbs: name === 'view' ? ['get', 'list', 'watch'] : ['*'] }],
    });
  }
  for (const [name, role, subject] of [
    ['cluster-admin', 'cluster-admin', { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:masters' }],
    ['system:node', 'system:node', { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' }],
    ['fleetgate-viewers', 'view', { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `viewer@${cluster}` }],
  ] as const) {
    add('clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(name, undefined, { 'kubernetes.io/bootstrapping': 'rbac-defaults' }),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [subject],
    });
  }
  add('storageclasses', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: meta('standard', undefined, undefined, { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }),
    provisioner: 'sim.csi.fleetgate.dev',
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
    allowVolumeExpansion: true,
  });
  add('storageclasses', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: meta('fast-ssd', undefined),
    provisioner: 'sim.csi.fleetgate.dev',
    parameters: { type: 'ssd' },
    reclaimPolicy: 'Retain',
    volumeBindingMode: 'Immediate',
  });
  for (const [group, plural, kind] of [
    ['example.fleetgate.dev', 'widgets', 'Widget'],
    ['cert-manager.io', 'certificates', 'Certificate'],
    ['monitoring.coreos.com', 'servicemonitors', 'ServiceMonitor'],
  ] as const) {
    add('customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: meta(`${plural}.${group}`, undefined),
      spec: {
        group,
        names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
        scope: 'Namespaced',
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
      status: { acceptedNames: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` }, storedVersions: ['v1'], conditions: [{ type: 'Established', status: 'True' }] },
    });
  }
}
