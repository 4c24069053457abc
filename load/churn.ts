/**
 * The churn driver: keeps fleetgate's sync worker busy rewriting the index while the load runs.
 *
 * Through the admin API it creates, updates (kubeconfig, description, enabled), renames and
 * deletes clusters in a set of slots, moves the default, and updates stable clusters'
 * descriptions; through the simulator's control interface it switches versions and rotates
 * credentials (then hands the churned clusters their new tokens). A sync pump posts
 * /api/v1/admin/sync so the index commits at least every few milliseconds even between writes.
 *
 * Every write is recorded in the WriteRegistry before it is sent. One operation per slot is in
 * flight at a time, so the driver's view of each slot stays exact.
 */
import type { WriteRegistry } from './registry.js';
import { churnDescription, churnName, stableDescription } from './scheme.js';

/** The simulator's run-time controls the churn uses. */
export interface SimControl {
  setVersion(sim: string, gitVersion: string): Promise<void>;
  /** Rotates the cluster's bearer token and returns the new one. */
  rotateToken(sim: string): Promise<string>;
}

/** A simulated cluster a churned cluster may point at. */
export interface SimTarget {
  name: string;
  /** One-context kubeconfig (JSON text, as load/kubeconfig.ts makes it). */
  kubeconfig: string;
}

export interface StableCluster {
  id: number;
  name: string;
  /** Description updates so far (the `d` of its description). */
  d: number;
}

export interface ChurnOptions {
  baseUrl: string;
  adminToken: string;
  registry: WriteRegistry;
  /** Simulated clusters churn slots point at (their tokens may be rotated). Empty: a dead kubeconfig. */
  targets: SimTarget[];
  /** Simulated clusters whose version may be switched (targets and stable backends). */
  versionSims: string[];
  /** Stable clusters: descriptions updated, default moved onto them; never renamed or deleted. */
  stable: StableCluster[];
  sim?: SimControl;
  /** Number of churn slots (default 6). */
  slots?: number;
  /** Operations per second (default 40). */
  ratePerSec?: number;
  /** Admin writes in flight at once (default 4). */
  concurrency?: number;
  /**
   * Each kind of kRequiredKinds at least this often per second: when one falls behind, the next
   * operation is of that kind (0 = pure random choice, the default).
   */
  floorPerSec?: number;
  /** Sync request period in ms; 0 disables the pump (default 5). */
  syncEveryMs?: number;
  /** Per-request timeout (default 20000 ms). */
  timeoutMs?: number;
  /** Deterministic choices for tests. */
  random?: () => number;
  log?: (line: string) => void;
}

export type OpName =
  | 'create'
  | 'describe'
  | 'reconfig'
  | 'toggle'
  | 'disable'
  | 'enable'
  | 'rename'
  | 'delete'
  | 'default'
  | 'stable-describe'
  | 'version'
  | 'rotate';

/**
 * The kinds of write a run must make (counted from the driver's own successful writes), with
 * their names in a verdict. `disable` is a toggle that disabled; `reconfig` counts kubeconfig
 * changes, including those after a credential rotation.
 */
export const kRequiredKinds = { create: 'adds', rename: 'renames', delete: 'deletes', disable: 'disables', reconfig: 'config changes' } as const;
export type RequiredKind = keyof typeof kRequiredKinds;

/** Operations that write fleetgate's cluster table (version and rotate act on the simulator). */
const kTableWrites: readonly OpName[] = ['create', 'describe', 'reconfig', 'disable', 'enable', 'rename', 'delete', 'default', 'stable-describe'];

/** Successful writes to fleetgate's cluster table. */
export function churnWrites(stats: ChurnStats | null): number {
  if (!stats) return 0;
  return kTableWrites.reduce((a, op) => a + (stats.ops[op]?.ok ?? 0), 0);
}

/** Successful writes of each required kind. */
export function requiredCounts(stats: ChurnStats | null): Record<RequiredKind, number> {
  const out = {} as Record<RequiredKind, number>;
  for (const k of Object.keys(kRequiredKinds) as RequiredKind[]) out[k] = stats?.ops[k]?.ok ?? 0;
  return out;
}

