/**
 * Deterministic object generation for one simulated cluster. The same (seed, cluster name,
 * pod count, version) always yields the same objects, names, labels, uids and timestamps.
 *
 * Shape of a generated cluster with P pods:
 * - namespaces: default, kube-system, kube-public, kube-node-lease and max(2, ceil(P/50)) app
 *   namespaces (capped at 40);
 * - nodes: clamp(ceil(P/25), 3, 500), node-001 is the control plane; about one in eight is
 *   NotReady (at least one once there are 3 or more nodes);
 * - exactly P pods, owned by deployments (through replicasets), statefulsets, daemonsets and
 *   jobs (through cronjobs for some), in the phases Running, Pending, Succeeded, Failed and
 *   Unknown; scheduled pods carry spec.nodeName;
 * - per workload a service and endpoints (deployments, statefulsets), a configmap and a secret
 *   (deployments), ingresses for some deployments, PVCs and PVs for statefulset replicas;
 * - per namespace the default serviceaccount, the kube-root-ca.crt configmap, a role and binding;
 * - events for pods that are not happily running;
 * - cluster-wide: clusterroles, clusterrolebindings, storageclasses and CRDs.
 * Every object is annotated `fleetgate.dev/cluster: NAME` by the store on insert.
 */
import { createContext, type GeneratedObject } from './generate/context.js';
import { generateClusterWide } from './generate/cluster-wide.js';
import { generateNamespaceBasics, generateNamespaces } from './generate/namespaces.js';
import { generateNodes } from './generate/nodes.js';
import { generateWorkloads } from './generate/workloads.js';

export { kSimEpochMs, hashString, rngFrom, type GeneratedObject, type Obj } from './generate/context.js';

/** The parts run in this order: each draws from the one random stream where the last left it. */
export function generateCluster(cluster: string, seed: number, podCount: number, gitVersion: string): GeneratedObject[] {
  const ctx = createContext(cluster, seed, gitVersion);
  const namespaces = generateNamespaces(ctx, podCount);
  const nodes = generateNodes(ctx, podCount);
  generateNamespaceBasics(ctx, namespaces);
  generateWorkloads(ctx, podCount, nodes, namespaces.apps);
  generateClusterWide(ctx);
  return ctx.out;
}
