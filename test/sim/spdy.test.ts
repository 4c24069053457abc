import { createHash } from 'node:crypto';
import { constants as zc, createDeflate, createInflate } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { connectPort, runCommand, withTty } from '../../src/sim/container.js';
import { SpdySession, decodeHeaderBlock, encodeHeaderBlock, kSpdyDictionary, type SpdyStream } from '../../src/sim/spdy.js';

/** A client's side of the framing, written from the frame table (not with the module's own encoder). */
function client() {
  const deflate = createDeflate({ dictionary: kSpdyDictionary });
  const inflate = createInflate({ dictionary: kSpdyDictionary });
  const block = (z: typeof deflate | typeof inflate, b: Buffer) =>
    new Promise<Buffer>((resolve) => {
      z.write(b);
      z.flush(zc.Z_SYNC_FLUSH, () => {
        const out: Buffer[] = [];
        for (let c; (c = z.read()) !== null; ) out.push(c as Buffer);
        resolve(Buffer.concat(out));
      });
    });
  const control = (type: number, flags: number, body: Buffer) => {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(0x8003, 0);
    h.writeUInt16BE(type, 2);
    h.writeUInt32BE(body.length, 4);
    h[4] = flags;
    return Buffer.concat([h, body]);
  };
  return {
    async synStream(id: number, headers: Record<string, string>, fin = false) {
      const hb = await block(deflate, encodeHeaderBlock(headers));
      const body = Buffer.alloc(10);
      body.writeUInt32BE(id, 0);
      return control(1, fin ? 1 : 0, Buffer.concat([body, hb]));
    },
    data(id: number, payload: string, fin = false) {
      const h = Buffer.alloc(8);
      h.writeUInt32BE(id, 0);
      h.writeUInt32BE(Buffer.byteLength(payload), 4);
      h[4] = fin ? 1 : 0;
      return Buffer.concat([h, Buffer.from(payload)]);
    },
    ping: (id: number) => control(6, 0, Buffer.from([0, 0, 0, id])),
    goAway: () => control(7, 0, Buffer.alloc(8)),
    /** Parses server frames; SYN_REPLY header blocks go through the client's inflater in order. */
    async parse(bytes: Buffer) {
      const frames: Array<{ kind: string; id: number; fin: boolean; data?: string; headers?: Record<string, string> }> = [];
      for (let at = 0; at < bytes.length; ) {
        const len = bytes.readUInt32BE(at + 4) & 0xffffff;
        const f = bytes.subarray(at, at + 8 + len);
        at += 8 + len;
        const fin = (f[4]! & 1) === 1;
        if (f[0]! & 0x80) {
          const type = f.readUInt16BE(2);
          const id = f.readUInt32BE(8) & 0x7fffffff;
          if (type === 2) frames.push({ kind: 'SYN_REPLY', id, fin, headers: decodeHeaderBlock(await block(inflate, f.subarray(12))) });
          else frames.push({ kind: ({ 3: 'RST_STREAM', 6: 'PING', 7: 'GOAWAY' } as Record<number, string>)[type] ?? String(type), id, fin });
        } else frames.push({ kind: 'DATA', id: f.readUInt32BE(0), fin, data: f.subarray(8).toString() });
      }
      return frames;
    },
  };
}

