/**
 * Access checks for fleet queries. The HTTP worker turns the authenticated caller into a
 * FleetAccess (no token) and the pool thread applies the same rule the cluster routes use
 * (src/http/auth.ts canSee) to the clusters it reads from the index itself.
 */
import { compileScope, type ScopeTarget } from '../access/scope.js';
import type { Caller } from '../http/auth.js';
import type { FleetAccess } from './types.js';

/** The cloneable access of an authenticated caller (its token stays on the HTTP worker). */
export function accessOf(caller: Caller): FleetAccess {
  const r = caller.record;
  return { name: r.name, role: r.role, clusters: r.clusters === null || r.clusters === undefined ? null : [...r.clusters] };
}

/** May this access use this cluster (the index entry: name and groups)? The scope canSee applies. */
export function mayUse(access: FleetAccess, target: ScopeTarget): boolean {
  return compileScope(access.role === 'admin' ? null : (access.clusters ?? [])).admits(target);
}
