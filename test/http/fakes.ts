/**
 * In-memory stand-ins for the cluster directory, the store and the sync barrier, so the HTTP app
 * can be tested without the shared-memory index or SQLite. The fake "sync" turns each cluster row
 * into an index entry; a row's config is a JSON ClientConfig (fake kubeconfig) plus optional
 * `state`/`error`/`version` overrides.
 */
import { randomBytes } from 'node:crypto';
import type { ClientConfig, IndexEntry, IndexEntryInput, IndexHead, IndexSummary } from '../../src/index/types.js';
import type { ClusterDirectory, ClusterInput, ClusterRow, Role, StoreLike, TokenRecord } from '../../src/http/deps.js';

export class FakeDirectory implements ClusterDirectory {
  private entries = new Map<string, IndexEntryInput>();
  private gen = 0;
  ready = true;
  lookups = 0;

  commit(entries: IndexEntryInput[]): void {
    this.entries = new Map(entries.map((e) => [e.name, structuredClone(e)]));
    this.gen++;
  }
  lookup(name: string): IndexEntry | undefined {
    this.lookups++;
    const e = this.entries.get(name);
    return e ? { ...e, client: { ...e.client }, indexGeneration: this.gen } : undefined;
  }
  /** Like the reader's head: everything but the credentials (only the client's server). */
  lookupHead(name: string): IndexHead | undefined {
    const e = this.lookup(name);
    return e && { ...e, client: { server: e.client.server } };
  }
  lookupDefaultHead(): IndexHead | undefined {
    for (const e of this.entries.values()) if (e.isDefault) return this.lookupHead(e.name);
    return undefined;
  }
  list(): IndexEntry[] {
    return [...this.entries.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((e) => ({ ...structuredClone(e), indexGeneration: this.gen }));
  }
  listSummary(): IndexSummary[] {
    return this.list().map(({ id, name, description, enabled, isDefault, inCluster, state, version, error, groups, generation, indexGeneration }) => ({
      id,
      name,
      description,
      enabled,
      isDefault,
      inCluster,
      state,
      version,
      error,
      groups: groups ?? [],
      generation,
      indexGeneration,
    }));
  }
  count(): number {
    return this.entries.size;
  }
  generation(): number {
    return this.gen;
  }
  isReady(): boolean {
    return this.ready;
  }
}

export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    readonly code: 'conflict' | 'not_found' | 'invalid' | 'key' | 'io',
    message: string,
  ) {
    super(message);
  }
}

export interface FakeConfig extends Partial<ClientConfig> {
  state?: IndexEntryInput['state'];
  error?: string;
  version?: string;
}

export function fakeConfig(c: FakeConfig): string {
  return JSON.stringify(c);
}

export class FakeStore implements StoreLike {
  rows = new Map<number, ClusterRow>();
  private nextId = 1;
  private tokenRows = new Map<string, { secret: string; record: TokenRecord }>();
  verifyCalls = 0;

