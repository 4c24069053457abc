/**
 * Connection upgrades through /k8s/NAME: `kubectl exec`, `attach` and `port-forward` (WebSocket,
 * or SPDY from older kubectl). These never reach a request listener: node:http hands them to the
 * server's 'upgrade' event with the raw socket, and the worker passes them here.
 *
 * The same checks as the passthrough (authenticate, the caller's clusters, the cluster's state),
 * then one request to the cluster with the caller's Upgrade headers, its own credentials and
 * never the caller's token. When the cluster switches protocols (101) its answer is relayed and
 * bytes are copied both ways until either side closes; any other answer (403, 404, 400 ...) is
 * relayed as it is and the connection closed, so kubectl prints the cluster's own error.
 *
 * Every upgrade is a write in Kubernetes terms (pods/exec, pods/attach and pods/portforward are
 * "create"), so viewers are refused. The header timeout is the upstream timeout; an upgraded
 * session has no idle timeout (an interactive shell may sit quiet for hours). The cluster's
 * client is held for as long as the session lasts, so a config change never cuts it.
 */
import { ServerResponse, STATUS_CODES, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { auditRefusal, podTarget, requestRecord } from './audit.js';
import { authenticate, type Caller } from './auth.js';
import { errorBody, mapError } from './errors.js';
import { HttpError } from '../util/http-error.js';
import { kK8sPrefix, splitK8sUrl, type K8sFastPathDeps } from './k8s-fast-path.js';
import { kPassthroughRoute, refuseBeyondRole, upstreamRequestHeaders } from './passthrough.js';
import { namedCluster } from './select.js';
import { addClusterHeaders, responseHeaders, UpstreamTimeout, upstreamFailure } from '../upstream/call.js';

export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface K8sUpgrades {
  listener: UpgradeListener;
  /** Ends every open session (after the server stopped accepting). */
  closeAll(): void;
}

/** How long a side may stay half-open after the other has closed. */
const kLingerMs = 10_000;

/** An HTTP/1.1 response head: status line, headers, blank line. */
function responseHead(status: number, statusMessage: string | undefined, headers: OutgoingHttpHeaders | string[]): string {
  let out = `HTTP/1.1 ${status} ${statusMessage ?? STATUS_CODES[status] ?? ''}\r\n`;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) out += `${headers[i]}: ${headers[i + 1]}\r\n`;
  } else {
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) out += `${k}: ${one}\r\n`;
    }
  }
  return out + '\r\n';
}

/** Answers an upgrade request with an error (a Kubernetes Status, as on every /k8s error) and closes. */
function refuseUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const body = Buffer.from(JSON.stringify(errorBody(status, message, true)), 'utf8');
  socket.end(
    Buffer.concat([
      Buffer.from(
        responseHead(status, undefined, {
          ...headers,
          'content-type': 'application/json; charset=utf-8',
          'content-length': String(body.length),
          connection: 'close',
        }),
        'latin1',
      ),
      body,
    ]),
  );
}

/**
 * Is this an upgrade to pass on (else it is served as a plain request)? Only under /k8s/, and
 * never h2c: HTTP/2 cleartext is an upgrade of this hop (its HTTP2-Settings header is hop-by-hop),
 * which fleetgate declines, as RFC 9110 lets a server do by answering normally. The HTTP servers
 * pass this as shouldUpgradeCallback (Node >= 24.9); older Node hands every upgrade to the
 * listener, which serves these itself.
 */
export function takesUpgrade(req: IncomingMessage): boolean {
  return (req.url ?? '').startsWith(kK8sPrefix) && String(req.headers.upgrade ?? '').toLowerCase() !== 'h2c';
}

/**
 * A request node:http treated as an upgrade that fleetgate does not take (older Node only): serve
 * it as the request listener would have, on the socket node:http gave up, and close after. Only
 * without a body: node:http has stopped parsing this connection, so a body would have to be
 * re-framed by hand; such a request is refused with a 400 that says what to do instead.
 */
