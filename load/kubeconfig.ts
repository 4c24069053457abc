/**
 * The simulator's kubeconfig, one context at a time, read with @kubernetes/client-node rather
 * than fleetgate's own parser: the load suite trusts nothing of fleetgate's code.
 */
import { KubeConfig } from '@kubernetes/client-node';

/** Context name → a one-context kubeconfig (JSON text) holding that context's cluster and user. */
export function contextKubeconfigs(path: string): Map<string, string> {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  const out = new Map<string, string>();
  for (const ctx of kc.getContexts()) {
    const cluster = kc.getCluster(ctx.cluster);
    const user = kc.getUser(ctx.user);
    if (!cluster || !user) throw new Error(`kubeconfig ${path}: context ${ctx.name} names a missing cluster or user`);
    const one = new KubeConfig();
    one.loadFromOptions({ clusters: [cluster], users: [user], contexts: [ctx], currentContext: ctx.name });
    out.set(ctx.name, one.exportConfig());
  }
  return out;
}
