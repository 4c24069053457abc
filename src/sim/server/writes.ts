/**
 * Writes: create, update (replace), patch (merge, strategic merge as merge, JSON patch), delete
 * and deletecollection, with dryRun=All. A namespace's deletion takes its objects with it.
 */
import { randomBytes } from 'node:crypto';
import type { ResourceDef } from '../resources.js';
import { ClusterStore, entryKey, type Collection, type Entry } from '../store.js';
import type { Obj } from '../generate.js';
import { parseFieldSelector, parseLabelSelector } from '../selectors.js';
import { jsonPatch, mergePatch, PatchError } from '../patch.js';
import { parsePatch, readBody, readObject } from './body.js';
import { HttpError, notFound } from './errors.js';
import { send } from './respond.js';
import type { Call } from './route.js';
import { required, validate } from './validate.js';

/** Checks kind, apiVersion and metadata of a written object against the route; adds metadata when missing. */
export function checkTypeAndMeta(obj: Obj, def: ResourceDef): void {
  if (obj.kind !== undefined && obj.kind !== def.kind) {
    throw new HttpError(400, 'BadRequest', `the kind in the data (${obj.kind}) does not match the expected kind (${def.kind})`);
  }
  if (obj.apiVersion !== undefined && obj.apiVersion !== def.groupVersion) {
    throw new HttpError(400, 'BadRequest', `the API version in the data (${obj.apiVersion}) does not match the expected API version (${def.groupVersion})`);
  }
  if (obj.metadata !== undefined && (obj.metadata === null || typeof obj.metadata !== 'object' || Array.isArray(obj.metadata))) {
    throw new HttpError(422, 'Invalid', `${def.kind} is invalid: metadata: Invalid value: must be an object`, { kind: def.kind });
  }
  obj.metadata ??= {};
}

function checkNamespace(store: ClusterStore, def: ResourceDef, obj: Obj, namespace: string): void {
  if (!def.namespaced) return;
  if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== '' && obj.metadata.namespace !== namespace) {
    throw new HttpError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
  }
  obj.metadata.namespace = namespace;
  if (!store.collection('namespaces').byKey.has(namespace)) {
    throw new HttpError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
  }
}

/** The entry a write would store, made in a throwaway store so that nothing changes. */
function dryRunEntry(c: Call, obj: Obj): Entry {
  const probe = new ClusterStore(c.rt.name);
  probe.rv = c.store.rv;
  return probe.makeEntry(c.route.def, obj);
}

export function isDryRun(query: URLSearchParams): boolean {
  return query.getAll('dryRun').includes('All');
}

export async function create(c: Call): Promise<void> {
  const { rt, store, coll, route, query, req, res } = c;
  const def = route.def;
  const obj = await readObject(req, def);
  checkTypeAndMeta(obj, def);
  const m = obj.metadata;
  if (!m.name && typeof m.generateName === 'string' && m.generateName) {
    m.name = m.generateName + randomBytes(4).toString('hex').slice(0, 5);
  }
  if (typeof m.name !== 'string' || !m.name) throw required(def, '', 'metadata.name', 'Required value: name or generateName is required');
  validate(def, obj);
  checkNamespace(store, def, obj, route.namespace);
  const key = entryKey(def, route.namespace, m.name);
  if (coll.byKey.has(key)) {
    throw new HttpError(409, 'AlreadyExists', `${def.plural}${def.group ? '.' + def.group : ''} "${m.name}" already exists`, { name: m.name, group: def.group || undefined, kind: def.plural });
  }
  delete m.resourceVersion;
  delete m.uid;
  delete m.creationTimestamp;
  delete m.deletionTimestamp;
  if (def.plural === 'namespaces') {
    obj.spec = { finalizers: ['kubernetes'], ...(obj.spec ?? {}) };
    obj.status = { phase: 'Active' };
    m.labels = { ...(m.labels ?? {}), 'kubernetes.io/metadata.name': m.name };
  }
  if (def.plural === 'secrets') obj.type ??= 'Opaque';
  if (def.plural === 'secrets' && obj.stringData && typeof obj.stringData === 'object') {
    obj.data = { ...(obj.data ?? {}) };
    for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
    delete obj.stringData;
  }
  if (isDryRun(query)) {
    send(rt, res, 201, dryRunEntry(c, obj).json);
    return;
  }
  const entry = store.makeEntry(def, obj);
  coll.put(entry, 'ADDED');
  send(rt, res, 201, entry.json);
}