function servePlain(req: IncomingMessage, socket: Duplex, plain: (req: IncomingMessage, res: ServerResponse) => void): void {
  const cl = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0')) {
    refuseUpgrade(socket, 400, `Upgrade: ${String(req.headers.upgrade)} on a request with a body is not served by this Node.js (${process.version}); send it without the Upgrade header`);
    return;
  }
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  // No parser feeds this request any more; it has no body, so make sure it reads as ended.
  req.push(null);
  plain(req, res);
}

/**
 * Copies bytes both ways between two connected sockets until both have closed, then calls done
 * once. pipe() passes each side's clean end on to the other (half-close). When one side has
 * closed, the other is ended here too (after what was written to it is flushed) and read to its
 * end: pipe() paused it when its destination went away, and a paused socket never sees its
 * peer's FIN, so it would stay open (and hold a drain) until cut. One that still stays open is
 * cut after kLingerMs.
 */
function splice(a: Duplex, b: Duplex, done: () => void): void {
  a.pipe(b);
  b.pipe(a);
  let closed = 0;
  const onClose = (other: Duplex) => () => {
    if (++closed === 2) return done();
    other.end();
    other.resume();
    setTimeout(() => other.destroy(), kLingerMs).unref();
  };
  a.once('close', onClose(b));
  b.once('close', onClose(a));
}

