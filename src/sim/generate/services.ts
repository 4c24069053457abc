/**
 * What every workload carries: its labels, and for those that serve, a Service and the Endpoints
 * that list its pods by readiness.
 */
import type { GenContext, Obj } from './context.js';

export function labelsFor(ctx: GenContext, app: string, ns: string): Record<string, string> {
  return {
    app,
    'app.kubernetes.io/name': app,
    'app.kubernetes.io/part-of': ns,
    tier: app.includes('frontend') || app.includes('gateway') ? 'frontend' : 'backend',
    env: ctx.pick(['prod', 'prod', 'staging', 'dev']),
  };
}

export function serviceFor(ctx: GenContext, app: string, ns: string, selector: Record<string, string>, pods: Obj[], headless = false): Obj {
  const { rnd, int, add, meta } = ctx;
  const clusterIP = headless ? 'None' : `10.96.${int(256)}.${1 + int(254)}`;
  const type = !headless && rnd() < 0.15 ? 'LoadBalancer' : 'ClusterIP';
  const svc: Obj = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(app, ns, { app }),
    spec: {
      type,
      clusterIP,
      clusterIPs: [clusterIP],
      selector,
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: type === 'LoadBalancer' ? { ingress: [{ ip: `203.0.113.${1 + int(254)}` }] } : {} },
  };
  add('services', svc);
  const ready = pods.filter((p) => p.status.phase === 'Running' && p.status.containerStatuses?.[0]?.ready && p.status.podIP);
  const notReady = pods.filter((p) => !ready.includes(p) && p.status.podIP);
  const subset: Obj = { ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] };
  const addr = (p: Obj) => ({
    ip: p.status.podIP,
    nodeName: p.spec.nodeName,
    targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
  });
  if (ready.length) subset.addresses = ready.map(addr);
  if (notReady.length) subset.notReadyAddresses = notReady.map(addr);
  add('endpoints', {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: meta(app, ns, { app }),
    subsets: ready.length || notReady.length ? [subset] : [],
  });
  return svc;
}
