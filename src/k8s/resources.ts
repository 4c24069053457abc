/**
 * The built-in kinds the /api/v1/:resource routes serve, and how each maps to a Kubernetes API
 * path. Anything else is 404 here (the raw API stays reachable through /k8s).
 */

export interface ResourceKind {
  /** API group, '' for the core group. */
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

function k(group: string, version: string, plural: string, namespaced: boolean): ResourceKind {
  return { group, version, plural, namespaced };
}

export const kResources: Readonly<Record<string, ResourceKind>> = Object.freeze({
  pods: k('', 'v1', 'pods', true),
  namespaces: k('', 'v1', 'namespaces', false),
  nodes: k('', 'v1', 'nodes', false),
  services: k('', 'v1', 'services', true),
  endpoints: k('', 'v1', 'endpoints', true),
  configmaps: k('', 'v1', 'configmaps', true),
  secrets: k('', 'v1', 'secrets', true),
  persistentvolumes: k('', 'v1', 'persistentvolumes', false),
  persistentvolumeclaims: k('', 'v1', 'persistentvolumeclaims', true),
  serviceaccounts: k('', 'v1', 'serviceaccounts', true),
  events: k('', 'v1', 'events', true),
  deployments: k('apps', 'v1', 'deployments', true),
  replicasets: k('apps', 'v1', 'replicasets', true),
  statefulsets: k('apps', 'v1', 'statefulsets', true),
  daemonsets: k('apps', 'v1', 'daemonsets', true),
  jobs: k('batch', 'v1', 'jobs', true),
  cronjobs: k('batch', 'v1', 'cronjobs', true),
  ingresses: k('networking.k8s.io', 'v1', 'ingresses', true),
  storageclasses: k('storage.k8s.io', 'v1', 'storageclasses', false),
  roles: k('rbac.authorization.k8s.io', 'v1', 'roles', true),
  rolebindings: k('rbac.authorization.k8s.io', 'v1', 'rolebindings', true),
  clusterroles: k('rbac.authorization.k8s.io', 'v1', 'clusterroles', false),
  clusterrolebindings: k('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', false),
  customresourcedefinitions: k('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', false),
});

/** The marker for "all namespaces" / "no namespace" in /api/v1/:resource/:namespace[/:name]. */
export const kAllNamespaces = '_all';

export function resourceKind(name: string): ResourceKind | undefined {
  return Object.hasOwn(kResources, name) ? kResources[name] : undefined;
}

/**
 * The API path of a list (name undefined) or a single object. `namespace` '' means all namespaces
 * for a namespaced kind and is ignored for a cluster-scoped one.
 */
export function resourcePath(kind: ResourceKind, namespace: string, name?: string): string {
  let p = kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  if (kind.namespaced && namespace !== '') p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${kind.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  return p;
}

/** Query parameters passed through to list calls. */
export const kPassThroughQuery: readonly string[] = ['labelSelector', 'fieldSelector', 'limit', 'continue'];