/** Replaces `old` with `obj` (update and patch end here); only status changes through /status. */
function replace(c: Call, old: Entry, obj: Obj): void {
  const { rt, store, coll, route, query, res } = c;
  const def = route.def;
  const oldObj = JSON.parse(old.json);
  const m = obj.metadata;
  if (m.name !== undefined && m.name !== route.name) {
    throw new HttpError(400, 'BadRequest', `the name of the object (${m.name}) does not match the name on the URL (${route.name})`);
  }
  m.name = route.name;
  if (def.namespaced) {
    if (m.namespace !== undefined && m.namespace !== route.namespace) {
      throw new HttpError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    m.namespace = route.namespace;
  }
  if (m.resourceVersion !== undefined && m.resourceVersion !== '' && String(m.resourceVersion) !== String(old.rv)) {
    throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${def.plural}${def.group ? '.' + def.group : ''} "${route.name}": the object has been modified; please apply your changes to the latest version and try again`, {
      name: route.name,
      group: def.group || undefined,
      kind: def.plural,
    });
  }
  validate(def, obj);
  m.uid = oldObj.metadata.uid;
  m.creationTimestamp = oldObj.metadata.creationTimestamp;
  if (route.sub === 'status') {
    // Only status changes through the status subresource.
    const status = obj.status;
    obj = { ...oldObj, status };
    obj.metadata = { ...oldObj.metadata };
  }
  if (isDryRun(query)) {
    send(rt, res, 200, dryRunEntry(c, obj).json);
    return;
  }
  const entry = store.makeEntry(def, obj);
  coll.put(entry, 'MODIFIED');
  send(rt, res, 200, entry.json);
}

export async function update(c: Call): Promise<void> {
  const { coll, route, req } = c;
  const obj = await readObject(req, route.def);
  checkTypeAndMeta(obj, route.def);
  const old = coll.byKey.get(entryKey(route.def, route.namespace, route.name));
  if (!old) throw notFound(route.def, route.name);
  replace(c, old, obj);
}

export async function patch(c: Call): Promise<void> {
  const { coll, route, req } = c;
  const def = route.def;
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
  if (type !== 'application/merge-patch+json' && type !== 'application/strategic-merge-patch+json' && type !== 'application/json-patch+json') {
    await readBody(req).catch(() => undefined);
    throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
  }
  const body = await readBody(req);
  const patch = parsePatch(body);
  const old = coll.byKey.get(entryKey(def, route.namespace, route.name));
  if (!old) throw notFound(def, route.name);
  const oldObj = JSON.parse(old.json);
  let next: unknown;
  try {
    next = type === 'application/json-patch+json' ? jsonPatch(oldObj, patch) : mergePatch(oldObj, patch);
  } catch (e) {
    if (e instanceof PatchError) throw new HttpError(422, 'Invalid', `the server rejected our request due to an error in our request: ${e.message}`, { kind: def.kind, name: route.name });
    throw e;
  }
  if (next === null || typeof next !== 'object' || Array.isArray(next)) {
    throw new HttpError(422, 'Invalid', `${def.kind} "${route.name}" is invalid: the patched object is not an object`, { kind: def.kind, name: route.name });
  }
  const obj = next as Obj;
  checkTypeAndMeta(obj, def);
  replace(c, old, obj);
}

export function deleteOne(c: Call): void {
  const { rt, store, coll, route, query, res } = c;
  const def = route.def;
  const e = coll.byKey.get(entryKey(def, route.namespace, route.name));
  if (!e) throw notFound(def, route.name);
  // dryRun=All answers what would be deleted and deletes nothing, as the API server does.
  if (!isDryRun(query)) removeEntry(store, coll, e);
  send(rt, res, 200, e.json);
}

function removeEntry(store: ClusterStore, coll: Collection, e: Entry): void {
  store.rv++;
  coll.remove(e);
  if (coll.def.plural === 'namespaces') {
    // A namespace takes its objects with it (at once: the simulator has no finalizers).
    for (const c of store.collections.values()) {
      if (!c.def.namespaced) continue;
      for (const x of c.scope(e.name)) {
        store.rv++;
        c.remove(x);
      }
    }
  }
}

export function deleteCollection(c: Call): void {
  const { rt, store, coll, route, query, res } = c;
  const def = route.def;
  const entries = store.select(coll, route.namespace, parseLabelSelector(query.get('labelSelector')), parseFieldSelector(query.get('fieldSelector'), def.fields));
  const removed = [...entries];
  if (!isDryRun(query)) for (const e of removed) removeEntry(store, coll, e);
  send(rt, res, 200, `{"kind":"${def.kind}List","apiVersion":"${def.groupVersion}","metadata":{"resourceVersion":"${store.rv}"},"items":[${removed.map((e) => e.json).join(',')}]}`);
}
