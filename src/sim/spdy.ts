/**
 * SPDY/3.1 server sessions, enough for what Kubernetes streams over it (exec, attach,
 * port-forward): the client opens streams, the server replies, both send data and half-close.
 * No maintained npm package implements SPDY framing (`spdy`/`spdy-transport` are unmaintained
 * since 2018 and patch Node's http internals), so this keeps its own small framer.
 *
 * Frame layout (all integers big-endian; draft-mbelshe-httpbis-spdy-00, SPDY/3 with 3.1's
 * session flow control):
 *
 *   control frame                            data frame
 *   bits   field                             bits   field
 *   1      C = 1                             1      C = 0
 *   15     version = 3                       31     stream id
 *   16     type (below)                      8      flags (0x01 FIN)
 *   8      flags                             24     length
 *   24     length of what follows            ...    payload
 *
 *   type  name           payload after the 8-byte head
 *   1     SYN_STREAM     stream id (31), associated id (31), priority (3) + unused (5), slot (8),
 *                        header block; flags 0x01 FIN, 0x02 UNIDIRECTIONAL
 *   2     SYN_REPLY      stream id (31), header block; flag 0x01 FIN
 *   3     RST_STREAM     stream id (31), status code (32)
 *   4     SETTINGS       count (32), then count × { flags (8), id (24), value (32) }
 *   6     PING           id (32); the receiver echoes a ping whose id parity is the peer's
 *   7     GOAWAY         last good stream id (31), status code (32)
 *   8     HEADERS        stream id (31), header block
 *   9     WINDOW_UPDATE  stream id (31), delta (31)
 *
 *   header block, uncompressed: pairs (32), then pairs × { name length (32), name,
 *   value length (32), value (NUL separates several values) }; compressed with zlib seeded with
 *   the SPDY/3 dictionary, one zlib stream per direction per session, sync-flushed per block.
 *
 * Client streams have odd ids. Flow control: the clients here (moby/spdystream, which kubectl
 * and client-go use) neither send WINDOW_UPDATE nor wait for it, and the payloads are small, so
 * windows are not enforced in either direction.
 */
import { constants as zc, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';

export const kSpdyVersion = 3;
const kHeadBytes = 8;
/** Largest frame accepted from a client (header blocks and stdin chunks are far smaller). */
const kMaxFrame = 1 << 20;

export const enum FrameType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}
const kFlagFin = 0x01;
/** RST_STREAM status codes used here. */
export const kRstProtocolError = 1;
export const kRstRefusedStream = 3;
export const kRstCancel = 5;

/**
 * The SPDY/3 header-compression dictionary (the spec's byte string): 65 length-prefixed words,
 * then a run of status codes, reason phrases, dates and media types. Built, not listed: the
 * words are what matter, and a typo here breaks every header block (spdy.test.ts checks it).
 */
const kDictWords = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
  'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
];
const kDictTail =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

export const kSpdyDictionary: Buffer = Buffer.concat([
  ...kDictWords.map((w) => {
    const b = Buffer.alloc(4 + w.length);
    b.writeUInt32BE(w.length);
    b.write(w, 4, 'latin1');
    return b;
  }),
  Buffer.from(kDictTail, 'latin1'),
]);

export type SpdyHeaders = Record<string, string>;

/** Uncompressed header block; names are lowercased as SPDY requires. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const n = Buffer.alloc(4);
  n.writeUInt32BE(Object.keys(headers).length);
  parts.push(n);
  for (const [k, v] of Object.entries(headers)) {
    for (const s of [k.toLowerCase(), v]) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      parts.push(len, b);
    }
  }
  return Buffer.concat(parts);
}

export class SpdyError extends Error {}

/** Parses an uncompressed header block; several values of one name are joined by NUL. */
export function decodeHeaderBlock(raw: Buffer): SpdyHeaders {
  const out: SpdyHeaders = {};
  let at = 0;
  const u32 = () => {
    if (at + 4 > raw.length) throw new SpdyError('spdy: truncated header block');
    const v = raw.readUInt32BE(at);
    at += 4;
    return v;
  };
  const str = () => {
    const len = u32();
    if (at + len > raw.length) throw new SpdyError('spdy: truncated header block');
    const s = raw.toString('utf8', at, at + len);
    at += len;
    return s;
  };
  const pairs = u32();
  for (let i = 0; i < pairs; i++) {
    const name = str().toLowerCase();
    out[name] = str();
  }
  return out;
}

/**
 * One direction's zlib stream. Blocks go through one at a time (the stream's state carries from
 * block to block, so order is the protocol); each resolves with that block's bytes after a sync
 * flush.
 */
class HeaderZlib {
  private tail: Promise<unknown> = Promise.resolve();
  constructor(private readonly z: Deflate | Inflate) {
    z.on('error', () => undefined); // surfaced through the pending block's rejection below
  }