export function k8sUpgrades(d: K8sFastPathDeps, plain: (req: IncomingMessage, res: ServerResponse) => void): K8sUpgrades {
  const sessions = new Set<Duplex>();

  const listener: UpgradeListener = (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (!takesUpgrade(req)) return servePlain(req, socket, plain);
    const start = performance.now();
    let route = 'unmatched';
    const observe = (status: number) => d.metrics.observe(route, req.method ?? '', status, (performance.now() - start) / 1e3);
    const target = req.url ? splitK8sUrl(req.url) : undefined;
    const pod = target ? podTarget(target.path) : undefined;
    let caller: Caller | undefined;
    const refuse = (err: unknown) => {
      const m = mapError(err);
      auditRefusal(d.audit, req, m.status, m.message, caller, err, target?.name ?? '', pod);
      if (m.log) {
        const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        d.log(`upgrade ${req.method} ${(req.url ?? '').split('?')[0]} → ${m.status}: ${what}`);
      }
      refuseUpgrade(socket, m.status, m.message, m.headers);
      observe(m.status);
    };

    if (!target) return refuse(new HttpError(404, 'a connection upgrade needs a cluster: /k8s/NAME/...'));
    const proceed = (c: Caller | HttpError) => {
      if (c instanceof HttpError) return refuse(c);
      caller = c;
      route = kPassthroughRoute;
      try {
        tunnel(c, target.name, target.path);
      } catch (err) {
        refuse(err);
      }
    };
    let c: ReturnType<typeof authenticate>;
    try {
      c = authenticate(d.verifier, req);
    } catch (err) {
      return refuse(err);
    }
    if (c instanceof Promise) c.then(proceed, refuse);
    else proceed(c);

    /** The upgrade passed fleetgate's checks: record what the cluster made of it. */
    const recordUpgrade = (c: Caller, status: number, outcome: string) =>
      d.audit.record(requestRecord(req, c, undefined, { kind: 'upgrade', status, outcome, cluster: target.name, ...pod }));

    function tunnel(caller: Caller, name: string, path: string): void {
      if (caller.record.role !== 'admin') {
        throw new HttpError(403, `token "${caller.record.name}" is a viewer: connection upgrades (exec, attach, port-forward) through /k8s are not allowed`);
      }
      refuseBeyondRole(caller, req.method ?? 'GET', path);
      const entry = namedCluster(d.directory, caller, name); // 404 unknown, 403 outside the scope, 503 unusable
      let up: ClientRequest | undefined;
      if (d.streams) {
        // An exec session is a stream like a watch: capped per token, cut when it is revoked or expires.
        const done = d.streams.open(caller, () => {
          socket.destroy();
          up?.destroy();
        });
        socket.once('close', done);
      }
      const client = d.cache.acquire(entry);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        d.cache.release(client);
      };
      const headers = upstreamRequestHeaders(req.headers, true);
      // Hop-by-hop, so dropped above; this hop must ask for the same upgrade.
      headers.connection = 'Upgrade';
      headers.upgrade = req.headers.upgrade;
      try {
        up = client.upgradeRequest({
          protocol: client.protocol,
          hostname: client.hostname,
          port: client.port,
          method: req.method,
          path: client.basePath + path,
          headers: addClusterHeaders(client, headers),
          agent: client.upgradeAgent(),
        });
      } catch (err) {
        release();
        throw err;
      }
      let answered = false;
      const timer = setTimeout(() => up.destroy(new UpstreamTimeout()), d.timeoutMs);
      // Read the caller while the cluster has not answered, or a caller who leaves would go
      // unnoticed (node:http left the socket paused) and hold its client until the timeout.
      // Nothing should come before the switch; whatever does is kept for the cluster.
      const early: Buffer[] = head.length ? [head] : [];
      const keep = (chunk: Buffer) => early.push(chunk);
      const left = () => {
        if (!answered) up.destroy();
      };
      socket.on('data', keep);
      socket.once('end', left);
      socket.once('close', left);
      const stopWatching = () => {
        socket.off('data', keep);
        socket.off('end', left);
        socket.off('close', left);
        socket.pause();
      };

      up.once('upgrade', (upRes: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
        clearTimeout(timer);
        answered = true;
        stopWatching();
        d.metrics.countUpstream('ok');
        if (socket.destroyed || socket.readableEnded) {
          upSocket.destroy();
          socket.destroy();
          release();
          return;
        }
        upSocket.on('error', () => upSocket.destroy());
        socket.write(responseHead(upRes.statusCode ?? 101, upRes.statusMessage, upRes.rawHeaders));
        if (upHead.length) socket.write(upHead);
        for (const chunk of early) upSocket.write(chunk);
        sessions.add(socket);
        d.metrics.upgradedSessions++;
        recordUpgrade(caller, upRes.statusCode ?? 101, 'ok');
        splice(socket, upSocket, () => {
          sessions.delete(socket);
          d.metrics.upgradedSessions--;
          release();
        });
        observe(upRes.statusCode ?? 101);
      });

      up.once('response', (upRes: IncomingMessage) => {
        // The cluster declined to switch protocols: relay its answer and close.
        clearTimeout(timer);
        answered = true;
        stopWatching();
        d.metrics.countUpstream('ok');
        upRes.once('close', release);
        if (socket.destroyed) {
          upRes.destroy();
          return;
        }
        recordUpgrade(caller, upRes.statusCode ?? 502, 'declined by the cluster');
        const h = responseHeaders(upRes.headers);
        h.connection = 'close';
        socket.write(responseHead(upRes.statusCode ?? 502, upRes.statusMessage, h));
        upRes.on('error', () => socket.destroy());
        upRes.pipe(socket);
        observe(upRes.statusCode ?? 502);
      });

      up.on('error', (err) => {
        clearTimeout(timer);
        if (answered) return;
        answered = true;
        stopWatching();
        release();
        const failure = upstreamFailure(client.clusterName, err, d.timeoutMs, d.metrics);
        recordUpgrade(caller, failure.status, failure.message);
        refuse(failure);
      });
      // Destroyed without an error before any answer (the caller left): nothing else releases.
      up.once('close', () => {
        clearTimeout(timer);
        if (answered) return;
        answered = true;
        stopWatching();
        release();
        socket.destroy();
      });
      up.end();
    }
  };

  return {
    listener,
    closeAll: () => {
      for (const s of sessions) s.destroy();
    },
  };
}
