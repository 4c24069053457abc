/**
 * The sync engine: fleetgate's only writer of the cluster index (Kite's syncClusters, done right).
 *
 * One pass follows the commit protocol (docs/ARCHITECTURE.md, data flow):
 *  1. Snapshot — what the index holds now. The engine is the only writer, so after start-up its
 *     own record of the last commit *is* that snapshot; at start-up (also after a crashed sync
 *     worker is replaced) it is read from the active index under the read lock, so per-entry
 *     generations stay monotonic and versions survive a restart.
 *  2. Build, no lock held — read the table; rebuild client configs only for rows whose kubeconfig,
 *     in-cluster flag, enabled flag or Prometheus URL changed (all of them on the periodic resync,
 *     which also re-reads file references), and encode the complete next index.
 *  3. Commit — IndexWriter.publish flips the active buffer under the write lock; nothing else
 *     happens under it.
 *  4. After — HTTP workers see the new generation and retire agents of changed clusters.
 *
 * Version probes are not part of a pass: a pass never waits for the network. Probes run in the
 * background with bounded concurrency and a per-cluster timeout, and their results are folded in
 * and committed in small batches, so one dead or hanging cluster delays nobody's commit, and a
 * sync request (an admin write waiting for read-your-writes) is served in one pass's time.
 */
import { createHash } from 'node:crypto';
import { IndexCapacityError } from '../index/buffers.js';
import { kStrCount, measureEntry } from '../index/encoding.js';
import type { ClientConfig, ClusterState, IndexEntry, IndexEntryInput } from '../index/types.js';
import type { ClusterRow } from '../store/index.js';
import type { Phase, SyncStats } from './stats.js';

/**
 * The fields of a clusters-table row (kubeconfig decrypted) that a sync reads. `configError`:
 * why the stored kubeconfig could not be read (it failed to decrypt); the cluster then commits in
 * the error state with that reason and the others are unaffected. `groups`: the names of the
 * groups the cluster is in (sorted; omitted = none), which the index carries for scopes.
 */
export type SyncRow = Omit<ClusterRow, 'createdAt' | 'updatedAt'> & { configError?: string; groups?: readonly string[] };

export type ProbeResult = { ok: true; gitVersion: string } | { ok: false; error: string };

export interface SyncDeps {
  listRows(): SyncRow[];
  /** Encode and commit the complete next index; returns the write-lock hold time. */
  publish(entries: IndexEntryInput[]): { generation: number; holdNs: number };
  /** The active index at start-up (phase 1 after a restart). */
  initialSnapshot(): IndexEntry[];
  /** Row → normalised client config; throws with a secret-free reason when refused or invalid. */
  buildClient(row: SyncRow): ClientConfig;
  /** Stable hash of exactly the inputs that matter for a client. */
  hashConfig(input: { config: ClientConfig; prometheusUrl: string; enabled: boolean }): string;
  probe(client: ClientConfig, timeoutMs: number): Promise<ProbeResult>;
  stats?: SyncStats;
  now?: () => number;
  log?: (line: string) => void;
}

export interface SyncOptions {
  /** Probes in flight at once (default 16). */
  probeConcurrency: number;
  /** Per-cluster probe timeout (default 5000 ms). */
  probeTimeoutMs: number;
  /** Periodic resync: re-read configs and re-probe every cluster (default 60000 ms). */
  resyncIntervalMs: number;
  /** First retry delay of a failing cluster; doubles per failure up to the resync interval. */
  backoffBaseMs: number;
  /** Shortest gap between two commits of probe results (default 20 ms; grows with commit cost, see kCommitShare). */
  probeCommitMs: number;
}

export const defaultSyncOptions: SyncOptions = {
  probeConcurrency: 16,
  probeTimeoutMs: 5000,
  resyncIntervalMs: 60_000,
  backoffBaseMs: 1000,
  probeCommitMs: 20,
};

/**
 * The most of the sync worker's time that commits of probe results may take: the gap between two
 * is at least the last commit's cost over this share. Probe results keep arriving during a big
 * sync (16 at a time, for as long as it takes), so this share is what committing costs it: at
 * 1/4 a 10,000-cluster first sync spent a fifth of its CPU re-publishing the index. At 1/10 and
 * with unchanged entries copied forward (IndexWriter.publish) a 10,000-cluster first sync
 * commits about every 170 ms (bench:sync: 121 commits in 20 s; before, 111 in 26 s).
 */
const kCommitShare = 1 / 10;

