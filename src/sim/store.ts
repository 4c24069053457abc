/**
 * In-memory object store of one simulated cluster.
 *
 * Objects are kept as their serialised JSON plus the few fields lists filter on (labels,
 * selectable fields), not as live objects: a list without selectors is a string concatenation,
 * a cached one is a single write, and 100 clusters of 2,000 pods stay within a few hundred MB.
 * Writes parse, change and re-serialise one object. resourceVersion is one counter per cluster.
 */
import { randomUUID } from 'node:crypto';
import { kResourceByPlural, kResources, resourceKey, type ResourceDef } from './resources.js';
import { fieldValue, matchFields, matchLabels, type FieldSelector, type LabelSelector } from './selectors.js';
import type { Obj } from './generate.js';

export const kClusterAnnotation = 'fleetgate.dev/cluster';

export interface Entry {
  /** "ns/name" for namespaced objects, "name" otherwise: the sort key of lists. */
  key: string;
  namespace: string;
  name: string;
  rv: number;
  labels: Record<string, string> | undefined;
  fields: Record<string, string>;
  json: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type WatchListener = (type: WatchEventType, entry: Entry) => void;

/**
 * Change events each collection keeps, so that a watch from a recent resourceVersion replays
 * what it missed (an informer's list-then-watch gap); older ones answer 410 Expired. The API
 * server's watch cache keeps a window per resource in the same way.
 */
export const kWatchWindow = 100;

export interface WatchEvent {
  type: WatchEventType;
  /** For DELETED, the object as it was, stamped with the deletion's resourceVersion. */
  entry: Entry;
}

/** Full lists larger than this are rebuilt per request rather than cached (memory bound). */
const kListCacheMaxChars = 512 * 1024;

export class Collection {
  readonly byKey = new Map<string, Entry>();
  private sorted: Entry[] | null = null;
  /** namespace ('' = all) → concatenated item JSON of that scope. */
  private readonly itemsCache = new Map<string, string>();
  readonly watchers = new Set<WatchListener>();
  /** The last kWatchWindow events, oldest first. */
  readonly history: WatchEvent[] = [];
  /**
   * The oldest resourceVersion a watch can start from: events after it are all in `history`.
   * Generated objects are loaded, not replayed, so it starts at the load's last version.
   */
  floorRv = 0;

  /** `currentRv` is the cluster's resourceVersion counter: a deletion's version. */
  constructor(
    readonly def: ResourceDef,
    private readonly currentRv: () => number = () => 0,
  ) {}

  entries(): Entry[] {
    if (!this.sorted) this.sorted = [...this.byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return this.sorted;
  }

  /** Entries of one namespace ('' = all), in key order. */
  scope(namespace: string): Entry[] {
    const all = this.entries();
    if (!namespace || !this.def.namespaced) return all;
    const prefix = namespace + '/';
    // Keys are sorted, so one namespace is a contiguous run: binary search its start.
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (all[mid].key < prefix) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < all.length && all[end].key.startsWith(prefix)) end++;
    return all.slice(lo, end);
  }

  /** The items of a scope joined by commas, cached while small. */
  itemsJson(namespace: string): string {
    const ns = this.def.namespaced ? namespace : '';
    const hit = this.itemsCache.get(ns);
    if (hit !== undefined) return hit;
    const s = this.scope(ns)
      .map((e) => e.json)
      .join(',');
    if (s.length <= kListCacheMaxChars) this.itemsCache.set(ns, s);
    return s;
  }

  put(entry: Entry, type: WatchEventType): void {
    this.byKey.set(entry.key, entry);
    this.changed(entry, type);
  }

  remove(entry: Entry): void {
    this.byKey.delete(entry.key);
    this.changed(entry, 'DELETED');
  }

  private changed(entry: Entry, type: WatchEventType): void {
    this.sorted = null;
    this.itemsCache.clear();
    if (type === 'DELETED') entry = tombstone(entry, this.currentRv());
    this.history.push({ type, entry });
    if (this.history.length > kWatchWindow) this.floorRv = this.history.shift()!.entry.rv;
    for (const w of this.watchers) w(type, entry);
  }