describe('SPDY/3.1 sessions (src/sim/spdy.ts)', () => {
  it('builds the SPDY/3 header dictionary byte for byte', () => {
    // The digest of the 1,423-byte dictionary the SPDY/3 draft lists (and Go's spdy package embeds).
    expect(kSpdyDictionary.length).toBe(1423);
    expect(createHash('sha256').update(kSpdyDictionary).digest('hex')).toBe('51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
  });

  it('opens client streams with compressed headers, replies, carries data both ways, echoes pings, resets unknown ids', async () => {
    const c = client();
    const written: Buffer[] = [];
    let ended = false;
    const streams: SpdyStream[] = [];
    const session = new SpdySession({ write: (b) => written.push(b), end: () => (ended = true) }, (s) => {
      streams.push(s);
      s.onData = (d) => s.write(d.toString().toUpperCase());
      s.onEnd = () => s.end();
    });
    // Fed one byte at a time: frames and header blocks are reassembled.
    const bytes = Buffer.concat([
      await c.synStream(1, { StreamType: 'stdin', port: '80' }),
      await c.synStream(3, { streamtype: 'error' }, true),
      c.data(1, 'abc'),
      c.ping(7),
      c.data(1, 'def', true),
      await c.synStream(2, { streamtype: 'even' }),
      c.goAway(),
    ]);
    for (let i = 0; i < bytes.length; i++) session.feed(bytes.subarray(i, i + 1));
    await new Promise<void>((resolve) => {
      const check = () => (ended ? resolve() : setImmediate(check));
      check();
    });
    expect(streams.map((s) => [s.id, s.headers])).toEqual([
      [1, { streamtype: 'stdin', port: '80' }],
      [3, { streamtype: 'error' }],
    ]);
    const frames = await c.parse(Buffer.concat(written));
    expect(frames.map((f) => [f.kind, f.id, f.fin, f.data ?? f.headers])).toEqual([
      ['SYN_REPLY', 1, false, {}],
      ['SYN_REPLY', 3, false, {}],
      ['DATA', 3, true, ''],
      ['DATA', 1, false, 'ABC'],
      ['PING', 7, false, undefined],
      ['DATA', 1, false, 'DEF'],
      ['DATA', 1, true, ''],
      ['RST_STREAM', 2, false, undefined],
      ['GOAWAY', 3, false, undefined],
    ]);
  });

  it('a corrupt header block ends the session with GOAWAY instead of throwing', async () => {
    const written: Buffer[] = [];
    let ended = false;
    const session = new SpdySession({ write: (b) => written.push(b), end: () => (ended = true) }, () => undefined);
    const bad = Buffer.alloc(8 + 10 + 6, 0xff);
    bad.writeUInt16BE(0x8003, 0);
    bad.writeUInt16BE(1, 2);
    bad.writeUInt32BE(16, 4);
    bad.writeUInt32BE(1, 8);
    session.feed(bad);
    await new Promise<void>((resolve) => {
      const check = () => (ended ? resolve() : setImmediate(check));
      check();
    });
    const frame = Buffer.concat(written);
    expect(frame.readUInt16BE(2)).toBe(7);
    expect(session.closed).toBe(true);
  });
});

describe("a pod's forwarded port (src/sim/container.ts)", () => {
  const target = { cluster: 'c', namespace: 'ns', pod: 'p' };
  it('answers an HTTP request once its head is complete, then closes', () => {
    const out: string[] = [];
    let closed = 0;
    const conn = connectPort(target, 8080, (b) => out.push(b.toString()), () => closed++);
    conn.data(Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\n'));
    expect(out).toEqual([]);
    conn.data(Buffer.from('\r\n'));
    expect(closed).toBe(1);
    expect(out.join('')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nhello from c\/ns\/p port 8080: GET \/x HTTP\/1\.1\n$/);
  });

  it('echoes anything else until the client half-closes', () => {
    const out: string[] = [];
    let closed = 0;
    const conn = connectPort(target, 8080, (b) => out.push(b.toString()), () => closed++);
    conn.data(Buffer.from('ping\n'));
    conn.data(Buffer.from('more'));
    expect(out.join('')).toBe('ping\nmore');
    expect(closed).toBe(0);
    conn.end();
    expect(closed).toBe(1);
  });
});

describe('a terminal in front of a process (src/sim/container.ts withTty)', () => {
  const run = () => {
    const out: string[] = [];
    const exits: number[] = [];
    const io = { stdout: (d: Buffer | string) => out.push(String(d)), stderr: () => undefined, exit: (c: number) => exits.push(c) };
    const input = withTty(runCommand({ cluster: 'c', namespace: 'ns', pod: 'p', command: ['cat'], stdin: true }, io), io);
    return { out, exits, input };
  };
  it('^D at the start of a line ends stdin; elsewhere it is data', () => {
    const t = run();
    t.input.stdin(Buffer.from('a\x04b\n'));
    expect(t.exits).toEqual([]);
    t.input.stdin(Buffer.from('last\n\x04ignored'));
    expect(t.out.join('')).toBe('a\x04b\nlast\n');
    expect(t.exits).toEqual([0]);
  });
  it('^C interrupts with exit code 130', () => {
    const t = run();
    t.input.stdin(Buffer.from('x\x03y'));
    expect(t.out.join('')).toBe('x');
    expect(t.exits).toEqual([130]);
  });
});
