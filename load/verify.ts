/**
 * The independent verifier: pure functions from a response (status, body) to a reason it is
 * corrupt, or undefined when it is consistent. They trust nothing fleetgate computes: only what
 * the churn driver wrote (the WriteRegistry) and the annotation the simulator stamps on every
 * object it serves.
 */
import type { WriteRegistry } from './registry.js';
import { clip, descriptionMismatch } from './scheme.js';

export const kClusterAnnotation = 'fleetgate.dev/cluster';

/** What a load request asked for, so its answer can be judged. */
export type RequestKind = 'clusters' | 'overview' | 'resource' | 'passthrough';

export interface VerifyOptions {
  /** Items without the simulator's cluster annotation are corrupt (true when we run the simulator). */
  requireAnnotation: boolean;
}

const kStates = new Set(['ok', 'error', 'building', 'disabled']);

/** Counts of things the verifier could not check, reported once per run rather than per response. */
export interface VerifierNotes {
  /** List entries that had no `description` field (older server): the revision check was skipped. */
  missingDescription: number;
}

export function emptyNotes(): VerifierNotes {
  return { missingDescription: 0 };
}

const q = JSON.stringify;

function parse(body: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (err) {
    return { ok: false, reason: `JSON does not parse: ${(err as Error).message}` };
  }
}

/** One entry of GET /api/v1/clusters; undefined when consistent. */
export function checkClusterEntry(e: unknown, reg: WriteRegistry, notes?: VerifierNotes): string | undefined {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return `entry is not an object: ${clip(q(e) ?? String(e))}`;
  const o = e as Record<string, unknown>;
  const name = o.name;
  if (typeof name !== 'string' || name === '') return `entry name is not a non-empty string: ${clip(q(name) ?? 'undefined')}`;
  if (typeof o.version !== 'string') return `entry ${q(name)}: version is not a string`;
  if (typeof o.isDefault !== 'boolean') return `entry ${q(name)}: isDefault is not a boolean`;
  if (typeof o.state !== 'string' || !kStates.has(o.state)) return `entry ${q(name)}: state ${clip(q(o.state) ?? 'undefined')} is not a known state`;
  if (o.error !== undefined && typeof o.error !== 'string') return `entry ${q(name)}: error is not a string`;
  if (!reg.judged(name)) return undefined;
  if (!reg.knows(name)) return `entry ${q(name)} was never written`;
  if (o.description === undefined) {
    if (notes) notes.missingDescription++;
  } else if (typeof o.description !== 'string') {
    return `entry ${q(name)}: description is not a string`;
  } else if (!reg.descriptionWritten(name, o.description)) {
    const exp = reg.expected(name)!;
    return (
      descriptionMismatch(name, o.description, exp.base, exp.rev) ??
      `entry ${q(name)}: description ${q(clip(o.description))} was never written for this name`
    );
  }
  if ((reg.strict || reg.versionsKnown(name)) && !reg.versionAllowed(name, o.version)) {
    return `entry ${q(name)}: version ${q(clip(o.version))} was never served by its clusters (${[...reg.simsFor(name)].join(', ')})`;
  }
  return undefined;
}

/** GET /api/v1/clusters: parses, sorted by name, no duplicates, at most one default, every entry consistent. */
export function checkClusterList(body: string, reg: WriteRegistry, notes?: VerifierNotes): string | undefined {
  const p = parse(body);
  if (!p.ok) return p.reason;
  const list = p.value;
  if (!Array.isArray(list)) return 'cluster list is not a JSON array';
  let prev: string | undefined;
  let defaults = 0;
  for (let i = 0; i < list.length; i++) {
    const bad = checkClusterEntry(list[i], reg, notes);
    if (bad) return `[${i}] ${bad}`;
    const e = list[i] as { name: string; isDefault: boolean };
    if (prev !== undefined) {
      if (e.name === prev) return `duplicate entry ${q(e.name)} at [${i - 1}] and [${i}]`;
      if (e.name < prev) return `list not sorted by name: ${q(prev)} before ${q(e.name)} at [${i}]`;
    }
    prev = e.name;
    if (e.isDefault) defaults++;
  }
  if (defaults > 1) return `${defaults} entries are marked default`;
  if (reg.stable.size > 0) {
    const seen = new Set((list as { name: string }[]).map((e) => e.name));
    for (const s of reg.stable) if (!seen.has(s)) return `stable cluster ${q(s)} is missing from the list`;
  }
  return undefined;
}

