/**
 * Cluster groups on PostgreSQL: the SQLite GroupRepo's rules (src/store/groups.ts: shared input
 * checks, renames carry the scope rules that name the group, a named group cannot be deleted),
 * asynchronous, and every write bumps the revision and notifies, so every replica's sync worker
 * resyncs and commits the new membership into its index.
 */
import type pg from 'pg';
import { kGroupPrefix } from '../../access/scope.js';
import type { GroupRepoApi } from '../backend.js';
import { StoreError } from '../errors.js';
import {
  checkGroupInput,
  checkGroupPatch,
  kMembershipSql,
  membershipMap,
  mergeMembers,
  renameRules,
  tokensNamingGroup,
  type GroupInput,
  type GroupPatch,
  type GroupRecord,
} from '../groups.js';
import { inTransaction, query } from './db.js';
import { isPgUniqueViolation, pgToStoreError } from './errors.js';

interface PgGroup {
  id: number;
  name: string;
  description: string;
  created_at: number;
  updated_at: number;
  clusters: string[] | null;
}

const kSelect = `SELECT g.*, (SELECT array_agg(c.name ORDER BY c.name) FROM cluster_group_members m JOIN clusters c ON c.id = m.cluster_id WHERE m.group_id = g.id) AS clusters
  FROM cluster_groups g`;

function toRecord(r: PgGroup): GroupRecord {
  return { id: r.id, name: r.name, description: r.description, clusters: r.clusters ?? [], createdAt: r.created_at, updatedAt: r.updated_at };
}

export class PgGroupRepo implements GroupRepoApi {
  constructor(private readonly pool: pg.Pool) {}

  private write<T>(action: string, name: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, action, 'groups', fn, (err) =>
      isPgUniqueViolation(err) ? new StoreError('conflict', `a group named "${name}" already exists`) : pgToStoreError(err, action),
    );
  }

  async list(): Promise<GroupRecord[]> {
    return (await query<PgGroup>(this.pool, 'listing groups', `${kSelect} ORDER BY g.name`)).map(toRecord);
  }

  async get(id: number): Promise<GroupRecord | undefined> {
    const [r] = await query<PgGroup>(this.pool, 'reading a group', `${kSelect} WHERE g.id = $1`, [id]);
    return r ? toRecord(r) : undefined;
  }

  async getByName(name: string): Promise<GroupRecord | undefined> {
    const [r] = await query<PgGroup>(this.pool, 'reading a group', `${kSelect} WHERE g.name = $1`, [name]);
    return r ? toRecord(r) : undefined;
  }

  async membership(): Promise<Map<number, string[]>> {
    return membershipMap(await query<{ id: number; name: string }>(this.pool, 'reading group membership', kMembershipSql));
  }

  private async clusterIds(c: pg.PoolClient, names: readonly string[]): Promise<number[]> {
    const r = await c.query<{ id: number; name: string }>('SELECT id, name FROM clusters WHERE name = ANY($1)', [names]);
    const byName = new Map(r.rows.map((x) => [x.name, x.id]));
    return names.map((n) => {
      const id = byName.get(n);
      if (id === undefined) throw new StoreError('invalid', `unknown cluster "${n}"`);
      return id;
    });
  }

  private async setMembers(c: pg.PoolClient, groupId: number, ids: readonly number[]): Promise<void> {
    await c.query('DELETE FROM cluster_group_members WHERE group_id = $1', [groupId]);
    if (ids.length > 0) {
      await c.query('INSERT INTO cluster_group_members (group_id, cluster_id) SELECT $1, unnest($2::int[]) ON CONFLICT DO NOTHING', [groupId, ids]);
    }
  }

  private async tokensNaming(c: pg.PoolClient, group: string): Promise<{ id: number; name: string; rules: string[] }[]> {
    const r = await c.query<{ id: number; name: string; clusters: string }>("SELECT id, name, clusters FROM tokens WHERE clusters LIKE '%' || $1 || '%' FOR UPDATE", [
      kGroupPrefix + group,
    ]);
    return tokensNamingGroup(r.rows, group);
  }

  async create(input: GroupInput): Promise<GroupRecord> {
    const { name, description, clusters } = checkGroupInput(input);
    const id = await this.write(`creating group "${name}"`, name, async (c) => {
      const ids = await this.clusterIds(c, clusters);
      const now = Date.now();
      const r = await c.query<{ id: number }>('INSERT INTO cluster_groups (name, description, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id', [name, description, now]);
      await this.setMembers(c, r.rows[0]!.id, ids);
      return r.rows[0]!.id;
    });
    return (await this.get(id))!;
  }

  async update(id: number, patch: GroupPatch): Promise<GroupRecord> {
    const { name, description, replace, add, remove } = checkGroupPatch(patch);
    await this.write(`updating group ${id}`, name ?? '', async (c) => {
      const cur = (await c.query<PgGroup>(`${kSelect} WHERE g.id = $1 FOR UPDATE OF g`, [id])).rows[0];
      if (!cur) throw new StoreError('not_found', `no group with id ${id}`);
      await this.clusterIds(c, remove);
      const ids = await this.clusterIds(c, mergeMembers(replace ?? cur.clusters ?? [], add, remove));
      if (name !== undefined && name !== cur.name) {
        const upd = 'UPDATE tokens SET clusters = $1 WHERE id = $2';
        for (const t of await this.tokensNaming(c, cur.name)) await c.query(upd, [JSON.stringify(renameRules(t.rules, cur.name, name)), t.id]);
      }
      await c.query('UPDATE cluster_groups SET name = $1, description = $2, updated_at = $3 WHERE id = $4', [name ?? cur.name, description ?? cur.description, Date.now(), id]);
      await this.setMembers(c, id, ids);
    });
    return (await this.get(id))!;
  }

  async delete(id: number): Promise<void> {
    await this.write(`deleting group ${id}`, '', async (c) => {
      const cur = (await c.query<PgGroup>('SELECT * FROM cluster_groups WHERE id = $1 FOR UPDATE', [id])).rows[0];
      if (!cur) throw new StoreError('not_found', `no group with id ${id}`);
      const users = (await this.tokensNaming(c, cur.name)).map((t) => `"${t.name}"`);
      if (users.length > 0) throw new StoreError('conflict', `group "${cur.name}" is named in the scope of token ${users.join(', ')}; delete or replace those tokens first`);
      await c.query('DELETE FROM cluster_groups WHERE id = $1', [id]);
    });
  }
}
