/**
 * Cluster groups (`prod`, `staging`): named sets of clusters that token scopes refer to as
 * `group:NAME`. A cluster may be in several groups. The sync worker reads every cluster's groups
 * with the table (membership()) and writes them into the shared index, so requests never ask the
 * database which groups a cluster is in.
 *
 * A rename rewrites the scope rules that name the group (`group:OLD`, `!group:OLD`) in the same
 * transaction, so no token silently loses or gains access. A group that a token's rules name
 * cannot be deleted: an exclusion of a vanished group would quietly widen that token's access.
 */
import type Database from 'better-sqlite3';
import { kGroupPrefix, kScopeNameRe } from '../access/scope.js';
import { StoreError, isUniqueViolation, toStoreError } from './errors.js';

export interface GroupRecord {
  id: number;
  name: string;
  description: string;
  /** Names of the member clusters, sorted. */
  clusters: string[];
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
}

export interface GroupInput {
  name: string;
  description?: string;
  /** Member clusters by name; each must exist. */
  clusters?: string[];
}

export interface GroupPatch {
  name?: string;
  description?: string;
  /** Replaces the membership. */
  clusters?: string[];
  /** Added to / removed from the membership (after `clusters`, if both are given). */
  addClusters?: string[];
  removeClusters?: string[];
}

const kMaxDescription = 4096;
export const kGroupNameRule = 'group name must be 1 to 100 characters: letters, digits, "-", "_" and "."';

interface DbGroup {
  id: number;
  name: string;
  description: string;
  created_at: number;
  updated_at: number;
}

// Input checks and rule rewriting, shared with the PostgreSQL backend (src/store/postgres/groups.ts).

export function checkGroupName(name: unknown): string {
  if (typeof name !== 'string' || !kScopeNameRe.test(name)) throw new StoreError('invalid', kGroupNameRule);
  return name;
}

export function checkGroupDescription(d: unknown): string | undefined {
  if (d === undefined) return undefined;
  if (typeof d !== 'string') throw new StoreError('invalid', 'description must be a string');
  if (d.length > kMaxDescription) throw new StoreError('invalid', `description is longer than ${kMaxDescription} characters`);
  return d;
}

export function checkGroupMembers(v: unknown, field: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((c) => typeof c !== 'string')) throw new StoreError('invalid', `${field} must be a list of cluster names`);
  return [...new Set(v as string[])];
}

/** The membership after an update: `base` (the current members, or the replacement), plus `add`, minus `remove`. */
export function mergeMembers(base: readonly string[], add: readonly string[], remove: readonly string[]): string[] {
  return [...new Set([...base, ...add])].filter((m) => !remove.includes(m));
}

/** A token's rules with `group:FROM` (and its exclusion) renamed to `group:TO`; other rules untouched. */
export function renameRules(rules: readonly string[], from: string, to: string): string[] {
  const inc = kGroupPrefix + from;
  return rules.map((x) => (x === inc ? kGroupPrefix + to : x === '!' + inc ? '!' + kGroupPrefix + to : x));
}

/** A group to create, checked: StoreError('invalid') for a bad name, description or member list. */
export function checkGroupInput(input: GroupInput): { name: string; description: string; clusters: string[] } {
  if (typeof input !== 'object' || input === null) throw new StoreError('invalid', 'group must be an object');
  return {
    name: checkGroupName(input.name),
    description: checkGroupDescription(input.description) ?? '',
    clusters: checkGroupMembers(input.clusters, 'clusters') ?? [],
  };
}

/** A group patch, checked; absent fields stay undefined (add and remove default to none). */
export function checkGroupPatch(patch: GroupPatch): { name?: string; description?: string; replace?: string[]; add: string[]; remove: string[] } {
  if (typeof patch !== 'object' || patch === null) throw new StoreError('invalid', 'patch must be an object');
  return {
    name: patch.name === undefined ? undefined : checkGroupName(patch.name),
    description: checkGroupDescription(patch.description),
    replace: checkGroupMembers(patch.clusters, 'clusters'),
    add: checkGroupMembers(patch.addClusters, 'addClusters') ?? [],
    remove: checkGroupMembers(patch.removeClusters, 'removeClusters') ?? [],
  };
}

