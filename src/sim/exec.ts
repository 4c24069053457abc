/**
 * `kubectl exec` and `kubectl attach` over WebSocket: the Kubernetes channel protocols
 * v5.channel.k8s.io and v4.channel.k8s.io (what kubectl >= 1.30 speaks first; older kubectl
 * and port-forward speak SPDY, see spdy.ts and streaming.ts). Also the WebSocket framing the
 * SPDY-in-WebSocket tunnel of port-forward rides on.
 *
 * Wire format (RFC 6455 binary messages; the first byte of each is the channel):
 *   0 stdin (client → server)   1 stdout   2 stderr   3 status: a metav1.Status JSON, then close
 *   4 resize (ignored)          255 (v5 only) close signal: the payload byte names the channel
 *                               the client has finished writing (stdin EOF)
 *
 * What runs at the other end is in container.ts.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProcessInput, ProcessIO } from './container.js';

export const kExecProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
const kWsGuid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const kStdin = 0;
const kStdout = 1;
const kStderr = 2;
const kStatus = 3;
const kCloseSignal = 255;

const kOpCont = 0x0;
const kOpText = 0x1;
export const kOpBinary = 0x2;
export const kOpClose = 0x8;
export const kOpPing = 0x9;
export const kOpPong = 0xa;

/**
 * How long after the handshake the process starts, as a container runtime's exec takes a while
 * (tens of milliseconds on a real node). The pause is not decoration: kubectl up to 1.33
 * (client-go tools/remotecommand/websocket.go before "make sure all streams are created before
 * starting demux websocket", 1.34) starts its reader before it registers its streams, and drops
 * a message for a stream it has not registered yet ("Unknown stream id 3, discarding message").
 * A process that ends at once, with its output and Status in the same TCP segment as the 101,
 * then looks to kubectl like a silent success: `kubectl exec -- false` exited 0. Started after
 * this pause, the output arrives after kubectl's reader has blocked on the socket once, by which
 * time the goroutine that registers the streams (a few map inserts) has run. Input that arrives
 * during the pause is queued for the process.
 */
export const kProcessStartMs = 20;

/** Largest client message accepted (stdin chunks are far smaller). */
const kMaxMessage = 1 << 20;

/** The subprotocol to speak: the first of `ours` the client offers, or undefined. */
export function chooseProtocol(req: IncomingMessage, ours: readonly string[] = kExecProtocols): string | undefined {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((s) => s.trim());
  return ours.find((p) => offered.includes(p));
}

/** One server → client WebSocket frame (servers never mask). */
export function wsFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.alloc(2) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (n < 126) head[1] = n;
  else if (n < 65536) {
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/**
 * Reads client frames (masked, possibly fragmented) from `bytes` as they arrive and calls
 * onMessage per whole message and onControl per control frame. Returns the feed function.
 */
export function wsReader(onMessage: (opcode: number, data: Buffer) => void, onControl: (opcode: number, data: Buffer) => void, onError: (why: string) => void): (bytes: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  let parts: Buffer[] = [];
  let partsOp = 0;
  let failed = false;
  return (bytes) => {
    if (failed) return;
    buf = buf.length ? Buffer.concat([buf, bytes]) : bytes;
    for (;;) {
      if (buf.length < 2) return;
      const fin = (buf[0]! & 0x80) !== 0;
      const opcode = buf[0]! & 0x0f;
      const masked = (buf[1]! & 0x80) !== 0;
      let len = buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        const big = buf.readBigUInt64BE(2);
        if (big > BigInt(kMaxMessage)) return fail('message too large');
        len = Number(big);
        at = 10;
      }
      if (!masked) return fail('client frames must be masked');
      if (buf.length < at + 4 + len) return;
      const mask = buf.subarray(at, at + 4);
      const data = Buffer.from(buf.subarray(at + 4, at + 4 + len));
      for (let i = 0; i < data.length; i++) data[i]! ^= mask[i & 3]!;
      buf = buf.subarray(at + 4 + len);
      if (opcode >= 0x8) {
        onControl(opcode, data);
        continue;
      }
      if (opcode !== kOpCont) {
        parts = [];
        partsOp = opcode;
      }
      parts.push(data);
      if (parts.reduce((n, p) => n + p.length, 0) > kMaxMessage) return fail('message too large');
      if (fin) {
        const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        parts = [];
        onMessage(partsOp, whole);
      }
    }
  };
  function fail(why: string): void {
    failed = true;
    onError(why);
  }
}

/** The Status the server sends on channel 3 when the command ends with `code`. */
export function exitStatus(command: string[], code: number): string {
  if (code === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  return JSON.stringify({
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  });
}

/** Completes a server WebSocket handshake on `socket` with the chosen subprotocol. */
export function acceptWebSocket(socket: Duplex, req: IncomingMessage, protocol: string): void {
  const accept = createHash('sha1')
    .update(String(req.headers['sec-websocket-key'] ?? '') + kWsGuid)
    .digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
  );
}

/** Closes a server WebSocket with a normal-closure frame after what was written. */
export function closeWebSocket(socket: Duplex): void {
  const close = Buffer.alloc(2);
  close.writeUInt16BE(1000);
  socket.end(wsFrame(kOpClose, close));
}

/**
 * Runs a process (container.ts) over the channel protocol on `socket`: completes the handshake,
 * then carries stdin in and stdout, stderr and the exit Status out. `command` names the process
 * in a failure Status. The caller has already authenticated, authorised and found the pod.
 */
export function serveChannels(socket: Duplex, req: IncomingMessage, protocol: string, head: Buffer, command: string[], start: (io: ProcessIO) => ProcessInput): void {
  acceptWebSocket(socket, req, protocol);
  const v5 = protocol === 'v5.channel.k8s.io';
  let done = false;
  const send = (channel: number, data: Buffer | string) => {
    if (!done && !socket.destroyed) socket.write(wsFrame(kOpBinary, Buffer.concat([Buffer.of(channel), Buffer.from(data)])));
  };
  const io: ProcessIO = {
    stdout: (d) => send(kStdout, d),
    stderr: (d) => send(kStderr, d),
    exit: (code) => {
      if (done) return;
      send(kStatus, exitStatus(command, code));
      done = true;
      closeWebSocket(socket);
    },
  };
  // Input that arrives before the process is started (in the handshake's trailing bytes) waits.
  let input: ProcessInput | undefined;
  const early: Array<() => void> = [];
  const toInput = (f: (i: ProcessInput) => void) => (input ? f(input) : early.push(() => f(input!)));
  const feed = wsReader(
    (opcode, data) => {
      if ((opcode !== kOpBinary && opcode !== kOpText) || data.length === 0) return;
      const channel = data[0]!;
      if (channel === kStdin && data.length > 1) toInput((i) => i.stdin(data.subarray(1)));
      else if (v5 && channel === kCloseSignal && data[1] === kStdin) toInput((i) => i.stdinEnd());
    },
    (opcode, data) => {
      if (opcode === kOpPing) socket.write(wsFrame(kOpPong, data));
      else if (opcode === kOpClose) {
        // The client is leaving: stdin is over, and so is the session once the process answers.
        toInput((i) => i.stdinEnd());
        if (!done) socket.destroy();
      }
    },
    () => socket.destroy(),
  );
  socket.on('data', feed);
  socket.on('error', () => socket.destroy());
  socket.on('end', () => toInput((i) => i.stdinEnd()));
  if (head.length) feed(head);
  const timer = setTimeout(() => {
    if (socket.destroyed) return;
    input = start(io);
    for (const f of early.splice(0)) f();
  }, kProcessStartMs);
  socket.on('close', () => clearTimeout(timer));
}
