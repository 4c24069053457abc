/**
 * The store interface both backends implement: SQLite (better-sqlite3, synchronous, the embedded
 * default) and PostgreSQL (node-postgres, asynchronous, for several replicas). Callers `await`
 * every method, so one code path serves both; the SQLite Store satisfies this as it is.
 */
import type { ClusterInput, ClusterRow, ImportOptions, ImportResult, WriteOptions } from './clusters.js';
import type { TokenInput, TokenRecord } from './tokens.js';
import type { GroupInput, GroupPatch, GroupRecord } from './groups.js';
import type { AuditQuery, AuditRecord, AuditRow } from './audit.js';

export type MaybePromise<T> = T | Promise<T>;

export interface ClusterRepoApi {
  list(): MaybePromise<ClusterRow[]>;
  /**
   * list() for the sync and start-up: a row whose kubeconfig cannot be decrypted comes back with
   * `config` '' and the reason in `configError` instead of failing the whole list.
   */
  listForSync(): MaybePromise<Array<ClusterRow & { configError?: string }>>;
  get(id: number): MaybePromise<ClusterRow | undefined>;
  getByName(name: string): MaybePromise<ClusterRow | undefined>;
  count(): MaybePromise<number>;
  create(input: ClusterInput, opts?: WriteOptions): MaybePromise<ClusterRow>;
  update(id: number, patch: Partial<ClusterInput>, opts?: WriteOptions): MaybePromise<ClusterRow>;
  delete(id: number): MaybePromise<void>;
  importKubeconfig(text: string, opts?: ImportOptions): MaybePromise<ClusterRow[]>;
  importDetailed(text: string, opts?: ImportOptions): MaybePromise<ImportResult>;
}

export interface TokenRepoApi {
  create(input: TokenInput): MaybePromise<{ token: string; record: TokenRecord }>;
  list(): MaybePromise<TokenRecord[]>;
  delete(id: number): MaybePromise<void>;
  verify(secret: unknown): MaybePromise<TokenRecord | undefined>;
  /** `retired`: FLEETGATE_ADMIN_TOKEN is no longer set and the token it registered was removed. */
  ensureAdminToken(envToken?: string): MaybePromise<{ token?: string; created: boolean; retired?: boolean }>;
  /** Records last use (token id → epoch ms); writes a token's row at most once a minute. */
  touch(uses: ReadonlyMap<number, number>): MaybePromise<void>;
}

export interface GroupRepoApi {
  list(): MaybePromise<GroupRecord[]>;
  get(id: number): MaybePromise<GroupRecord | undefined>;
  getByName(name: string): MaybePromise<GroupRecord | undefined>;
  /** Every cluster id's group names, sorted: what the sync writes into the index. */
  membership(): MaybePromise<Map<number, string[]>>;
  create(input: GroupInput): MaybePromise<GroupRecord>;
  update(id: number, patch: GroupPatch): MaybePromise<GroupRecord>;
  delete(id: number): MaybePromise<void>;
}

export interface AuditRepoApi {
  append(records: readonly AuditRecord[]): MaybePromise<void>;
  query(q?: AuditQuery): MaybePromise<{ items: AuditRow[]; next: number | null }>;
  prune(before: number): MaybePromise<number>;
}

export interface StoreBackend {
  readonly kind: 'sqlite' | 'postgres';
  readonly dataDir: string;
  readonly clusters: ClusterRepoApi;
  readonly tokens: TokenRepoApi;
  readonly groups: GroupRepoApi;
  readonly audit: AuditRepoApi;
  readonly warnings: readonly string[];
  readonly keySource: string;
  readonly keyCreated: boolean;
  encryptionKey(): Buffer;
  close(): MaybePromise<void>;
}
