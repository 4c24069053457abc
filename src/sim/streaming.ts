/**
 * The simulator's streaming subresources (pods/exec, pods/attach, pods/portforward): which wire
 * protocol a client asked for, the handshake, and the session that carries it.
 *
 *   subresource   WebSocket (Sec-WebSocket-Protocol)         SPDY/3.1 (X-Stream-Protocol-Version)
 *   exec, attach  v5.channel.k8s.io, v4.channel.k8s.io      v5.channel.k8s.io, v4.channel.k8s.io
 *   portforward   SPDY/3.1+portforward.k8s.io (a tunnel:    portforward.k8s.io
 *                 the SPDY bytes in binary messages)
 *
 * The caller (server.ts) has authenticated, authorised and found the pod; this module only
 * refuses requests in a protocol it does not speak.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { attachMain, podPorts, runCommand, withTty, type ProcessIO, type ProcessTarget } from './container.js';
import { kOpBinary, kOpClose, kOpPing, kOpPong, acceptWebSocket, chooseProtocol, closeWebSocket, kExecProtocols, serveChannels, wsFrame, wsReader } from './exec.js';
import { kPortForwardProtocol, kPortForwardTunnelProtocol, portForwardSession } from './portforward.js';
import { kSpdyExecProtocols, spdyProcessSession } from './remotecommand.js';
import type { SpdySession } from './spdy.js';

export type StreamKind = 'exec' | 'attach' | 'portforward';

/** /api/v1/namespaces/NS/pods/NAME/{exec,attach,portforward} → its parts; undefined otherwise. */
export function parseStreamPath(path: string): { namespace: string; pod: string; kind: StreamKind } | undefined {
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/.exec(path);
  if (!m) return undefined;
  try {
    return { namespace: decodeURIComponent(m[1]!), pod: decodeURIComponent(m[2]!), kind: m[3] as StreamKind };
  } catch {
    return undefined;
  }
}

const kSpdyUpgrade = 'spdy/3.1';

/** The X-Stream-Protocol-Version values a client offered (one header each, or comma-joined). */
function offeredStreamProtocols(req: IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === 'x-stream-protocol-version') out.push(...req.rawHeaders[i + 1]!.split(',').map((s) => s.trim()));
  }
  return out;
}

export interface StreamRequest extends ProcessTarget {
  kind: StreamKind;
  query: URLSearchParams;
  /** The pod object (its container ports are what port-forward reaches). */
  podObject: { spec?: { containers?: Array<{ ports?: Array<{ containerPort?: number }> }> } };
}

/** What serveStreaming did: took the connection over in `served` ("KIND TRANSPORT PROTOCOL"), or refused it with a 400 message. */
export type StreamOutcome = { served: string } | { refused: string };

/** Serves one upgrade request. */
export function serveStreaming(socket: Duplex, req: IncomingMessage, head: Buffer, r: StreamRequest): StreamOutcome {
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  const on = (k: string) => r.query.get(k) === 'true' || r.query.get(k) === '1';
  const command = r.kind === 'exec' ? r.query.getAll('command') : [];
  if (r.kind === 'exec' && command.length === 0) return { refused: 'you must specify at least 1 command' };
  const run = (io: ProcessIO) => (r.kind === 'exec' ? runCommand({ ...r, command, stdin: on('stdin') }, io) : attachMain(r, on('stdin'), io));
  const start = on('tty') ? (io: ProcessIO) => withTty(run(io), io) : run;
  const wsOffer = r.kind === 'portforward' ? [kPortForwardTunnelProtocol] : kExecProtocols;
  const spdyOffer: readonly string[] = r.kind === 'portforward' ? [kPortForwardProtocol] : kSpdyExecProtocols;
  const spoken = `WebSocket with ${wsOffer.join(' or ')}, or SPDY/3.1 with ${spdyOffer.join(' or ')}`;

  if (upgrade === 'websocket') {
    const protocol = chooseProtocol(req, wsOffer);
    if (!protocol) return { refused: `unable to upgrade connection: this simulator speaks ${spoken}` };
    if (r.kind !== 'portforward') {
      serveChannels(socket, req, protocol, head, r.kind === 'exec' ? command : ['attach'], start);
      return { served: `${r.kind} websocket ${protocol}` };
    }
    acceptWebSocket(socket, req, protocol);
    tunnel(socket, head, (sink) => portForwardSession(sink, r, podPorts(r.podObject)));
    return { served: `${r.kind} websocket ${protocol}` };
  }
  if (upgrade === kSpdyUpgrade) {
    const offered = offeredStreamProtocols(req);
    const protocol = spdyOffer.find((p) => offered.includes(p));
    if (!protocol) return { refused: `unable to upgrade connection: this simulator speaks ${spoken}` };
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
    const sink = { write: (b: Buffer) => void (socket.destroyed || socket.write(b)), end: () => socket.end() };
    const session =
      r.kind === 'portforward'
        ? portForwardSession(sink, r, podPorts(r.podObject))
        : spdyProcessSession(sink, { stdin: on('stdin'), stdout: on('stdout'), stderr: on('stderr'), tty: on('tty') }, r.kind === 'exec' ? command : ['attach'], start);
    socket.on('data', (b: Buffer) => session.feed(b));
    socket.on('end', () => session.close());
    socket.on('close', () => session.transportClosed());
    socket.on('error', () => socket.destroy());
    if (head.length) session.feed(head);
    return { served: `${r.kind} spdy ${protocol}` };
  }
  return { refused: `unable to upgrade connection: this simulator speaks ${spoken}` };
}

/** A SPDY session whose bytes travel as binary WebSocket messages on `socket`. */
function tunnel(socket: Duplex, head: Buffer, open: (sink: { write(b: Buffer): void; end(): void }) => SpdySession): void {
  let closing = false;
  const session = open({
    write: (b) => void (socket.destroyed || closing || socket.write(wsFrame(kOpBinary, b))),
    end: () => {
      if (closing) return;
      closing = true;
      closeWebSocket(socket);
    },
  });
  const feed = wsReader(
    (opcode, data) => {
      if (opcode === kOpBinary) session.feed(data);
    },
    (opcode, data) => {
      if (opcode === kOpPing) socket.write(wsFrame(kOpPong, data));
      else if (opcode === kOpClose) {
        session.transportClosed();
        if (!closing) {
          closing = true;
          closeWebSocket(socket);
        }
      }
    },
    () => socket.destroy(),
  );
  socket.on('data', feed);
  socket.on('close', () => session.transportClosed());
  socket.on('error', () => socket.destroy());
  if (head.length) feed(head);
}
