/**
 * Everything the load run ever wrote, so the verifier can make exact checks: "this entry was
 * never written" and "these fields come from two different writes".
 *
 * Writers record *before* they send a write (a write that then fails only makes the verifier more
 * lenient, never stricter), and sets only grow, so a reader racing a write is never flagged
 * wrongly. A churn cluster's simulated backends are tracked per slot, because a rename keeps the
 * client config (and the probed version) of the previous name.
 */
import { parseChurnName } from './scheme.js';

interface NameRecord {
  /** Key into `groups`: the churn slot (`slot:N`) or the stable name (`name:X`). */
  group: string;
  descriptions: Set<string>;
  /** Expected description base and revision, from the name. */
  base: string;
  rev: number;
}

export class WriteRegistry {
  private readonly names = new Map<string, NameRecord>();
  /** group → simulated cluster names whose kubeconfig was ever written under that group. */
  private readonly groups = new Map<string, Set<string>>();
  /** simulated cluster name → every gitVersion it was ever set to serve. */
  private readonly simVersions = new Map<string, Set<string>>();
  /** Names that are never renamed, deleted or disabled by the run. */
  readonly stable = new Set<string>();

  /**
   * @param prefix churn name prefix (names `${prefix}-<slot>-r<rev>` are ours)
   * @param strict when false (running against someone else's server), names that are not ours
   *   get structural checks only
   */
  constructor(
    readonly prefix: string,
    readonly strict = true,
  ) {}

  /** A simulated cluster and the version it serves now. */
  recordSimVersion(sim: string, version: string): void {
    let s = this.simVersions.get(sim);
    if (!s) this.simVersions.set(sim, (s = new Set()));
    s.add(version);
  }

  /** A stable cluster `name` whose kubeconfig points at `sim`. */
  recordStable(name: string, sim: string, description?: string): void {
    this.stable.add(name);
    this.recordName(name, `name:${name}`, name, 0, description, sim);
  }

  /** A churn write: name (new or renamed), optional description, optional backing sim. */
  recordChurn(name: string, description?: string, sim?: string): void {
    const p = parseChurnName(name, this.prefix);
    if (!p) throw new Error(`not a churn name of prefix ${this.prefix}: ${name}`);
    this.recordName(name, `slot:${p.slot}`, `${this.prefix}-${p.slot}`, p.rev, description, sim);
  }

  /** Backing sim of a churn slot changed (kubeconfig update). */
  recordSlotSim(slot: number, sim: string): void {
    this.groupSims(`slot:${slot}`).add(sim);
  }

  private groupSims(group: string): Set<string> {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Set()));
    return g;
  }

  private recordName(name: string, group: string, base: string, rev: number, description: string | undefined, sim: string | undefined): void {
    let r = this.names.get(name);
    if (!r) this.names.set(name, (r = { group, base, rev, descriptions: new Set() }));
    if (description !== undefined) r.descriptions.add(description);
    if (sim !== undefined) this.groupSims(group).add(sim);
  }

  isOurs(name: string): boolean {
    return this.names.has(name) || parseChurnName(name, this.prefix) !== undefined;
  }

  /** True when `name` was ever written (or, in lenient mode, is not ours to judge). */
  knows(name: string): boolean {
    return this.names.has(name);
  }

  /** Whether entries with this name get the full check. */
  judged(name: string): boolean {
    return this.strict || this.isOurs(name);
  }

  expected(name: string): { base: string; rev: number } | undefined {
    const r = this.names.get(name);
    return r && { base: r.base, rev: r.rev };
  }

  descriptionWritten(name: string, description: string): boolean {
    return this.names.get(name)?.descriptions.has(description) ?? false;
  }

  /** Simulated clusters that may legitimately answer for `name`. */
  simsFor(name: string): ReadonlySet<string> {
    const r = this.names.get(name);
    const g = r && this.groups.get(r.group);
    return g && g.size > 0 ? g : new Set([name]);
  }

  /** Versions `name` may legitimately report: '' or any version its possible sims ever served. */
  versionAllowed(name: string, version: string): boolean {
    if (version === '') return true;
    for (const sim of this.simsFor(name)) if (this.simVersions.get(sim)?.has(version)) return true;
    return false;
  }

  /** Whether any version was ever recorded for the sims behind `name` (lenient mode skips otherwise). */
  versionsKnown(name: string): boolean {
    for (const sim of this.simsFor(name)) if (this.simVersions.has(sim)) return true;
    return false;
  }

  get size(): number {
    return this.names.size;
  }
}