/** What the engine remembers of one cluster between passes: its committed entry and probe state. */
interface ClusterRecord {
  entry: IndexEntryInput;
  /** Fingerprint of the row fields the client config was built from. */
  rowPrint: string;
  /** Why the config could not be built ('' when it could). */
  buildError: string;
  /** The build is waiting on something running in the background (an exec plugin): building, not error. */
  pending: boolean;
  failures: number;
  /** Earliest time the next probe may start (backoff); 0 = now. */
  nextProbeAt: number;
  /** Entry generation a probe in flight was started for; 0 = none in flight. */
  probingGeneration: number;
  /** Set when a probe is wanted (new/changed config, resync, retry). */
  probeWanted: boolean;
}

/** Fingerprint of the row fields a client config and its hash are built from. */
function rowPrint(row: SyncRow): string {
  return createHash('sha1')
    .update(`${row.inCluster ? 1 : 0}\0${row.enabled ? 1 : 0}\0${row.prometheusUrl}\0${row.configError ?? ''}\0`)
    .update(row.config)
    .digest('base64');
}

/**
 * Whether two sorted entry lists would encode the same index (apart from the index generation).
 * The client config is compared through configHash, which is computed from it.
 */
function sameEntries(a: readonly IndexEntryInput[], b: readonly IndexEntryInput[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue; // entries are values once published (IndexWriter.publish)
    if (
      x.id !== y.id || x.name !== y.name || x.description !== y.description || x.enabled !== y.enabled ||
      x.isDefault !== y.isDefault || x.inCluster !== y.inCluster || x.state !== y.state || x.version !== y.version ||
      x.error !== y.error || x.errorAt !== y.errorAt || x.probedAt !== y.probedAt || x.configHash !== y.configHash ||
      x.generation !== y.generation || x.prometheusUrl !== y.prometheusUrl || (x.groups ?? []).join(',') !== (y.groups ?? []).join(',')
    ) {
      return false;
    }
  }
  return true;
}

const emptyClient: ClientConfig = {
  server: '',
  caData: '',
  certData: '',
  keyData: '',
  token: '',
  tlsServerName: '',
  insecure: false,
  proxyUrl: '',
};

export class SyncEngine {
  private readonly opts: SyncOptions;
  private readonly now: () => number;
  private records = new Map<number, ClusterRecord>();
  private started = false;
  private lastResyncAt = 0;
  private inFlight = 0;
  private probeQueue: number[] = [];
  private dirty = false;
  private commitTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastCommitAt = 0;
  /** What the last commit cost, from collecting the entries to the stats (ms). */
  private lastCommitMs = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  /** What the last commit published, to tell content commits from no-op ones (metrics). */
  private lastCommitted: IndexEntryInput[] = [];

  constructor(
    private readonly deps: SyncDeps,
    opts: Partial<SyncOptions> = {},
  ) {
    this.opts = { ...defaultSyncOptions, ...opts };
    this.now = deps.now ?? Date.now;
  }

  /** One pass of phases 1–4. Synchronous: it never waits for the network. */
  pass(opts: { resync?: boolean } = {}): { generation: number; holdNs: number } {
    const stats = this.deps.stats;
    let t = performance.now();
    const phase = (p: Phase) => {
      const t2 = performance.now();
      stats?.recordPhase(p, (t2 - t) * 1000);
      t = t2;
    };

    // Phase 1: snapshot.
    if (!this.started) {
      this.adoptSnapshot(this.deps.initialSnapshot());
      this.started = true;
    }
    phase('snapshot');

    // Phase 2: build, no lock held.
    const now = this.now();
    const resync = opts.resync === true || now - this.lastResyncAt >= this.opts.resyncIntervalMs;
    if (resync) this.lastResyncAt = now;
    const rows = this.deps.listRows();
    const next = new Map<number, ClusterRecord>();
    for (const row of rows) next.set(row.id, this.rebuild(row, this.records.get(row.id), resync));
    this.records = next;
    this.assignDefault(rows);
    phase('build');

    // Phase 3: commit.
    const result = this.commitNow();
    phase('commit');

    // Phase 4: after. Readers retire agents by entry generation; here only probes get queued.
    this.scheduleProbes();
    phase('after');
    stats?.recordSync();
    return result;
  }

