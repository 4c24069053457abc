/**
 * Connection upgrades: pods/exec, attach and portforward over WebSocket or SPDY (streaming.ts).
 * Errors are answered as a plain HTTP response carrying a Status, as the API server answers a
 * failed upgrade.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { kResourceByKey, resourceKey } from '../resources.js';
import { entryKey } from '../store.js';
import { parseStreamPath, serveStreaming } from '../streaming.js';
import { authenticate } from './auth.js';
import { HttpError, noRoute, notFound, statusJson } from './errors.js';
import { kJsonType } from './respond.js';
import type { ClusterRuntime } from './runtime.js';

/** Serves one upgrade on `rt` (faults already applied); returns the session served ("KIND TRANSPORT PROTOCOL"), if any. */
export function serveUpgrade(rt: ClusterRuntime, req: IncomingMessage, socket: Duplex, head: Buffer): string | undefined {
  const refuse = (e: HttpError): undefined => {
    const body = statusJson(e.code, e.reason, e.message, e.details);
    socket.end(
      `HTTP/1.1 ${e.code} ${STATUS_CODES[e.code] ?? ''}\r\nContent-Type: ${kJsonType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\nX-Fleetgate-Cluster: ${rt.name}\r\n\r\n${body}`,
    );
    return undefined;
  };
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const target = parseStreamPath(q < 0 ? url : url.slice(0, q));
  if (!target) return refuse(noRoute());
  const user = authenticate(rt, req);
  if (!user) return refuse(new HttpError(401, 'Unauthorized', 'Unauthorized'));
  const pods = kResourceByKey.get(resourceKey('', 'pods'))!;
  if (user !== 'admin') {
    return refuse(
      new HttpError(403, 'Forbidden', `pods "${target.pod}" is forbidden: User "viewer@${rt.name}" cannot create resource "pods/${target.kind}" in API group "" in the namespace "${target.namespace}"`, {
        name: target.pod,
        kind: 'pods',
      }),
    );
  }
  const pod = rt.store.collection(resourceKey('', 'pods')).byKey.get(entryKey(pods, target.namespace, target.pod));
  if (!pod) return refuse(notFound(pods, target.pod));
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const outcome = serveStreaming(socket, req, head, { ...target, cluster: rt.name, query, podObject: JSON.parse(pod.json) });
  if ('refused' in outcome) return refuse(new HttpError(400, 'BadRequest', outcome.refused));
  return outcome.served;
}
