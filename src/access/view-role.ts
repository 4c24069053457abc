/**
 * What a viewer token may do on a cluster: exactly what Kubernetes' built-in `view` ClusterRole
 * grants, plus the discovery URLs every authenticated Kubernetes user gets. The one rule table of
 * fleetgate; every route that reaches a cluster asks `viewAllows` (the /k8s passthrough, the
 * /api/v1/:resource routes, the overviews, fleet search).
 *
 * Source followed: kubernetes/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go,
 * the rules of `system:aggregate-to-view` (which the `view` ClusterRole aggregates) and of
 * `system:discovery` / `system:public-info-viewer` (bound to system:authenticated). Read verbs only
 * ("get", "list", "watch"); no secrets, no nodes, no `*\/proxy`, no `serviceaccounts/token`, no
 * `pods/exec|attach|portforward`, no token or access reviews: none of them is in `view`.
 *
 * Why fleetgate decides this itself: the credential it holds for a cluster is usually
 * cluster-admin, so the cluster's own RBAC sees fleetgate, not the viewer.
 */

/** Kubernetes' read verbs: the only ones `view` grants. */
export const kReadVerbs: ReadonlySet<string> = new Set(['get', 'list', 'watch']);

/** `view`'s rules: API group → resources, with subresources spelled `resource/subresource`. */
const kViewRules: Readonly<Record<string, readonly string[]>> = {
  '': [
    'pods', 'pods/status', 'pods/log',
    'replicationcontrollers', 'replicationcontrollers/scale', 'replicationcontrollers/status',
    'serviceaccounts', 'services', 'services/status', 'endpoints',
    'persistentvolumeclaims', 'persistentvolumeclaims/status', 'configmaps',
    'limitranges', 'resourcequotas', 'resourcequotas/status', 'bindings', 'events',
    'namespaces', 'namespaces/status',
  ],
  'discovery.k8s.io': ['endpointslices'],
  apps: [
    'controllerrevisions',
    'statefulsets', 'statefulsets/scale', 'statefulsets/status',
    'daemonsets', 'daemonsets/status',
    'deployments', 'deployments/scale', 'deployments/status',
    'replicasets', 'replicasets/scale', 'replicasets/status',
  ],
  autoscaling: ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'],
  batch: ['jobs', 'jobs/status', 'cronjobs', 'cronjobs/status'],
  extensions: [
    'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status',
    'ingresses', 'ingresses/status', 'replicasets', 'replicasets/scale', 'replicasets/status',
    'replicationcontrollers/scale', 'networkpolicies',
  ],
  policy: ['poddisruptionbudgets', 'poddisruptionbudgets/status'],
  'networking.k8s.io': ['networkpolicies', 'ingresses', 'ingresses/status'],
};

/**
 * Non-resource URLs granted to every authenticated user (system:discovery, system:public-info-viewer),
 * "get" only. A trailing `*` matches any rest, as in RBAC's nonResourceURLs.
 */
const kDiscoveryUrls: readonly string[] = [
  '/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*',
  '/version', '/version/', '/healthz', '/livez', '/readyz',
];

const kViewSet: ReadonlyMap<string, ReadonlySet<string>> = new Map(Object.entries(kViewRules).map(([g, rs]) => [g, new Set(rs)]));

/** One request as Kubernetes' authorizer sees it (its RequestInfo, the fields RBAC reads). */
export type AccessRequest =
  | { kind: 'resource'; verb: string; group: string; resource: string; subresource: string }
  | { kind: 'nonResource'; verb: string; path: string };

/** Does `view` (with discovery) grant this request? */
export function viewAllows(r: AccessRequest): boolean {
  if (r.kind === 'nonResource') {
    return r.verb === 'get' && kDiscoveryUrls.some((u) => (u.endsWith('*') ? r.path.startsWith(u.slice(0, -1)) : r.path === u));
  }
  if (!kReadVerbs.has(r.verb)) return false;
  const full = r.subresource === '' ? r.resource : `${r.resource}/${r.subresource}`;
  return kViewSet.get(r.group)?.has(full) ?? false;
}

/** Is listing this group's resource granted by `view`? (For routes that only ever list or get.) */
export function viewMayRead(group: string, resource: string): boolean {
  return viewAllows({ kind: 'resource', verb: 'list', group, resource, subresource: '' });
}

/** The refusal text for a viewer; names the request, never anything secret. */
export function describeAccess(r: AccessRequest): string {
  if (r.kind === 'nonResource') return `${r.verb} ${r.path}`;
  const res = r.subresource === '' ? r.resource : `${r.resource}/${r.subresource}`;
  return `${r.verb} ${r.group === '' ? res : `${res}.${r.group}`}`;
}

/** May a token of `role` list or get this resource? Admins: whatever the cluster's credential allows. */
export function roleMayRead(role: string, group: string, resource: string): boolean {
  return role === 'admin' || viewMayRead(group, resource);
}
