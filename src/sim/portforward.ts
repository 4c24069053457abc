/**
 * `kubectl port-forward` against the simulator, in the portforward.k8s.io protocol over SPDY/3.1
 * (plain, or tunnelled in WebSocket binary messages by kubectl >= 1.31). Each local connection
 * becomes a pair of SPDY streams sharing a `requestid` header: `streamtype: error` (the server
 * writes a message there if the port cannot be reached) and `streamtype: data` (the connection's
 * bytes both ways). Both carry `port`. The pod's side of the connection is container.ts's
 * connectPort.
 *
 *   client                                           simulator
 *   SYN_STREAM streamtype=error port=P requestid=N →  ← SYN_REPLY
 *   DATA FIN (the client never writes errors)      →
 *   SYN_STREAM streamtype=data  port=P requestid=N →  ← SYN_REPLY
 *   DATA request bytes ...                         →  ← DATA response bytes ...
 *                                                     ← DATA FIN data, DATA FIN error
 *
 * The session lives until the client leaves (GOAWAY or the transport closes).
 */
import { connectPort, type ProcessTarget } from './container.js';
import { SpdySession, type ByteSink, type SpdyStream } from './spdy.js';

export const kPortForwardProtocol = 'portforward.k8s.io';
/** The WebSocket subprotocol under which kubectl >= 1.31 tunnels the SPDY session. */
export const kPortForwardTunnelProtocol = 'SPDY/3.1+portforward.k8s.io';

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
}

export function portForwardSession(sink: ByteSink, target: ProcessTarget, ports: Set<number>): SpdySession {
  const pending = new Map<string, Pair>();
  return new SpdySession(sink, (s) => {
    const type = s.headers['streamtype'];
    const port = Number(s.headers['port']);
    // Clients without requestid (before Kubernetes 1.6) pair an error stream with the data
    // stream opened right after it: ids N and N+2.
    const id = s.headers['requestid'] ?? String(type === 'data' ? s.id - 2 : s.id);
    if ((type !== 'error' && type !== 'data') || !Number.isInteger(port) || port < 1 || port > 65535) {
      s.reset();
      return;
    }
    const pair = pending.get(id) ?? {};
    if (pair[type]) {
      s.reset();
      return;
    }
    pair[type] = s;
    if (!pair.error || !pair.data) {
      pending.set(id, pair);
      return;
    }
    pending.delete(id);
    forward(target, port, ports, pair.error, pair.data);
  });
}

function forward(target: ProcessTarget, port: number, ports: Set<number>, error: SpdyStream, data: SpdyStream): void {
  if (!ports.has(port)) {
    // What the kubelet reports when nothing listens on the port in the pod's network namespace.
    error.end(`error forwarding port ${port} to pod ${target.pod}, uid : failed to connect to localhost:${port} inside namespace "${target.namespace}": connect: connection refused`);
    data.end();
    return;
  }
  const conn = connectPort(
    target,
    port,
    (bytes) => data.write(bytes),
    () => {
      data.end();
      error.end();
    },
  );
  data.onData = (b) => conn.data(b);
  data.onEnd = () => conn.end();
  data.onReset = () => conn.end();
  if (data.remoteEnded) conn.end();
}
