/**
 * The independent verifier: pure functions from a response (status, body) to a finding, or
 * undefined when the answer is consistent. They trust nothing fleetgate computes: only what the
 * churn driver wrote (the WriteRegistry) and the annotation the simulator stamps on every object
 * it serves.
 *
 * Every finding has a class:
 *  - torn: a 2xx body whose data cannot have come from any single committed state (fields of two
 *    clusters or revisions mixed, a list unsorted or with duplicates, a garbled or empty name, an
 *    item from a cluster other than the one asked). Only this is evidence of a torn read.
 *  - caught: fleetgate noticed a torn read itself (its checksums) and answered an error.
 *  - missing: a stable cluster (never renamed, deleted or disabled) answered 404.
 *  - error: anything else: a 2xx body that is not JSON or not the API's shape, another non-2xx.
 */
import type { WriteRegistry } from './registry.js';
import { clip, descriptionMismatch } from './scheme.js';

export const kFindingClasses = ['torn', 'caught', 'error', 'missing'] as const;
export type FindingClass = (typeof kFindingClasses)[number];

export interface Finding {
  cls: FindingClass;
  /** Why the answer is impossible (or wrong). */
  reason: string;
  /** The part of the answer that shows it, when narrower than the whole body. */
  seen?: string;
}

const torn = (reason: string, seen?: unknown): Finding => ({ cls: 'torn', reason, seen: seen === undefined ? undefined : clip(q(seen) ?? String(seen), 400) });
const error = (reason: string): Finding => ({ cls: 'error', reason });

/** fleetgate's answer when its own checksums caught a torn read (src/http/errors.ts). */
const kCaughtText = /torn read/i;

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

function parse(body: string): { ok: true; value: unknown } | { ok: false; finding: Finding } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (err) {
    return { ok: false, finding: error(`JSON does not parse: ${(err as Error).message}`) };
  }
}

/** One entry of GET /api/v1/clusters; undefined when consistent. */
export function checkClusterEntry(e: unknown, reg: WriteRegistry, notes?: VerifierNotes): Finding | undefined {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return error(`entry is not an object: ${clip(q(e) ?? String(e))}`);
  const o = e as Record<string, unknown>;
  const name = o.name;
  if (typeof name !== 'string') return error(`entry name is not a string: ${clip(q(name) ?? 'undefined')}`);
  if (name === '') return torn('entry name is empty', e);
  if (typeof o.version !== 'string') return error(`entry ${q(name)}: version is not a string`);
  if (typeof o.isDefault !== 'boolean') return error(`entry ${q(name)}: isDefault is not a boolean`);
  if (typeof o.state !== 'string' || !kStates.has(o.state)) return torn(`entry ${q(name)}: state ${clip(q(o.state) ?? 'undefined')} is not a known state`, e);
  if (o.error !== undefined && typeof o.error !== 'string') return error(`entry ${q(name)}: error is not a string`);
  if (!reg.judged(name)) return undefined;
  if (!reg.knows(name)) return torn(`entry ${q(name)} was never written`, e);
  if (o.description === undefined) {
    if (notes) notes.missingDescription++;
  } else if (typeof o.description !== 'string') {
    return error(`entry ${q(name)}: description is not a string`);
  } else if (!reg.descriptionWritten(name, o.description)) {
    const exp = reg.expected(name)!;
    return torn(
      descriptionMismatch(name, o.description, exp.base, exp.rev) ??
        `entry ${q(name)}: description ${q(clip(o.description))} was never written for this name`,
      e,
    );
  }
  if ((reg.strict || reg.versionsKnown(name)) && !reg.versionAllowed(name, o.version)) {
    return torn(`entry ${q(name)}: version ${q(clip(o.version))} was never served by its clusters (${[...reg.simsFor(name)].join(', ')})`, e);
  }
  return undefined;
}

/** GET /api/v1/clusters: parses, sorted by name, no duplicates, at most one default, every entry consistent. */
export function checkClusterList(body: string, reg: WriteRegistry, notes?: VerifierNotes): Finding | undefined {
  const p = parse(body);
  if (!p.ok) return p.finding;
  const list = p.value;
  if (!Array.isArray(list)) return error('cluster list is not a JSON array');
  let prev: string | undefined;
  let defaults = 0;
  for (let i = 0; i < list.length; i++) {
    const bad = checkClusterEntry(list[i], reg, notes);
    if (bad) return { ...bad, reason: `[${i}] ${bad.reason}` };
    const e = list[i] as { name: string; isDefault: boolean };
    if (prev !== undefined) {
      if (e.name === prev) return torn(`duplicate entry ${q(e.name)} at [${i - 1}] and [${i}]`, list.slice(i - 1, i + 1));
      if (e.name < prev) return torn(`list not sorted by name: ${q(prev)} before ${q(e.name)} at [${i}]`, list.slice(i - 1, i + 1));
    }
    prev = e.name;
    if (e.isDefault) defaults++;
  }
  if (defaults > 1) return torn(`${defaults} entries are marked default`, list.filter((e: { isDefault: boolean }) => e.isDefault).map((e: { name: string }) => e.name));
  if (reg.stable.size > 0) {
    const seen = new Set((list as { name: string }[]).map((e) => e.name));
    for (const s of reg.stable) if (!seen.has(s)) return torn(`stable cluster ${q(s)} is missing from the list`, [...seen]);
  }
  return undefined;
}