  /** Resolves when no probe is queued or in flight and no commit is pending (tests, benchmarks). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Probe these clusters again now, without a pass and without backoff: on the PostgreSQL
   * backend, another replica (the prober) recorded new results for them.
   */
  reprobe(ids: Iterable<number>): void {
    for (const id of ids) {
      const rec = this.records.get(id);
      if (!rec) continue;
      rec.probeWanted = true;
      rec.nextProbeAt = 0;
    }
    this.scheduleProbes();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.commitTimer);
    clearTimeout(this.retryTimer);
    this.probeQueue = [];
  }

  /** Entries as last committed (copies of the engine's own record). */
  entries(): IndexEntryInput[] {
    return [...this.records.values()].map((r) => r.entry);
  }

  private isIdle(): boolean {
    return this.inFlight === 0 && this.probeQueue.length === 0 && !this.dirty;
  }

  private adoptSnapshot(snapshot: IndexEntry[]): void {
    for (const e of snapshot) {
      const { indexGeneration: _ignored, ...entry } = e;
      this.records.set(e.id, {
        entry,
        rowPrint: '', // unknown: forces a rebuild, which keeps the generation if the hash matches
        buildError: '',
        pending: false,
        failures: e.state === 'error' ? 1 : 0,
        nextProbeAt: 0,
        probingGeneration: 0,
        probeWanted: e.state === 'building',
      });
    }
  }

  private rebuild(row: SyncRow, prev: ClusterRecord | undefined, resync: boolean): ClusterRecord {
    // The print covers every row field a client is built from, so an unchanged print (outside a
    // resync, which re-reads file references) lets the pass skip parsing and hashing entirely.
    const print = rowPrint(row);
    let client: ClientConfig = prev?.entry.client ?? emptyClient;
    let buildError = prev?.buildError ?? '';
    let configHash = prev?.entry.configHash ?? '';
    let pending = prev?.pending ?? false;
    if (!prev || prev.rowPrint !== print || resync || prev.pending) {
      try {
        if (row.configError) throw new Error(row.configError);
        client = this.deps.buildClient(row);
        buildError = '';
        pending = false;
      } catch (err) {
        client = emptyClient;
        buildError = err instanceof Error ? err.message : String(err);
        // Duck-typed (k8s/exec-plugin.ts ExecPendingError): the engine knows no plugin types.
        pending = (err as { pending?: unknown } | null)?.pending === true;
      }
      configHash = this.deps.hashConfig({ config: client, prometheusUrl: row.prometheusUrl, enabled: row.enabled });
    }
    const sameConfig = prev !== undefined && prev.entry.configHash === configHash;
    const generation = prev === undefined ? 1 : sameConfig ? prev.entry.generation : prev.entry.generation + 1;

    const base = {
      id: row.id,
      name: row.name,
      description: row.description,
      enabled: row.enabled,
      isDefault: row.isDefault,
      inCluster: row.inCluster,
      prometheusUrl: row.prometheusUrl,
      groups: row.groups ?? [],
      configHash,
      generation,
      client,
    };
    const keep = prev?.entry;
    const record: ClusterRecord = {
      entry: {
        ...base,
        state: 'building',
        version: keep?.version ?? '',
        error: '',
        errorAt: keep?.errorAt ?? 0,
        probedAt: keep?.probedAt ?? 0,
      },
      rowPrint: print,
      buildError,
      pending,
      failures: sameConfig ? (prev?.failures ?? 0) : 0,
      nextProbeAt: sameConfig ? (prev?.nextProbeAt ?? 0) : 0,
      probingGeneration: prev?.probingGeneration ?? 0,
      probeWanted: false,
    };

    if (!row.enabled) {
      record.entry.state = 'disabled';
      return record;
    }
    if (buildError && pending) return record; // building; the plugin's end requests a pass
    if (buildError) {
      record.entry.state = 'error';
      record.entry.error = buildError;
      record.entry.errorAt = sameConfig && keep?.error === buildError ? keep.errorAt : this.now();
      return record;
    }
    if (sameConfig && keep && keep.state !== 'disabled' && !prev!.buildError) {
      // Unchanged: keep serving what was committed; re-probe on resync, or when a retry is due.
      record.entry.state = keep.state;
      record.entry.version = keep.version;
      record.entry.error = keep.error;
      record.entry.errorAt = keep.errorAt;
      record.entry.probedAt = keep.probedAt;
      record.probeWanted = resync || keep.state === 'building' || keep.state === 'error' || prev!.probeWanted;
      return record;
    }
    // New or changed config: accepted, first probe pending. The previous entry stayed in the
    // active index, serving the old client, until this commit replaces it.
    record.probeWanted = true;
    return record;
  }

  /** The row marked default, else the first enabled cluster by name (rows arrive sorted by name). */
  private assignDefault(rows: SyncRow[]): void {
    let chosen = rows.find((r) => r.isDefault)?.id;
    if (chosen === undefined) chosen = rows.find((r) => r.enabled)?.id;
    for (const rec of this.records.values()) rec.entry.isDefault = rec.entry.id === chosen;
  }

  private commitNow(): { generation: number; holdNs: number } {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    this.dirty = false;
    const t0 = performance.now();
    const entries = [...this.records.values()].map((r) => r.entry);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const result = this.publishFitting(entries);
    this.lastCommitAt = this.now();
    if (this.deps.stats) {
      const states: Record<ClusterState, number> = { ok: 0, error: 0, building: 0, disabled: 0 };
      for (const e of entries) states[e.state]++;
      this.deps.stats.recordCommit(result.holdNs, states, !sameEntries(this.lastCommitted, entries));
    }
    this.lastCommitted = entries;
    this.lastCommitMs = performance.now() - t0;
    this.maybeIdle();
    return result;
  }

  /**
   * Publishes `entries`; when the index cannot hold them all, the largest entry still carrying a
   * client config is committed without it, in the error state with the reason, and the rest are
   * tried again. One oversized cluster therefore costs only itself, never the whole commit.
   */
  private publishFitting(entries: IndexEntryInput[]): { generation: number; holdNs: number } {
    for (;;) {
      try {
        return this.deps.publish(entries);
      } catch (err) {
        if (!(err instanceof IndexCapacityError)) throw err;
        const lens = new Int32Array(kStrCount);
        let worst = -1;
        let worstBytes = 0;
        entries.forEach((e, i) => {
          if (e.client.server === '' && e.client.caData === '' && e.client.certData === '') return;
          const bytes = measureEntry(e, lens, 0);
          if (bytes > worstBytes) [worst, worstBytes] = [i, bytes];
        });
        if (worst < 0) throw err;
        const e = entries[worst]!;
        const error = `the cluster index has no room for this cluster's entry (${worstBytes} bytes): ${err.message}`;
        entries[worst] = { ...e, state: 'error', error, errorAt: this.now(), client: emptyClient };
        const rec = this.records.get(e.id);
        if (rec) {
          rec.entry = entries[worst]!;
          rec.buildError = error;
        }
        this.deps.log?.(`sync: cluster "${e.name}": ${error}`);
      }
    }
  }

  /** Batch probe results: commit at most every probeCommitMs, and at most kCommitShare of the time. */
  private markDirty(): void {
    this.dirty = true;
    if (this.commitTimer || this.stopped) return;
    const gap = Math.max(this.opts.probeCommitMs, this.lastCommitMs / kCommitShare);
    const wait = Math.max(0, this.lastCommitAt + gap - this.now());
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      if (this.dirty && !this.stopped) this.commitNow();
    }, wait);
  }

  private scheduleProbes(): void {
    if (this.stopped) return;
    const now = this.now();
    let nextDue = Infinity;
    for (const rec of this.records.values()) {
      if (!rec.probeWanted || rec.entry.state === 'disabled' || rec.buildError) continue;
      if (rec.probingGeneration === rec.entry.generation) continue; // already in flight
      if (rec.nextProbeAt > now) {
        nextDue = Math.min(nextDue, rec.nextProbeAt);
        continue;
      }
      rec.probeWanted = false;
      rec.probingGeneration = rec.entry.generation;
      this.probeQueue.push(rec.entry.id);
    }
    clearTimeout(this.retryTimer);
    if (nextDue !== Infinity) {
      // Backoff retries need no sync pass: a timer re-runs the scheduler when the first is due.
      this.retryTimer = setTimeout(() => this.scheduleProbes(), Math.max(10, nextDue - now));
      this.retryTimer.unref?.();
    }
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.opts.probeConcurrency && this.probeQueue.length > 0 && !this.stopped) {
      const id = this.probeQueue.shift()!;
      const rec = this.records.get(id);
      if (!rec || rec.probingGeneration !== rec.entry.generation) continue;
      this.inFlight++;
      void this.runProbe(id, rec.entry.generation, rec.entry.client);
    }
    this.maybeIdle();
  }

  private async runProbe(id: number, generation: number, client: ClientConfig): Promise<void> {
    let result: ProbeResult;
    try {
      result = await this.deps.probe(client, this.opts.probeTimeoutMs);
    } catch (err) {
      result = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    this.inFlight--;
    this.deps.stats?.recordProbe(!result.ok);
    const rec = this.records.get(id);
    // A result for a config that has since changed (or a deleted cluster) is dropped: the new
    // config has its own probe queued.
    if (rec && rec.entry.generation === generation && !this.stopped) {
      rec.probingGeneration = 0;
      const now = this.now();
      const e = rec.entry;
      if (result.ok) {
        rec.failures = 0;
        rec.nextProbeAt = 0;
        rec.entry = { ...e, state: 'ok', version: result.gitVersion, error: '', probedAt: now };
      } else {
        rec.failures++;
        const delay = Math.min(this.opts.backoffBaseMs * 2 ** (rec.failures - 1), this.opts.resyncIntervalMs);
        rec.nextProbeAt = now + delay;
        rec.probeWanted = true;
        rec.entry = { ...e, state: 'error', error: result.error, errorAt: now, probedAt: now };
      }
      this.markDirty();
      if (!result.ok) this.scheduleProbes();
    }
    this.pump();
  }

  private maybeIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
