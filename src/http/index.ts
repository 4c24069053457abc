/** The HTTP application layer's public surface (what workers and benches import). */
export { createApp, kDefaults, type FleetgateApp } from './app.js';
export type { AppDeps, AppOptions, ClusterDirectory, ClusterInput, ClusterRow, StoreLike, TokenRecord, Role } from './deps.js';
export {
  HttpMetrics,
  sumHttpSnapshots,
  renderHttpMetrics,
  kLatencyBuckets,
  type HttpMetricsSnapshot,
} from './metrics.js';
export { kResources, resourceKind, resourcePath } from '../k8s/resources.js';
