/**
 * Spends a cluster's pod budget on workloads: coredns and kube-proxy in kube-system when there is
 * room, then app namespaces in turn get deployments, statefulsets, jobs and a few daemonsets
 * until exactly the requested number of pods exists, then an nginx deployment.
 */
import type { GenContext } from './context.js';
import { daemonset, deployment, job, statefulset, type WorkloadEnv } from './controllers.js';
import type { SimNode } from './nodes.js';
import { podMaker } from './pods.js';

const kAppNames = ['api', 'frontend', 'worker', 'cache', 'gateway', 'auth', 'billing', 'catalog', 'notifier', 'scheduler', 'indexer', 'reporter', 'uploader', 'proxy', 'ledger'];

export function generateWorkloads(ctx: GenContext, podCount: number, nodes: SimNode[], appNamespaces: string[]): void {
  const { int } = ctx;
  const env: WorkloadEnv = { ctx, nodes, makePod: podMaker(ctx, nodes) };
  let podsLeft = podCount;
  let workloadSeq = 0;
  // kube-system first: coredns and kube-proxy, when the pod budget allows.
  if (podsLeft >= 2) {
    deployment(env, 'kube-system', 'coredns', 2);
    podsLeft -= 2;
  }
  if (podsLeft >= nodes.length + 4) {
    podsLeft -= daemonset(env, 'kube-system', 'kube-proxy', nodes.length);
  }
  // An nginx Deployment in the first app namespace, so the README's examples (fleet search for
  // "nginx", `kubectl exec -n web deploy/nginx`) find something on every cluster with room. It is
  // generated after the other workloads so that their names stay what they were.
  const nginxReplicas = podsLeft >= 6 ? 2 : 0;
  podsLeft -= nginxReplicas;
  const used = new Map<string, number>();
  const appName = (ns: string) => {
    const base = kAppNames[int(kAppNames.length)];
    const key = `${ns}/${base}`;
    const n = (used.get(key) ?? 0) + 1;
    used.set(key, n);
    return n === 1 ? base : `${base}-${n}`;
  };
  while (podsLeft > 0) {
    workloadSeq++;
    const ns = appNamespaces[workloadSeq % appNamespaces.length];
    const kind = workloadSeq % 7;
    if (kind === 3) {
      const r = Math.min(podsLeft, 1 + int(3));
      statefulset(env, ns, appName(ns), r);
      podsLeft -= r;
    } else if (kind === 5) {
      job(env, ns, `${appName(ns)}-job`);
      podsLeft -= 1;
    } else if (kind === 6 && podsLeft >= nodes.length && workloadSeq < 50) {
      podsLeft -= daemonset(env, ns, `${appName(ns)}-agent`, nodes.length);
    } else {
      const r = Math.min(podsLeft, 1 + int(4));
      deployment(env, ns, appName(ns), r);
      podsLeft -= r;
    }
  }
  if (nginxReplicas) deployment(env, appNamespaces[0]!, 'nginx', nginxReplicas, 'nginx:1.27');
}
