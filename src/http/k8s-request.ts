/**
 * What a request through /k8s/NAME asks of the cluster, worked out the way the Kubernetes API
 * server does before RBAC sees it (k8s.io/apiserver pkg/endpoints/request/requestinfo.go):
 * `/api/VERSION/...` and `/apis/GROUP/VERSION/...` are resource requests; anything shorter or
 * elsewhere is a non-resource URL; `namespaces/NS/` is stripped unless what follows is a namespace
 * subresource; the HTTP method gives the verb, a GET without a name is a list, or a watch with
 * `?watch=`; the old `/watch/` and `/proxy/` path prefixes are verbs too.
 *
 * The path is checked first, for every caller: the API server decodes percent-escapes and Go
 * clients or proxies in between may resolve dot segments, so a path whose segments are `.`, `..`
 * or empty, or contain an escaped slash, could reach a different resource (or leave the cluster's
 * base path) than the one checked here. Such paths are refused with 400, never forwarded.
 */
import { HttpError } from '../util/http-error.js';
import type { AccessRequest } from '../access/view-role.js';

const kMethodVerbs: Readonly<Record<string, string>> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** Path prefixes that are verbs in their own right (deprecated in Kubernetes, still served). */
const kSpecialVerbs = new Set(['proxy', 'watch']);
/** `namespaces/NS/<this>` is a subresource of the namespace, not a resource inside it. */
const kNamespaceSubresources = new Set(['status', 'finalize']);

/** Is a list/watch query parameter on (`?watch=1`, `?watch=true`)? */
function queryFlag(query: string, key: string): boolean {
  if (query === '' || !query.includes(key)) return false;
  const v = new URLSearchParams(query).get(key);
  return v !== null && v !== '' && v !== 'false' && v !== '0';
}

/**
 * The decoded segments of a /k8s upstream path (the part after /k8s/NAME, without its query),
 * or an HttpError 400 for a path that could be read two ways. '/' gives [].
 */
export function pathSegments(path: string): string[] {
  if (path === '/' || path === '') return [];
  const raw = path.slice(1).split('/');
  const out: string[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const s = raw[i]!;
    let d = s;
    if (s.includes('%')) {
      try {
        d = decodeURIComponent(s);
      } catch {
        throw new HttpError(400, `path segment "${s}" is not valid percent-encoding`);
      }
      if (d.includes('/') || d.includes('\\')) throw new HttpError(400, `path segment "${s}" encodes a slash`);
    }
    if (d === '.' || d === '..') throw new HttpError(400, `path segment "${s}" is a dot segment: send the resolved path`);
    if (d === '' && i !== raw.length - 1) throw new HttpError(400, 'empty path segment ("//")');
    out[i] = d;
  }
  // A trailing slash names the same thing as none (the API server trims it).
  if (out[out.length - 1] === '') out.pop();
  return out;
}

/**
 * The access a /k8s request needs: `pathAndQuery` is the rest of the URL after /k8s/NAME,
 * starting with '/'. Throws HttpError 400 for paths pathSegments refuses.
 */
export function k8sAccess(method: string, pathAndQuery: string): AccessRequest {
  const q = pathAndQuery.indexOf('?');
  const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const query = q < 0 ? '' : pathAndQuery.slice(q + 1);
  const parts = pathSegments(path);
  const verb = kMethodVerbs[method] ?? method.toLowerCase();
  const nonResource = (): AccessRequest => ({ kind: 'nonResource', verb, path: parts.length === 0 ? '/' : '/' + parts.join('/') });

  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return nonResource();
  let rest = parts.slice(1);
  let group = '';
  if (parts[0] === 'apis') {
    if (rest.length < 3) return nonResource();
    group = rest[0]!;
    rest = rest.slice(1);
  }
  rest = rest.slice(1); // the version: RBAC does not look at it

  let v = verb;
  if (kSpecialVerbs.has(rest[0]!)) {
    // The API server refuses `/api/v1/watch` alone; nothing to grant.
    if (rest.length < 2) return { kind: 'resource', verb: rest[0]!, group, resource: '', subresource: '' };
    v = rest[0]!;
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length > 2 && !kNamespaceSubresources.has(rest[2]!)) rest = rest.slice(2);
  const resource = rest[0] ?? '';
  const name = rest[1] ?? '';
  // Anything past the subresource (pods/NAME/proxy/some/path) is the subresource's own path.
  const subresource = rest[2] ?? '';
  if (v === 'get' && name === '') v = queryFlag(query, 'watch') ? 'watch' : 'list';
  else if (v === 'delete' && name === '') v = 'deletecollection';
  return { kind: 'resource', verb: v, group, resource, subresource };
}
