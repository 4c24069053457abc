/**
 * One call for the sync worker: a stored cluster (its kubeconfig text or the in-cluster flag)
 * → its ClientConfig and config hash. Structural input, so src/k8s does not depend on the store.
 */
import type { ClientConfig } from '../index/types.js';
import { configHash } from './hash.js';
import { inClusterClientConfig, normaliseClientConfig } from './normalise.js';

export interface ClusterSource {
  /** Kubeconfig text ('' for in-cluster rows). */
  config: string;
  inCluster: boolean;
  prometheusUrl: string;
  enabled: boolean;
}

export interface ClusterSourceOptions {
  allowExec?: boolean;
  /** For in-cluster rows: service-account dir and environment (defaults: the pod's). */
  saDir?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Builds the ClientConfig (file references read now) and its config hash. Throws
 * K8sConfigError with a secret-free, per-cluster reason (exec users, missing files, …).
 */
export function buildClientConfig(row: ClusterSource, opts: ClusterSourceOptions = {}): { client: ClientConfig; configHash: string } {
  const client = row.inCluster
    ? inClusterClientConfig({ saDir: opts.saDir, env: opts.env })
    : normaliseClientConfig(row.config, { allowExec: opts.allowExec });
  return { client, configHash: configHash({ config: client, prometheusUrl: row.prometheusUrl, enabled: row.enabled }) };
}
