/**
 * Who is asking and what they may do: the admin (token or client certificate) may do anything;
 * the viewer token reads everything but secrets.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { HttpError } from './errors.js';
import type { Route } from './route.js';
import type { ClusterRuntime } from './runtime.js';

export type User = 'admin' | 'viewer';

export function authenticate(rt: ClusterRuntime, req: IncomingMessage): User | null {
  if (rt.clientFingerprint) {
    const sock = req.socket as TLSSocket;
    if (sock.authorized) {
      const fp = sock.getPeerCertificate?.()?.fingerprint256;
      if (fp && fp === rt.clientFingerprint) return 'admin';
    }
  }
  const h = req.headers.authorization;
  if (h && h.startsWith('Bearer ')) {
    const t = h.slice(7).trim();
    if (t === rt.token) return 'admin';
    if (t === rt.viewerToken) return 'viewer';
  }
  return null;
}

/** Throws the API server's 403 when `user` may not `verb` on `route`. */
export function authorize(rt: ClusterRuntime, user: User, verb: string, route: Route): void {
  if (user === 'admin') return;
  const { def, namespace, name } = route;
  const read = verb === 'get' || verb === 'list' || verb === 'watch';
  if (read && def.plural !== 'secrets') return;
  const what = name ? `${def.plural}${def.group ? '.' + def.group : ''} "${name}"` : `${def.plural}${def.group ? '.' + def.group : ''}`;
  const where = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
  throw new HttpError(403, 'Forbidden', `${what} is forbidden: User "viewer@${rt.name}" cannot ${verb} resource "${def.plural}" in API group "${def.group}"${where}`, {
    name: name || undefined,
    group: def.group || undefined,
    kind: def.plural,
  });
}