  run(input: Buffer): Promise<Buffer> {
    const next = this.tail.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const onError = (e: Error) => reject(new SpdyError(`spdy: header block: ${e.message}`));
          this.z.once('error', onError);
          this.z.write(input);
          // The flush callback runs after the transform has pushed this block's output, so the
          // readable buffer holds all of it.
          this.z.flush(zc.Z_SYNC_FLUSH, () => {
            this.z.off('error', onError);
            const chunks: Buffer[] = [];
            for (let c: Buffer | null; (c = this.z.read() as Buffer | null) !== null; ) chunks.push(c);
            resolve(Buffer.concat(chunks));
          });
        }),
    );
    this.tail = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.z.destroy();
  }
}

/** Where a session's bytes go: a socket, or binary WebSocket messages when SPDY is tunnelled. */
export interface ByteSink {
  write(bytes: Buffer): void;
  /** Ends the transport after what was written. */
  end(): void;
}

export class SpdyStream {
  /** The client finished sending (FIN received). */
  remoteEnded = false;
  /** We finished sending (FIN sent) or the stream was reset. */
  localEnded = false;
  onData: (data: Buffer) => void = () => undefined;
  onEnd: () => void = () => undefined;
  /** The stream was reset by the client or the session closed under it. */
  onReset: () => void = () => undefined;

  constructor(
    readonly session: SpdySession,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {}

  write(data: Buffer | string): void {
    if (this.localEnded) return;
    const b = Buffer.from(data);
    // DATA frames carry at most 2^24-1 bytes; smaller pieces keep any one frame from hogging.
    for (let at = 0; at < b.length; at += 1 << 16) this.session.sendData(this.id, b.subarray(at, at + (1 << 16)), false);
  }

  /** Half-close: an empty DATA frame with FIN. */
  end(data?: Buffer | string): void {
    if (data !== undefined && data.length) this.write(data);
    if (this.localEnded) return;
    this.localEnded = true;
    this.session.sendData(this.id, Buffer.alloc(0), true);
    this.session.maybeForget(this);
  }

  reset(status = kRstCancel): void {
    if (this.localEnded && this.remoteEnded) return;
    this.localEnded = this.remoteEnded = true;
    this.session.sendRst(this.id, status);
    this.session.maybeForget(this);
  }
}

/**
 * The server side of one SPDY/3.1 connection. feed() takes the client's bytes in any slicing;
 * onStream is called once per SYN_STREAM after its SYN_REPLY is queued, so the handler may write
 * at once. Frames are handled strictly in arrival order (header blocks decompress asynchronously,
 * so everything after one waits for it).
 */
export class SpdySession {
  readonly streams = new Map<number, SpdyStream>();
  private buf: Buffer = Buffer.alloc(0);
  private inbound: Promise<void> = Promise.resolve();
  private outbound: Promise<void> = Promise.resolve();
  private readonly inflate = new HeaderZlib(createInflate({ dictionary: kSpdyDictionary }));
  private readonly deflate = new HeaderZlib(createDeflate({ dictionary: kSpdyDictionary }));
  private lastStreamId = 0;
  closed = false;
  /** Called when the session ends (GOAWAY, error, transport end). */
  onClose: () => void = () => undefined;

  constructor(
    private readonly sink: ByteSink,
    private readonly onStream: (stream: SpdyStream) => void,
  ) {}

