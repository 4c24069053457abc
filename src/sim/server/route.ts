/**
 * Routing: which resource, namespace, name and subresource a path names, which verb a method
 * means on it, and the routed request handlers receive.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { kResourceByKey, kResourcesByGv, resourceKey, type ResourceDef } from '../resources.js';
import type { ClusterStore, Collection } from '../store.js';
import { methodNotAllowed } from './errors.js';
import type { ClusterRuntime } from './runtime.js';

export interface Route {
  def: ResourceDef;
  namespace: string;
  name: string;
  sub: string;
}

/** A request routed to a resource: what every read and write handler works on. */
export interface Call {
  rt: ClusterRuntime;
  store: ClusterStore;
  /** The routed resource's collection in `store`. */
  coll: Collection;
  route: Route;
  query: URLSearchParams;
  req: IncomingMessage;
  res: ServerResponse;
}

/** Parses /api/v1/... and /apis/G/V/... into a resource route; null when not a resource path. */
export function parseRoute(path: string): Route | null {
  let gv: string;
  let rest: string;
  if (path.startsWith('/api/v1/')) {
    gv = 'v1';
    rest = path.slice(8);
  } else if (path.startsWith('/apis/')) {
    const i = path.indexOf('/', 6);
    const j = i < 0 ? -1 : path.indexOf('/', i + 1);
    if (j < 0) return null;
    gv = path.slice(6, j);
    rest = path.slice(j + 1);
  } else return null;
  const resources = kResourcesByGv.get(gv);
  if (!resources) return null;
  const segs = rest.split('/');
  if (segs.length && segs[segs.length - 1] === '') segs.pop();
  if (!segs.length) return null;
  const group = gv === 'v1' ? '' : gv.slice(0, gv.indexOf('/'));
  let namespace = '';
  let plural: string;
  let name = '';
  let sub = '';
  if (segs[0] === 'namespaces' && segs.length >= 3 && kResourceByKey.get(resourceKey(group, segs[2]))?.namespaced) {
    namespace = decodeURIComponent(segs[1]);
    plural = segs[2];
    name = segs[3] !== undefined ? decodeURIComponent(segs[3]) : '';
    sub = segs[4] ?? '';
    if (segs.length > 5) return null;
  } else {
    plural = segs[0];
    name = segs[1] !== undefined ? decodeURIComponent(segs[1]) : '';
    sub = segs[2] ?? '';
    if (segs.length > 3) return null;
  }
  const def = kResourceByKey.get(resourceKey(group, plural));
  if (!def || def.groupVersion !== gv) return null;
  if (namespace && !def.namespaced) return null;
  const scalable = plural === 'deployments' || plural === 'statefulsets' || plural === 'replicasets';
  if (sub && !(sub === 'status' || (sub === 'log' && plural === 'pods') || (sub === 'finalize' && plural === 'namespaces') || (sub === 'scale' && scalable))) return null;
  if (sub && !name) return null;
  return { def, namespace, name, sub };
}

/** The API verb of `method` on `route`: get, list, watch, create, update, patch, delete or deletecollection. */
export function verbOf(route: Route, method: string, query: URLSearchParams): string {
  const { def, name } = route;
  const watch = query.get('watch');
  const isWatch = watch === 'true' || watch === '1';
  let verb: string;
  switch (method) {
    case 'GET':
      verb = name ? 'get' : isWatch ? 'watch' : 'list';
      break;
    case 'POST':
      verb = 'create';
      if (name || (def.namespaced && !route.namespace)) throw methodNotAllowed();
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name ? 'delete' : 'deletecollection';
      break;
    default:
      throw methodNotAllowed();
  }
  if ((verb === 'update' || verb === 'patch') && !name) throw methodNotAllowed();
  return verb;
}
