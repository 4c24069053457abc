/** The cluster store: the registry of clusters (kubeconfigs encrypted at rest) and API tokens, on SQLite (embedded default) or PostgreSQL (several replicas), behind one interface (backend.ts). */
export { openStore, kDbFileName, kBusyTimeoutMs } from './store.js';
export type { Store, StoreOptions } from './store.js';
export { StoreError } from './errors.js';
export type { StoreErrorCode } from './errors.js';
export { resolveKey, parseKey, kKeyEnv, kKeyFileName } from './key.js';
export type { ResolvedKey } from './key.js';
export { ClusterRepo, clusterNameFromContext, kNameRule } from './clusters.js';
export type { ClusterRow, ClusterInput, WriteOptions, ImportOptions, ImportResult } from './clusters.js';
export { TokenRepo, kAdminTokenFile, kTokenPrefix } from './tokens.js';
export type { TokenRecord, TokenInput, TokenRole } from './tokens.js';
export { firstStartImport } from './first-start.js';
export type { FirstStartOptions, FirstStartResult } from './first-start.js';
export { migrations, kSchemaVersion } from './migrations.js';
export type { StoreBackend, ClusterRepoApi, TokenRepoApi } from './backend.js';
export { openBackend, kDatabaseEnv } from './open.js';
export type { BackendOptions } from './open.js';
export { openPgStore, isPostgresUrl, redactUrl } from './postgres/store.js';
export type { PgStore, PgStoreOptions } from './postgres/store.js';