/** GET /api/v1/overview for cluster `asked`. */
export function checkOverview(body: string, asked: string, reg: WriteRegistry): Finding | undefined {
  const p = parse(body);
  if (!p.ok) return p.finding;
  const o = p.value as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return error('overview is not a JSON object');
  if (typeof o.cluster !== 'string') return error(`overview cluster is not a string: ${clip(q(o.cluster) ?? 'undefined')}`);
  if (o.cluster !== asked) return torn(`overview is for cluster ${clip(q(o.cluster))}, asked ${q(asked)}`, { cluster: o.cluster, version: o.version });
  if (typeof o.version !== 'string') return error('overview version is not a string');
  if (reg.judged(asked) && (reg.strict || reg.versionsKnown(asked)) && !reg.versionAllowed(asked, o.version)) {
    return torn(`overview of ${q(asked)}: version ${q(clip(o.version))} was never served by its clusters`, { cluster: o.cluster, version: o.version });
  }
  for (const k of ['totalNodes', 'readyNodes', 'totalPods', 'runningPods', 'totalNamespaces', 'totalServices']) {
    if (typeof o[k] !== 'number') return error(`overview ${k} is not a number`);
  }
  return undefined;
}

/**
 * A Kubernetes list (a resource route or the /k8s passthrough) for cluster `asked`: every item's
 * cluster annotation names a simulated cluster that may answer for `asked`.
 */
export function checkItemList(body: string, asked: string, reg: WriteRegistry, opts: VerifyOptions, kind?: string): Finding | undefined {
  const p = parse(body);
  if (!p.ok) return p.finding;
  const o = p.value as { kind?: unknown; items?: unknown } | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return error('list is not a JSON object');
  if (kind !== undefined && o.kind !== kind) return error(`list kind is ${clip(q(o.kind) ?? 'undefined')}, expected ${q(kind)}`);
  if (!Array.isArray(o.items)) return error('list has no items array');
  const sims = reg.simsFor(asked);
  for (let i = 0; i < o.items.length; i++) {
    const item = o.items[i] as { metadata?: { name?: unknown; annotations?: Record<string, unknown> } } | null;
    const ann = item?.metadata?.annotations?.[kClusterAnnotation];
    if (ann === undefined) {
      if (opts.requireAnnotation) return error(`items[${i}] (${clip(q(item?.metadata?.name) ?? '?')}) has no ${kClusterAnnotation} annotation`);
      continue;
    }
    if (typeof ann !== 'string' || !sims.has(ann)) {
      return torn(`items[${i}] (${clip(q(item?.metadata?.name) ?? '?')}) came from cluster ${clip(q(ann) ?? '?')}, asked ${q(asked)}`, item?.metadata);
    }
  }
  return undefined;
}

/**
 * A non-2xx answer. Every one is a finding: the load asks only for what exists (stable clusters,
 * with a token that may see them), so no error answer is right.
 */
export function checkErrorResponse(status: number, body: string, asked: string | undefined, reg: WriteRegistry): Finding {
  if (status === 404 && asked !== undefined && reg.stable.has(asked)) return { cls: 'missing', reason: `stable cluster ${q(asked)} answered 404` };
  const p = body.length === 0 ? undefined : parse(body);
  const message = p?.ok && typeof p.value === 'object' && p.value !== null ? (p.value as { error?: unknown }).error : undefined;
  if (status >= 500 && typeof message === 'string' && kCaughtText.test(message)) {
    return { cls: 'caught', reason: `status ${status}: fleetgate caught a torn read itself (${clip(message)})` };
  }
  if (p && !p.ok) return error(`status ${status}: error body ${p.finding.reason}`);
  return error(`status ${status}${typeof message === 'string' ? `: ${clip(message)}` : body.length === 0 ? ' with an empty body' : ''}`);
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
): Finding | undefined {
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