/** GET /api/v1/overview for cluster `asked`. */
export function checkOverview(body: string, asked: string, reg: WriteRegistry): string | undefined {
  const p = parse(body);
  if (!p.ok) return p.reason;
  const o = p.value as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'overview is not a JSON object';
  if (o.cluster !== asked) return `overview is for cluster ${clip(q(o.cluster) ?? 'undefined')}, asked ${q(asked)}`;
  if (typeof o.version !== 'string') return 'overview version is not a string';
  if (reg.judged(asked) && (reg.strict || reg.versionsKnown(asked)) && !reg.versionAllowed(asked, o.version)) {
    return `overview of ${q(asked)}: version ${q(clip(o.version))} was never served by its clusters`;
  }
  for (const k of ['totalNodes', 'readyNodes', 'totalPods', 'runningPods', 'totalNamespaces', 'totalServices']) {
    if (typeof o[k] !== 'number') return `overview ${k} is not a number`;
  }
  return undefined;
}

/**
 * A Kubernetes list (a resource route or the /k8s passthrough) for cluster `asked`: every item's
 * cluster annotation names a simulated cluster that may answer for `asked`.
 */
export function checkItemList(body: string, asked: string, reg: WriteRegistry, opts: VerifyOptions, kind?: string): string | undefined {
  const p = parse(body);
  if (!p.ok) return p.reason;
  const o = p.value as { kind?: unknown; items?: unknown } | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'list is not a JSON object';
  if (kind !== undefined && o.kind !== kind) return `list kind is ${clip(q(o.kind) ?? 'undefined')}, expected ${q(kind)}`;
  if (!Array.isArray(o.items)) return 'list has no items array';
  const sims = reg.simsFor(asked);
  for (let i = 0; i < o.items.length; i++) {
    const item = o.items[i] as { metadata?: { name?: unknown; annotations?: Record<string, unknown> } } | null;
    const ann = item?.metadata?.annotations?.[kClusterAnnotation];
    if (ann === undefined) {
      if (opts.requireAnnotation) return `items[${i}] (${clip(q(item?.metadata?.name) ?? '?')}) has no ${kClusterAnnotation} annotation`;
      continue;
    }
    if (typeof ann !== 'string' || !sims.has(ann)) {
      return `items[${i}] (${clip(q(item?.metadata?.name) ?? '?')}) came from cluster ${clip(q(ann) ?? '?')}, asked ${q(asked)}`;
    }
  }
  return undefined;
}

/** A non-2xx answer: its body (when any) is JSON, and a stable cluster is never "not found". */
export function checkErrorResponse(status: number, body: string, asked: string | undefined, reg: WriteRegistry): string | undefined {
  if (status === 404 && asked !== undefined && reg.stable.has(asked)) return `stable cluster ${q(asked)} answered 404`;
  if (body.length === 0) return undefined;
  const p = parse(body);
  if (!p.ok) return `status ${status}: error body ${p.reason}`;
  return undefined;
}

/** Dispatch by request kind. `asked` is the cluster a cluster-scoped request named. */
export function checkResponse(
  kind: RequestKind,
  asked: string | undefined,
  status: number,
  body: string,
  reg: WriteRegistry,
  opts: VerifyOptions,
  notes?: VerifierNotes,
): string | undefined {
  if (status < 200 || status > 299) return checkErrorResponse(status, body, asked, reg);
  switch (kind) {
    case 'clusters':
      return checkClusterList(body, reg, notes);
    case 'overview':
      return checkOverview(body, asked!, reg);
    case 'resource':
      return checkItemList(body, asked!, reg, opts);
    case 'passthrough':
      return checkItemList(body, asked!, reg, opts, 'NamespaceList');
  }
}
