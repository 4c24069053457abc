/** The Kubernetes config layer: kubeconfig parsing and normalisation, in-cluster config, config hash, /version probe. */
export { K8sConfigError } from './errors.js';
export { redact, shorten, hideOnInspect } from './redact.js';
export {
  parseKubeconfig,
  splitContexts,
  fileReferences,
  checkAuthPlugins,
  validateClusterKubeconfig,
  resolveCurrentContext,
  currentContextName,
} from './kubeconfig.js';
export type { ParsedKubeconfig, KubeCluster, KubeUser, KubeContext, ResolvedContext, SplitContext } from './kubeconfig.js';
export { normaliseClientConfig, inClusterClientConfig, protectClientConfig, kServiceAccountDir } from './normalise.js';
export { configHash } from './hash.js';
export type { ConfigHashInput } from './hash.js';
export { probeVersion, tlsOptionsOf } from './probe.js';
export { parseProxyUrl, authorityOf, connectTunnel, TunnelingAgent } from './proxy.js';
export type { ProxyTarget } from './proxy.js';
export type { ProbeResult, ProbeOptions } from './probe.js';
export { buildClientConfig } from './cluster-config.js';
export type { ClusterSource, ClusterSourceOptions } from './cluster-config.js';
