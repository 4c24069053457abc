/** The HTTP application layer's public surface (what workers and benches import). */
export { createApp, kDefaults, type FleetgateApp } from './app.js';
export type { AppDeps, AppOptions, ClusterDirectory, ClusterInput, ClusterRow, StoreLike, TokenRecord, Role } from './deps.js';
export {
  HttpMetrics,
  sumHttpSnapshots,
  renderHttpMetrics,
  kLatencyBuckets,
  type HttpMetricsSnapshot,
  type UpstreamCacheStats,
} from './metrics.js';
export { UpstreamClientCache, UpstreamClient } from './client-cache.js';
export { kResources, resourceKind, resourcePath } from './resources.js';
