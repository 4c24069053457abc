/**
 * Namespaces and what every namespace holds before any workload: the default serviceaccount, the
 * kube-root-ca.crt configmap, a developer role and binding per app namespace, and the
 * `kubernetes` service in default.
 */
import type { GenContext } from './context.js';

const kAppNamespaces = ['web', 'data', 'payments', 'search', 'monitoring', 'checkout', 'identity', 'media', 'analytics', 'messaging'];

export interface Namespaces {
  /** default, kube-system, kube-public, kube-node-lease, then the app namespaces. */
  all: string[];
  /** max(2, ceil(pods/50)) of them, at most 40: where workloads go. */
  apps: string[];
}

export function generateNamespaces(ctx: GenContext, podCount: number): Namespaces {
  const { add, meta } = ctx;
  const appNsCount = Math.min(40, Math.max(2, Math.ceil(podCount / 50)));
  const appNamespaces = Array.from({ length: appNsCount }, (_, i) => (i < kAppNamespaces.length ? kAppNamespaces[i] : `apps-${i + 1}`));
  const namespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease', ...appNamespaces];
  for (const ns of namespaces) {
    add('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: meta(ns, undefined, { 'kubernetes.io/metadata.name': ns }),
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }
  return { all: namespaces, apps: appNamespaces };
}

export function generateNamespaceBasics(ctx: GenContext, { all: namespaces, apps: appNamespaces }: Namespaces): void {
  const { cluster, add, meta } = ctx;
  for (const ns of namespaces) {
    add('serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('default', ns) });
    add('configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('kube-root-ca.crt', ns, undefined, { annotations: { 'kubernetes.io/description': 'Contains a CA bundle for this cluster.' } }),
      data: { 'ca.crt': `-----BEGIN CERTIFICATE-----\nsimulated CA of ${cluster}\n-----END CERTIFICATE-----\n` },
    });
  }
  for (const ns of appNamespaces) {
    const role = add('roles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(`${ns}-developer`, ns),
      rules: [
        { apiGroups: ['', 'apps', 'batch'], resources: ['pods', 'deployments', 'jobs', 'configmaps', 'services'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      ],
    });
    add('rolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(`${ns}-developers`, ns),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: `${ns}-team` }],
    });
  }
  add('services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta('kubernetes', 'default', { component: 'apiserver', provider: 'kubernetes' }),
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      ports: [{ name: 'https', port: 443, targetPort: 6443, protocol: 'TCP' }],
      sessionAffinity: 'None',
    },
    status: { loadBalancer: {} },
  });
}