  clusters = {
    list: () => [...this.rows.values()].sort((a, b) => a.name.localeCompare(b.name)).map((r) => ({ ...r })),
    get: (id: number) => (this.rows.has(id) ? { ...this.rows.get(id)! } : undefined),
    getByName: (name: string) => [...this.rows.values()].find((r) => r.name === name),
    create: (input: ClusterInput): ClusterRow => {
      if (this.clusters.getByName(input.name)) throw new StoreError('conflict', `cluster "${input.name}" already exists`);
      if (input.config !== undefined) this.parse(input.config);
      const now = Date.now();
      const row: ClusterRow = {
        id: this.nextId++,
        name: input.name,
        description: input.description ?? '',
        config: input.config ?? '',
        prometheusUrl: input.prometheusUrl ?? '',
        inCluster: input.inCluster ?? false,
        isDefault: input.isDefault ?? this.rows.size === 0,
        enabled: input.enabled ?? true,
        createdAt: now,
        updatedAt: now,
      };
      if (row.isDefault) for (const r of this.rows.values()) r.isDefault = false;
      this.rows.set(row.id, row);
      return { ...row };
    },
    update: (id: number, patch: Partial<ClusterInput>): ClusterRow => {
      const row = this.rows.get(id);
      if (!row) throw new StoreError('not_found', `cluster ${id} not found`);
      if (patch.config !== undefined) this.parse(patch.config);
      Object.assign(row, Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)), { updatedAt: Date.now() });
      if (patch.isDefault) for (const r of this.rows.values()) if (r.id !== id) r.isDefault = false;
      return { ...row };
    },
    delete: (id: number) => {
      if (!this.rows.delete(id)) throw new StoreError('not_found', `cluster ${id} not found`);
    },
    importKubeconfig: (text: string) => {
      // Fake format: JSON { contexts: [{ name, config }] }.
      let doc: { contexts?: { name: string; config: FakeConfig }[] };
      try {
        doc = JSON.parse(text);
      } catch {
        throw new StoreError('invalid', 'kubeconfig: not valid YAML or JSON');
      }
      if (!Array.isArray(doc.contexts) || doc.contexts.length === 0) throw new StoreError('invalid', 'kubeconfig has no contexts');
      return doc.contexts.map((c) => this.clusters.create({ name: c.name, config: fakeConfig(c.config) }));
    },
  };

  tokens = {
    create: (input: { name: string; role: Role; clusters?: string[] | null }) => {
      const secret = 'fgt_' + randomBytes(16).toString('hex');
      const record: TokenRecord = { id: this.tokenRows.size + 1 + Math.floor(Math.random() * 1e6), name: input.name, role: input.role, clusters: input.clusters ?? null, createdAt: new Date().toISOString() };
      this.tokenRows.set(String(record.id), { secret, record });
      return { token: secret, record: { ...record } };
    },
    list: () => [...this.tokenRows.values()].map((t) => ({ ...t.record })),
    delete: (id: TokenRecord['id']) => {
      if (!this.tokenRows.delete(String(id))) throw new StoreError('not_found', `token ${id} not found`);
    },
    verify: (secret: string) => {
      this.verifyCalls++;
      for (const t of this.tokenRows.values()) if (t.secret === secret) return { ...t.record };
      return undefined;
    },
  };

  private parse(config: string): FakeConfig {
    try {
      return JSON.parse(config) as FakeConfig;
    } catch {
      throw new StoreError('invalid', 'config is not a valid kubeconfig');
    }
  }

  /** What a sync would build from the table. Per-entry generation bumps when the config changes. */
  private gens = new Map<number, { config: string; gen: number }>();
  toEntries(): IndexEntryInput[] {
    return [...this.rows.values()].map((r) => {
      const c = r.config ? this.parse(r.config) : {};
      const prev = this.gens.get(r.id);
      const gen = prev && prev.config === r.config ? prev.gen : (prev?.gen ?? 0) + 1;
      this.gens.set(r.id, { config: r.config, gen });
      return {
        id: r.id,
        name: r.name,
        description: r.description,
        enabled: r.enabled,
        isDefault: r.isDefault,
        inCluster: r.inCluster,
        state: !r.enabled ? 'disabled' : (c.state ?? 'ok'),
        version: c.version ?? 'v1.30.0-fake',
        error: c.error ?? '',
        errorAt: c.error ? Date.now() : 0,
        probedAt: Date.now(),
        configHash: String(gen) + ':' + r.config.length,
        generation: gen,
        prometheusUrl: r.prometheusUrl,
        client: {
          server: c.server ?? '',
          caData: c.caData ?? '',
          certData: c.certData ?? '',
          keyData: c.keyData ?? '',
          token: c.token ?? '',
          tlsServerName: c.tlsServerName ?? '',
          insecure: c.insecure ?? false,
          proxyUrl: c.proxyUrl ?? '',
        },
      };
    });
  }
}

/** A syncBarrier that commits the store into the directory, and records that it was awaited. */
export class FakeSync {
  calls = 0;
  /** Settled barriers, so a test can tell the app waited for the commit before answering. */
  resolved = 0;
  /** When false the barrier times out (resolves false without syncing). */
  commits = true;
  delayMs = 20;

  constructor(
    private readonly store: FakeStore,
    private readonly directory: FakeDirectory,
  ) {}

  syncNow(): void {
    this.directory.commit(this.store.toEntries());
  }

  barrier = async (timeoutMs: number): Promise<boolean> => {
    this.calls++;
    await new Promise((r) => setTimeout(r, Math.min(this.delayMs, timeoutMs)));
    if (this.commits) this.syncNow();
    this.resolved++;
    return this.commits;
  };
}