export interface ChurnStats {
  ops: Record<string, { ok: number; failed: number }>;
  /** Failed writes by `op status`, e.g. `rename 409`. */
  failures: Record<string, number>;
  syncRequests: number;
  syncFailures: number;
  lastError?: string;
}

interface Slot {
  slot: number;
  rev: number;
  d: number;
  id?: number;
  exists: boolean;
  enabled: boolean;
  /** Index into targets; -1 and -2 for the two dead kubeconfigs. */
  target: number;
  busy: boolean;
}

/** A kubeconfig that parses but whose server refuses connections: the cluster lands in `error`. */
export function deadKubeconfig(label: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: label, cluster: { server: 'https://127.0.0.1:9', 'insecure-skip-tls-verify': true } }],
    users: [{ name: label, user: { token: 'churn-dead-token' } }],
    contexts: [{ name: label, context: { cluster: label, user: label } }],
    'current-context': label,
  });
}

/** The same one-context kubeconfig with its user's bearer token replaced. */
export function withToken(kubeconfig: string, token: string): string {
  const doc = JSON.parse(kubeconfig) as { users?: { user?: Record<string, unknown> }[] };
  for (const u of doc.users ?? []) if (u.user) u.user.token = token;
  return JSON.stringify(doc);
}

export class ChurnDriver {
  readonly stats: ChurnStats = { ops: {}, failures: {}, syncRequests: 0, syncFailures: 0 };
  private readonly slots: Slot[];
  private readonly kubeconfigs: string[];
  private readonly rnd: () => number;
  private readonly prefix: string;
  private inFlight = 0;
  private syncInFlight = 0;
  private tokens = 0;
  private lastTick = 0;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private defaultName: string | undefined;
  private defaultBusy = false;
  private globalBusy = false;
  private versionCounter = 0;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly o: ChurnOptions) {
    this.rnd = o.random ?? Math.random;
    this.prefix = o.registry.prefix;
    this.kubeconfigs = o.targets.map((t) => t.kubeconfig);
    this.slots = Array.from({ length: o.slots ?? 6 }, (_, slot) => ({
      slot,
      rev: 0,
      d: 0,
      exists: false,
      enabled: true,
      target: o.targets.length ? slot % o.targets.length : -1,
      busy: false,
    }));
  }

  /** Starts the operation loop and the sync pump. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.lastTick = performance.now();
    this.startedAt = this.lastTick;
    this.timer = setInterval(() => this.tick(), 5);
    const every = this.o.syncEveryMs ?? 5;
    if (every > 0) this.syncTimer = setInterval(() => this.pumpSync(), every);
  }

  /** Stops starting work and waits for what is in flight. */
  async stop(): Promise<ChurnStats> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.syncTimer);
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    return this.stats;
  }

  /**
   * Deletes every cluster the driver created (best effort). A churned default is first handed
   * back to `restoreDefaultId` (the server's original default), else to the first stable cluster,
   * else simply cleared.
   */
  async cleanup(restoreDefaultId?: number): Promise<void> {
    const live = this.slots.filter((s) => s.exists && s.id !== undefined);
    await this.refreshDefault();
    const churnDefault = live.find((s) => this.nameOf(s) === this.defaultName);
    const to = restoreDefaultId ?? this.o.stable[0]?.id;
    if (to !== undefined) await this.request('PUT', `/api/v1/admin/clusters/${to}`, { isDefault: true }).catch(() => undefined);
    else if (churnDefault) await this.request('PUT', `/api/v1/admin/clusters/${churnDefault.id}`, { isDefault: false }).catch(() => undefined);
    await Promise.all(live.map((s) => this.request('DELETE', `/api/v1/admin/clusters/${s.id}`).catch(() => undefined)));
  }

  /** Reads the admin list to learn which cluster is the default now. */
  private async refreshDefault(): Promise<void> {
    try {
      const r = await this.request('GET', '/api/v1/admin/clusters');
      const rows = Array.isArray(r.body) ? (r.body as { name?: unknown; isDefault?: unknown }[]) : [];
      const d = rows.find((x) => x.isDefault === true);
      this.defaultName = typeof d?.name === 'string' ? d.name : undefined;
    } catch {
      /* keep what we knew */
    }
  }

  /** Cluster names that exist now (as far as the driver knows). */
  liveNames(): string[] {
    return this.slots.filter((s) => s.exists).map((s) => this.nameOf(s));
  }

  private nameOf(s: Slot): string {
    return churnName(this.prefix, s.slot, s.rev);
  }

  private configOf(s: Slot): string {
    return s.target >= 0 ? this.kubeconfigs[s.target]! : deadKubeconfig(`${this.prefix}-dead${-s.target}`);
  }

  private count(op: OpName, ok: boolean, detail?: string): void {
    const c = (this.stats.ops[op] ??= { ok: 0, failed: 0 });
    if (ok) c.ok++;
    else {
      c.failed++;
      const key = `${op} ${detail ?? 'error'}`;
      this.stats.failures[key] = (this.stats.failures[key] ?? 0) + 1;
    }
  }

  private tick(): void {
    if (this.stopped) return;
    const now = performance.now();
    const rate = this.o.ratePerSec ?? 40;
    this.tokens = Math.min(this.tokens + ((now - this.lastTick) / 1000) * rate, Math.max(1, rate / 10));
    this.lastTick = now;
    const limit = this.o.concurrency ?? 4;
    while (this.tokens >= 1 && this.inFlight < limit) {
      const job = this.pick();
      if (!job) break;
      this.tokens -= 1;
      this.launch(job);
    }
  }

  private launch(job: () => Promise<void>): void {
    this.inFlight++;
    const p = job()
      .catch((err: unknown) => {
        this.stats.lastError = (err as Error).message;
      })
      .finally(() => {
        this.inFlight--;
        this.pending.delete(p);
      });
    this.pending.add(p);
  }

  /** Chooses the next operation, or undefined when everything is busy. */
  private pick(): (() => Promise<void>) | undefined {
    const due = this.dueJob();
    if (due) return due;
    const r = this.rnd();
    // About one in ten operations acts on the simulator, one in ten on a stable cluster.
    if (r < 0.1 && this.o.sim && !this.globalBusy) {
      return this.rnd() < 0.7 || this.o.targets.length === 0 ? this.switchVersion() : this.rotate();
    }
    if (r < 0.2 && this.o.stable.length > 0) {
      const st = this.o.stable[Math.floor(this.rnd() * this.o.stable.length)]!;
      if (this.rnd() < 0.3 && !this.defaultBusy) return this.moveDefault(st.name, st.id);
      return this.describeStable(st);
    }
    const free = this.slots.filter((s) => !s.busy);
    if (free.length === 0) return undefined;
    const s = free[Math.floor(this.rnd() * free.length)]!;
    if (!s.exists) return this.slotJob(s, 'create');
    const x = this.rnd();
    const op: OpName =
      x < 0.3 ? 'rename' : x < 0.5 ? 'describe' : x < 0.62 ? 'reconfig' : x < 0.74 ? 'toggle' : x < 0.86 ? 'default' : 'delete';
    if (op === 'default' && this.defaultBusy) return this.slotJob(s, 'describe');
    if (op === 'delete' && (this.defaultBusy || this.defaultName === this.nameOf(s))) return this.slotJob(s, 'rename');
    return this.slotJob(s, op);
  }

  /** A job of the required kind furthest behind its floor, when one is behind and a slot can do it. */
  private dueJob(): (() => Promise<void>) | undefined {
    const floor = this.o.floorPerSec ?? 0;
    if (floor <= 0) return undefined;
    const target = (floor * (performance.now() - this.startedAt)) / 1000;
    const behind = (Object.keys(kRequiredKinds) as RequiredKind[])
      .map((k) => [k, this.stats.ops[k]?.ok ?? 0] as const)
      .filter(([, n]) => n < target)
      .sort((a, b) => a[1] - b[1]);
    for (const [kind] of behind) {
      const free = this.slots.filter((s) => !s.busy);
      const s = free.find((x) => {
        switch (kind) {
          case 'create':
            return !x.exists;
          case 'rename':
          case 'reconfig':
            return x.exists;
          case 'disable':
            return x.exists && x.enabled;
          case 'delete':
            return x.exists && !this.defaultBusy && this.defaultName !== this.nameOf(x);
        }
      });
      if (s) return this.slotJob(s, kind === 'disable' ? 'toggle' : kind);
    }
    return undefined;
  }

  private slotJob(s: Slot, op: OpName): () => Promise<void> {
    s.busy = true;
    if (op === 'default') this.defaultBusy = true;
    return async () => {
      try {
        await this.runSlotOp(s, op);
      } finally {
        s.busy = false;
        if (op === 'default') this.defaultBusy = false;
      }
    };
  }

  private async runSlotOp(s: Slot, op: OpName): Promise<void> {
    const reg = this.o.registry;
    switch (op) {
      case 'create': {
        s.rev++;
        s.d = 0;
        if (this.o.targets.length) s.target = Math.floor(this.rnd() * this.o.targets.length);
        const name = this.nameOf(s);
        const description = churnDescription(this.prefix, s.slot, s.rev, s.d);
        reg.recordChurn(name, description, this.targetName(s));
        const res = await this.request('POST', '/api/v1/admin/clusters', { name, description, config: this.configOf(s), enabled: true });
        if (res.status === 201 || res.status === 200) {
          s.id = idOf(res.body);
          s.exists = s.id !== undefined;
          s.enabled = true;
          this.count(op, s.exists, 'no id');
        } else this.count(op, false, String(res.status));
        return;
      }
      case 'describe': {
        const d = s.d + 1;
        const description = churnDescription(this.prefix, s.slot, s.rev, d);
        reg.recordChurn(this.nameOf(s), description);
        const res = await this.put(s, { description });
        if (res.ok) s.d = d;
        this.count(op, res.ok, String(res.status));
        return;
      }
      case 'reconfig': {
        if (this.o.targets.length) s.target = (s.target + 1 + Math.floor(this.rnd() * (this.o.targets.length - 1 || 1))) % this.o.targets.length;
        // No simulated targets (--target runs): alternate between two dead kubeconfigs, so the
        // config still changes.
        else s.target = s.target === -1 ? -2 : -1;
        const sim = this.targetName(s);
        if (sim) reg.recordSlotSim(s.slot, sim);
        const res = await this.put(s, { config: this.configOf(s) });
        this.count(op, res.ok, String(res.status));
        return;
      }
      case 'toggle': {
        const disabling = s.enabled;
        const res = await this.put(s, { enabled: !disabling });
        if (res.ok) s.enabled = !disabling;
        this.count(disabling ? 'disable' : 'enable', res.ok, String(res.status));
        return;
      }
      case 'rename': {
        const rev = s.rev + 1;
        const name = churnName(this.prefix, s.slot, rev);
        const description = churnDescription(this.prefix, s.slot, rev, 0);
        reg.recordChurn(name, description);
        const old = this.nameOf(s);
        const res = await this.put(s, { name, description });
        if (res.ok) {
          s.rev = rev;
          s.d = 0;
          // Only if the default did not move elsewhere meanwhile (a default op on another slot).
          if (this.defaultName === old) this.defaultName = name;
        }
        this.count(op, res.ok, String(res.status));
        return;
      }
      case 'delete': {
        const res = await this.request('DELETE', `/api/v1/admin/clusters/${s.id}`);
        if (res.ok || res.status === 404) {
          s.exists = false;
          s.id = undefined;
        }
        // 400: it is the default after all (someone else moved it); learn where the default is.
        if (res.status === 400) await this.refreshDefault();
        this.count(op, res.ok, String(res.status));
        return;
      }
      case 'default': {
        await this.setDefault(this.nameOf(s), s.id!);
        return;
      }
      default:
        throw new Error(`not a slot operation: ${op}`);
    }
  }

  private targetName(s: Slot): string | undefined {
    return s.target >= 0 ? this.o.targets[s.target]!.name : undefined;
  }

  private async setDefault(name: string, id: number): Promise<void> {
    const res = await this.request('PUT', `/api/v1/admin/clusters/${id}`, { isDefault: true });
    if (res.ok) this.defaultName = name;
    this.count('default', res.ok, String(res.status));
  }

  private moveDefault(name: string, id: number): () => Promise<void> {
    this.defaultBusy = true;
    return async () => {
      try {
        await this.setDefault(name, id);
      } finally {
        this.defaultBusy = false;
      }
    };
  }

  private describeStable(st: StableCluster): () => Promise<void> {
    return async () => {
      const d = st.d + 1;
      const description = stableDescription(st.name, d);
      this.o.registry.recordStable(st.name, st.name, description);
      const res = await this.request('PUT', `/api/v1/admin/clusters/${st.id}`, { description });
      if (res.ok) st.d = Math.max(st.d, d);
      this.count('stable-describe', res.ok, String(res.status));
    };
  }

  private switchVersion(): (() => Promise<void>) | undefined {
    const sims = this.o.versionSims;
    if (sims.length === 0) return undefined;
    const sim = sims[Math.floor(this.rnd() * sims.length)]!;
    this.globalBusy = true;
    const n = ++this.versionCounter;
    // Versions the simulator never starts with, so a reported one is traceable to this switch.
    const version = `v1.${40 + (n % 9)}.${n}-churn`;
    return async () => {
      try {
        this.o.registry.recordSimVersion(sim, version);
        await this.o.sim!.setVersion(sim, version);
        this.count('version', true);
      } catch (err) {
        this.count('version', false, (err as Error).message.slice(0, 40));
      } finally {
        this.globalBusy = false;
      }
    };
  }

  /** Rotates one target's token, then gives every slot pointing at it the new kubeconfig. */
  private rotate(): (() => Promise<void>) | undefined {
    const i = Math.floor(this.rnd() * this.o.targets.length);
    const users = this.slots.filter((s) => s.target === i && !s.busy);
    // Only rotate when every slot on that target can be reconfigured right after.
    if (this.slots.some((s) => s.target === i && s.busy)) return undefined;
    this.globalBusy = true;
    for (const s of users) s.busy = true;
    return async () => {
      try {
        const token = await this.o.sim!.rotateToken(this.o.targets[i]!.name);
        this.kubeconfigs[i] = withToken(this.kubeconfigs[i]!, token);
        this.count('rotate', true);
        await Promise.all(
          users
            .filter((s) => s.exists)
            .map(async (s) => {
              const res = await this.put(s, { config: this.configOf(s) });
              this.count('reconfig', res.ok, String(res.status));
            }),
        );
      } catch (err) {
        this.count('rotate', false, (err as Error).message.slice(0, 40));
      } finally {
        for (const s of users) s.busy = false;
        this.globalBusy = false;
      }
    };
  }

  private put(s: Slot, body: unknown): Promise<{ ok: boolean; status: number; body: unknown }> {
    return this.request('PUT', `/api/v1/admin/clusters/${s.id}`, body);
  }

  private pumpSync(): void {
    if (this.stopped || this.syncInFlight >= 4) return;
    this.syncInFlight++;
    this.stats.syncRequests++;
    const p = this.request('POST', '/api/v1/admin/sync')
      .then((r) => {
        if (!r.ok) this.stats.syncFailures++;
      })
      .catch(() => {
        this.stats.syncFailures++;
      })
      .finally(() => {
        this.syncInFlight--;
        this.pending.delete(p);
      });
    this.pending.add(p);
  }

  private async request(method: string, path: string, body?: unknown): Promise<{ ok: boolean; status: number; body: unknown }> {
    const res = await fetch(this.o.baseUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${this.o.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.o.timeoutMs ?? 20_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* keep the text */
    }
    if (!res.ok && res.status !== 202) {
      const msg = typeof parsed === 'object' && parsed && 'error' in parsed ? String((parsed as { error: unknown }).error) : text;
      this.stats.lastError = `${method} ${path} → ${res.status} ${msg.slice(0, 200)}`;
      this.o.log?.(this.stats.lastError);
    }
    return { ok: res.ok, status: res.status, body: parsed };
  }
}

/** The row id in an admin write's answer: `{ id }` or `{ cluster: { id } }`. */
export function idOf(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const o = body as Record<string, unknown>;
  if (typeof o.id === 'number') return o.id;
  for (const k of ['cluster', 'row', 'data']) {
    const inner = o[k] as Record<string, unknown> | undefined;
    if (inner && typeof inner.id === 'number') return inner.id;
  }
  return undefined;
}
