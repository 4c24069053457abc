/**
 * The scale subresource: get, update and patch a Scale object whose spec.replicas is the
 * workload's.
 */
import { entryKey, type Entry } from '../store.js';
import type { Obj } from '../generate.js';
import { jsonPatch, mergePatch, PatchError } from '../patch.js';
import { parsePatch, readBody, readObject } from './body.js';
import { HttpError, methodNotAllowed, notFound } from './errors.js';
import { send } from './respond.js';
import type { Call } from './route.js';
import { isDryRun } from './writes.js';

/** The autoscaling/v1 Scale subresource of deployments, statefulsets and replicasets (kubectl scale). */
export async function scale(c: Call, verb: string): Promise<void> {
  const { rt, store, coll, route, query, req, res } = c;
  const def = route.def;
  const key = entryKey(def, route.namespace, route.name);
  const e = coll.byKey.get(key);
  if (verb !== 'get' && verb !== 'update' && verb !== 'patch') throw methodNotAllowed();
  const toScale = (entry: Entry): Obj => {
    const o = JSON.parse(entry.json);
    const sel = Object.entries(o.spec?.selector?.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
      spec: { replicas: o.spec?.replicas ?? 0 },
      status: { replicas: o.status?.replicas ?? 0, selector: sel },
    };
  };
  if (verb === 'get') {
    if (!e) throw notFound(def, route.name);
    send(rt, res, 200, JSON.stringify(toScale(e)));
    return;
  }
  let next: Obj;
  if (verb === 'update') {
    const body = await readObject(req, { ...def, kind: 'Scale', groupVersion: 'autoscaling/v1' });
    if (!e) throw notFound(def, route.name);
    next = body;
  } else {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
    const raw = await readBody(req);
    if (!e) throw notFound(def, route.name);
    const patch = parsePatch(raw);
    try {
      next = (type === 'application/json-patch+json' ? jsonPatch(toScale(e), patch) : mergePatch(toScale(e), patch)) as Obj;
    } catch (err) {
      if (err instanceof PatchError) throw new HttpError(422, 'Invalid', `the server rejected our request due to an error in our request: ${err.message}`);
      throw err;
    }
  }
  const replicas = next?.spec?.replicas ?? 0;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new HttpError(422, 'Invalid', `Scale.autoscaling "${route.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, { name: route.name, group: 'autoscaling', kind: 'Scale' });
  }
  const rv = next?.metadata?.resourceVersion;
  if (rv !== undefined && rv !== '' && String(rv) !== String(e.rv)) {
    throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${def.plural}.${def.group} "${route.name}": the object has been modified; please apply your changes to the latest version and try again`, { name: route.name, group: def.group, kind: def.plural });
  }
  const obj = JSON.parse(e.json);
  obj.spec = { ...(obj.spec ?? {}), replicas };
  obj.metadata.generation = (obj.metadata.generation ?? 1) + 1;
  if (isDryRun(query)) {
    send(rt, res, 200, JSON.stringify({ ...toScale(e), spec: { replicas } }));
    return;
  }
  const entry = store.makeEntry(def, obj);
  coll.put(entry, 'MODIFIED');
  send(rt, res, 200, JSON.stringify(toScale(entry)));
}