/** Every (cluster id, group name) pair, by group name: the same SQL in both dialects. */
export const kMembershipSql =
  'SELECT m.cluster_id AS id, g.name AS name FROM cluster_group_members m JOIN cluster_groups g ON g.id = m.group_id ORDER BY g.name';

/** kMembershipSql's rows as cluster id → group names (kept in the rows' order, so sorted). */
export function membershipMap(rows: readonly { id: number; name: string }[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const r of rows) {
    const l = out.get(r.id);
    if (l) l.push(r.name);
    else out.set(r.id, [r.name]);
  }
  return out;
}

/**
 * The tokens among `rows` whose rules name `group` (`group:NAME` or its exclusion), rules parsed.
 * The backends select `rows` with a LIKE on the rule, which also matches longer group names.
 */
export function tokensNamingGroup(rows: readonly { id: number; name: string; clusters: string }[], group: string): { id: number; name: string; rules: string[] }[] {
  const rule = kGroupPrefix + group;
  return rows
    .map((r) => ({ id: r.id, name: r.name, rules: JSON.parse(r.clusters) as string[] }))
    .filter((t) => t.rules.some((x) => x === rule || x === '!' + rule));
}

export class GroupRepo {
  constructor(private readonly db: Database.Database) {}

  private run<T>(action: string, fn: () => T, txn = false, name = ''): T {
    try {
      return txn ? this.db.transaction(fn).immediate() : fn();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreError('conflict', `a group named "${name}" already exists`);
      throw toStoreError(err, action);
    }
  }

  private membersOf(id: number): string[] {
    return (
      this.db
        .prepare('SELECT c.name FROM cluster_group_members m JOIN clusters c ON c.id = m.cluster_id WHERE m.group_id = ? ORDER BY c.name')
        .pluck()
        .all(id) as string[]
    );
  }

  private toRecord(r: DbGroup): GroupRecord {
    return { id: r.id, name: r.name, description: r.description, clusters: this.membersOf(r.id), createdAt: r.created_at, updatedAt: r.updated_at };
  }

  list(): GroupRecord[] {
    return this.run('listing groups', () => (this.db.prepare('SELECT * FROM cluster_groups ORDER BY name').all() as DbGroup[]).map((r) => this.toRecord(r)));
  }

  get(id: number): GroupRecord | undefined {
    return this.run('reading a group', () => {
      const r = this.db.prepare('SELECT * FROM cluster_groups WHERE id = ?').get(id) as DbGroup | undefined;
      return r ? this.toRecord(r) : undefined;
    });
  }

  getByName(name: string): GroupRecord | undefined {
    return this.run('reading a group', () => {
      const r = this.db.prepare('SELECT * FROM cluster_groups WHERE name = ?').get(name) as DbGroup | undefined;
      return r ? this.toRecord(r) : undefined;
    });
  }

  /** Names of the groups that exist among `names`. */
  existing(names: readonly string[]): Set<string> {
    const out = new Set<string>();
    const q = this.db.prepare('SELECT 1 FROM cluster_groups WHERE name = ?').pluck();
    for (const n of names) if (q.get(n) !== undefined) out.add(n);
    return out;
  }

  /** Every cluster id's group names, sorted: what the sync writes into the index. */
  membership(): Map<number, string[]> {
    return this.run('reading group membership', () => {
      return membershipMap(this.db.prepare(kMembershipSql).all() as { id: number; name: string }[]);
    });
  }

  /** Cluster ids by name; StoreError('invalid') naming the first unknown cluster. */
  private clusterIdsLocked(names: readonly string[]): number[] {
    const q = this.db.prepare('SELECT id FROM clusters WHERE name = ?').pluck();
    return names.map((n) => {
      const id = q.get(n) as number | undefined;
      if (id === undefined) throw new StoreError('invalid', `unknown cluster "${n}"`);
      return id;
    });
  }