  feed(bytes: Buffer): void {
    if (this.closed) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, bytes]) : bytes;
    while (this.buf.length >= kHeadBytes) {
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (len > kMaxFrame) return this.fail();
      if (this.buf.length < kHeadBytes + len) return;
      const frame = this.buf.subarray(0, kHeadBytes + len);
      this.buf = this.buf.subarray(kHeadBytes + len);
      this.inbound = this.inbound.then(() => (this.closed ? undefined : this.handle(frame))).catch(() => this.fail());
    }
  }

  /** The transport ended or failed: every stream is over. */
  transportClosed(): void {
    this.shutdown();
  }

  /** Sends GOAWAY and ends the transport once everything queued before it is written. */
  close(): void {
    if (this.closed) return;
    const body = Buffer.alloc(8);
    body.writeUInt32BE(this.lastStreamId & 0x7fffffff, 0);
    this.sendControl(FrameType.GoAway, 0, body);
    this.outbound = this.outbound.then(() => this.sink.end());
    this.shutdown();
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) {
      s.localEnded = s.remoteEnded = true;
      s.onReset();
    }
    this.streams.clear();
    this.inflate.close();
    // The deflater may still be finishing a SYN_REPLY queued before close(); let it.
    void this.outbound.then(() => this.deflate.close());
    this.onClose();
  }

  /** A protocol error (a frame we cannot parse): GOAWAY with PROTOCOL_ERROR, then end. */
  private fail(): void {
    if (this.closed) return;
    const body = Buffer.alloc(8);
    body.writeUInt32BE(this.lastStreamId & 0x7fffffff, 0);
    body.writeUInt32BE(1, 4); // PROTOCOL_ERROR
    this.sendControl(FrameType.GoAway, 0, body);
    this.outbound = this.outbound.then(() => this.sink.end());
    this.shutdown();
  }

  private async handle(frame: Buffer): Promise<void> {
    const control = (frame[0]! & 0x80) !== 0;
    const flags = frame[4]!;
    const body = frame.subarray(kHeadBytes);
    if (!control) {
      const id = frame.readUInt32BE(0) & 0x7fffffff;
      const s = this.streams.get(id);
      if (!s || s.remoteEnded) return; // data for a stream already reset or finished: dropped, as spdystream does
      if (body.length) s.onData(Buffer.from(body));
      if (flags & kFlagFin) {
        s.remoteEnded = true;
        s.onEnd();
        this.maybeForget(s);
      }
      return;
    }
    const version = frame.readUInt16BE(0) & 0x7fff;
    if (version !== kSpdyVersion) throw new SpdyError(`unsupported SPDY version ${version}`);
    const type = frame.readUInt16BE(2);
    switch (type) {
      case FrameType.SynStream: {
        if (body.length < 10) throw new SpdyError('short SYN_STREAM');
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.inflate.run(body.subarray(10)));
        if (id % 2 === 0 || id <= this.lastStreamId) {
          this.sendRst(id, kRstProtocolError);
          return;
        }
        this.lastStreamId = id;
        const s = new SpdyStream(this, id, headers);
        this.streams.set(id, s);
        this.sendReply(id);
        if (flags & kFlagFin) s.remoteEnded = true;
        this.onStream(s);
        if (s.remoteEnded && this.streams.has(id)) s.onEnd();
        return;
      }
      case FrameType.RstStream: {
        const s = this.streams.get(body.readUInt32BE(0) & 0x7fffffff);
        if (!s) return;
        s.localEnded = s.remoteEnded = true;
        this.streams.delete(s.id);
        s.onReset();
        return;
      }
      case FrameType.Ping:
        // Client pings have odd ids; echo them. Our own (even) we never send.
        if (body.length >= 4 && body.readUInt32BE(0) % 2 === 1) this.sendControl(FrameType.Ping, 0, Buffer.from(body.subarray(0, 4)));
        return;
      case FrameType.GoAway:
        this.close();
        return;
      case FrameType.Headers:
        // Headers after SYN_STREAM carry nothing the simulator uses, but the block must still
        // pass through the shared zlib stream to keep it in step.
        if (body.length > 4) await this.inflate.run(body.subarray(4));
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE, and unknown types (the spec says ignore)
    }
  }

  maybeForget(s: SpdyStream): void {
    if (s.localEnded && s.remoteEnded) this.streams.delete(s.id);
  }

  private sendReply(id: number): void {
    // Compression is asynchronous; the frame takes its place in the outbound queue now, so data
    // the handler writes next goes out after it.
    const block = this.deflate.run(encodeHeaderBlock({}));
    this.enqueue(async () => {
      const hb = await block;
      const body = Buffer.alloc(4 + hb.length);
      body.writeUInt32BE(id, 0);
      hb.copy(body, 4);
      return controlFrame(FrameType.SynReply, 0, body);
    });
  }

  sendData(id: number, data: Buffer, fin: boolean): void {
    if (this.closed) return;
    const head = Buffer.alloc(kHeadBytes);
    head.writeUInt32BE(id & 0x7fffffff, 0);
    head.writeUInt32BE(data.length, 4);
    head[4] = fin ? kFlagFin : 0;
    this.enqueue(() => Buffer.concat([head, data]));
  }

  sendRst(id: number, status: number): void {
    const body = Buffer.alloc(8);
    body.writeUInt32BE(id & 0x7fffffff, 0);
    body.writeUInt32BE(status, 4);
    this.sendControl(FrameType.RstStream, 0, body);
  }

  private sendControl(type: FrameType, flags: number, body: Buffer): void {
    this.enqueue(() => controlFrame(type, flags, body));
  }

  private enqueue(make: () => Buffer | Promise<Buffer>): void {
    this.outbound = this.outbound
      .then(make)
      .then((bytes) => this.sink.write(bytes))
      .catch(() => this.shutdown());
  }
}

function controlFrame(type: FrameType, flags: number, body: Buffer): Buffer {
  const head = Buffer.alloc(kHeadBytes);
  head.writeUInt16BE(0x8000 | kSpdyVersion, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(body.length, 4);
  head[4] = flags;
  return Buffer.concat([head, body]);
}