  /** Events after `rv`, or undefined when some of them are no longer kept. */
  eventsSince(rv: number): WatchEvent[] | undefined {
    if (rv < this.floorRv) return undefined;
    let i = this.history.length;
    while (i > 0 && this.history[i - 1]!.entry.rv > rv) i--;
    return this.history.slice(i);
  }

  /** Adds without invalidating caches or notifying (bulk load at generation time). */
  load(entry: Entry): void {
    this.byKey.set(entry.key, entry);
    this.sorted = null;
  }
}

/** A deleted object as its DELETED event carries it: the deletion's resourceVersion. */
function tombstone(entry: Entry, rv: number): Entry {
  if (rv <= entry.rv) return entry;
  const obj = JSON.parse(entry.json);
  obj.metadata.resourceVersion = String(rv);
  return { ...entry, rv, json: JSON.stringify(obj) };
}

export function entryKey(def: ResourceDef, namespace: string, name: string): string {
  return def.namespaced ? `${namespace}/${name}` : name;
}

export class ClusterStore {
  /** Last resourceVersion handed out. */
  rv = 0;
  readonly collections = new Map<string, Collection>();

  constructor(readonly clusterName: string) {
    for (const r of kResources) this.collections.set(resourceKey(r.group, r.plural), new Collection(r, () => this.rv));
  }

  collection(key: string): Collection {
    const c = this.collections.get(key);
    if (!c) throw new Error(`no collection ${key}`);
    return c;
  }

  /**
   * Normalises an object for storage: stamps the cluster annotation, namespace, resourceVersion
   * and, when missing, uid and creationTimestamp; then builds its entry.
   */
  makeEntry(def: ResourceDef, obj: Obj): Entry {
    const m = (obj.metadata ??= {});
    const rv = ++this.rv;
    m.resourceVersion = String(rv);
    if (!m.uid) m.uid = randomUUID();
    if (!m.creationTimestamp) m.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    m.annotations = { ...(m.annotations ?? {}), [kClusterAnnotation]: this.clusterName };
    obj.apiVersion = def.groupVersion;
    obj.kind = def.kind;
    const namespace = def.namespaced ? String(m.namespace ?? '') : '';
    if (!def.namespaced) delete m.namespace;
    const fields: Record<string, string> = { 'metadata.name': m.name, 'metadata.namespace': namespace };
    for (const f of def.fields) fields[f] = fieldValue(obj, f);
    if (def.plural === 'nodes' && !fields['spec.unschedulable']) fields['spec.unschedulable'] = 'false';
    // Key order as the API server writes it: apiVersion, kind, metadata first (generated objects
    // already are; written ones are reordered).
    let json: string;
    const keys = Object.keys(obj);
    if (keys[0] === 'apiVersion' && keys[1] === 'kind' && keys[2] === 'metadata') json = JSON.stringify(obj);
    else {
      const { apiVersion, kind, metadata, ...rest } = obj;
      json = JSON.stringify({ apiVersion, kind, metadata, ...rest });
    }
    return {
      key: entryKey(def, namespace, m.name),
      namespace,
      name: m.name,
      rv,
      labels: m.labels && typeof m.labels === 'object' ? m.labels : undefined,
      fields,
      json,
    };
  }

  loadGenerated(items: { key: string; obj: Obj }[]): void {
    for (const { key, obj } of items) {
      const def = kResourceByPlural.get(key);
      if (!def) throw new Error(`generated object of unknown resource ${key}`);
      this.collection(resourceKey(def.group, def.plural)).load(this.makeEntry(def, obj));
    }
    for (const c of this.collections.values()) c.floorRv = this.rv;
  }

  /** Filters one scope by selectors; returns entries in key order. */
  select(c: Collection, namespace: string, labels: LabelSelector, fields: FieldSelector): Entry[] {
    const scope = c.scope(namespace);
    if (!labels.length && !fields.length) return scope;
    return scope.filter((e) => (!labels.length || matchLabels(labels, e.labels)) && (!fields.length || matchFields(fields, e.fields)));
  }
}