  private setMembersLocked(groupId: number, ids: readonly number[]): void {
    this.db.prepare('DELETE FROM cluster_group_members WHERE group_id = ?').run(groupId);
    const ins = this.db.prepare('INSERT OR IGNORE INTO cluster_group_members (group_id, cluster_id) VALUES (?, ?)');
    for (const id of ids) ins.run(groupId, id);
  }

  create(input: GroupInput): GroupRecord {
    const { name, description, clusters } = checkGroupInput(input);
    const id = this.run(
      `creating group "${name}"`,
      () => {
        if (this.db.prepare('SELECT 1 FROM cluster_groups WHERE name = ?').get(name)) throw new StoreError('conflict', `a group named "${name}" already exists`);
        const ids = this.clusterIdsLocked(clusters);
        const now = Date.now();
        const gid = Number(this.db.prepare('INSERT INTO cluster_groups (name, description, created_at, updated_at) VALUES (?, ?, ?, ?)').run(name, description, now, now).lastInsertRowid);
        this.setMembersLocked(gid, ids);
        return gid;
      },
      true,
      name,
    );
    return this.get(id)!;
  }

  update(id: number, patch: GroupPatch): GroupRecord {
    const { name, description, replace, add, remove } = checkGroupPatch(patch);
    this.run(
      `updating group ${id}`,
      () => {
        const cur = this.db.prepare('SELECT * FROM cluster_groups WHERE id = ?').get(id) as DbGroup | undefined;
        if (!cur) throw new StoreError('not_found', `no group with id ${id}`);
        const members = mergeMembers(replace ?? this.membersOf(id), add, remove);
        // Every name given must exist, removed ones too: a typo must not pass as a no-op.
        this.clusterIdsLocked(remove);
        const ids = this.clusterIdsLocked(members);
        const now = Date.now();
        if (name !== undefined && name !== cur.name) {
          if (this.db.prepare('SELECT 1 FROM cluster_groups WHERE name = ?').get(name)) throw new StoreError('conflict', `a group named "${name}" already exists`);
          this.renameInRulesLocked(cur.name, name);
        }
        this.db
          .prepare('UPDATE cluster_groups SET name = ?, description = ?, updated_at = ? WHERE id = ?')
          .run(name ?? cur.name, description ?? cur.description, now, id);
        this.setMembersLocked(id, ids);
      },
      true,
      name ?? '',
    );
    return this.get(id)!;
  }

  /** Deletes a group no token's scope names. */
  delete(id: number): void {
    this.run(
      `deleting group ${id}`,
      () => {
        const cur = this.db.prepare('SELECT * FROM cluster_groups WHERE id = ?').get(id) as DbGroup | undefined;
        if (!cur) throw new StoreError('not_found', `no group with id ${id}`);
        const users = this.tokensNamingLocked(cur.name).map((t) => `"${t.name}"`);
        if (users.length > 0) {
          throw new StoreError('conflict', `group "${cur.name}" is named in the scope of token ${users.join(', ')}; delete or replace those tokens first`);
        }
        this.db.prepare('DELETE FROM cluster_groups WHERE id = ?').run(id);
      },
      true,
    );
  }

  private tokensNamingLocked(group: string): { id: number; name: string; rules: string[] }[] {
    const rows = this.db.prepare("SELECT id, name, clusters FROM tokens WHERE clusters LIKE '%' || ? || '%'").all(kGroupPrefix + group) as { id: number; name: string; clusters: string }[];
    return tokensNamingGroup(rows, group);
  }

  private renameInRulesLocked(from: string, to: string): void {
    const upd = this.db.prepare('UPDATE tokens SET clusters = ? WHERE id = ?');
    for (const t of this.tokensNamingLocked(from)) upd.run(JSON.stringify(renameRules(t.rules, from, to)), t.id);
  }
}
