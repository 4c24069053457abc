import type { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/sim/container.js';
import { exitStatus, serveChannels, wsFrame, wsReader } from '../../src/sim/exec.js';

/** A client frame as RFC 6455 requires it: masked, with the given FIN bit and opcode. */
function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const n = payload.length;
  const len = n < 126 ? Buffer.of(0x80 | n) : Buffer.concat([Buffer.of(0x80 | 126), Buffer.from([n >> 8, n & 0xff])]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([Buffer.of((fin ? 0x80 : 0) | opcode), len, mask, body]);
}

function collect() {
  const messages: Array<[number, string]> = [];
  const controls: Array<[number, string]> = [];
  const errors: string[] = [];
  const feed = wsReader(
    (op, d) => messages.push([op, d.toString('latin1')]),
    (op, d) => controls.push([op, d.toString('latin1')]),
    (why) => errors.push(why),
  );
  return { feed, messages, controls, errors };
}

describe('simulator WebSocket framing (kubectl exec)', () => {
  it('unmasks client frames split at every byte, joins fragments, and passes control frames between them', () => {
    const big = Buffer.alloc(300, 'x');
    const bytes = Buffer.concat([
      clientFrame(0x2, Buffer.from('\x00hel'), false),
      clientFrame(0x9, Buffer.from('ping!')),
      clientFrame(0x0, Buffer.from('lo')),
      clientFrame(0x2, Buffer.concat([Buffer.of(0), big])),
    ]);
    const c = collect();
    for (let i = 0; i < bytes.length; i++) c.feed(bytes.subarray(i, i + 1));
    expect(c.errors).toEqual([]);
    expect(c.controls).toEqual([[0x9, 'ping!']]);
    expect(c.messages).toEqual([
      [0x2, '\x00hello'],
      [0x2, '\x00' + big.toString('latin1')],
    ]);
  });

  it('refuses unmasked client frames', () => {
    const c = collect();
    c.feed(Buffer.concat([Buffer.of(0x82, 2), Buffer.from('\x01a')]));
    expect(c.errors).toEqual(['client frames must be masked']);
    expect(c.messages).toEqual([]);
  });

  it('frames server messages with 7-, 16- and 64-bit lengths, unmasked', () => {
    for (const n of [5, 300, 70_000]) {
      const f = wsFrame(0x2, Buffer.alloc(n, 1));
      expect(f[0]).toBe(0x82);
      expect(f[1]! & 0x80).toBe(0);
      const len = n < 126 ? f[1] : n < 65536 ? f.readUInt16BE(2) : Number(f.readBigUInt64BE(2));
      expect(len).toBe(n);
      expect(f.length).toBe(n + (n < 126 ? 2 : n < 65536 ? 4 : 10));
    }
  });

  it('reports exit codes as kubectl reads them', () => {
    expect(JSON.parse(exitStatus(['true'], 0))).toEqual({ metadata: {}, status: 'Success' });
    const s = JSON.parse(exitStatus(['false'], 1));
    expect(s).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '1' }] } });
  });

  it('starts the process only after the handshake went out on its own, so kubectl <= 1.33 has registered its streams', async () => {
    // kubectl up to 1.33 drops messages that reach it before it has registered the stream they
    // name: `kubectl exec -- false` exited 0 when the Status came in the same read as the 101.
    const writes: string[] = [];
    let wrote: () => void = () => undefined;
    const socket = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        writes.push(chunk.toString('latin1'));
        wrote();
        cb();
      },
    });
    const req = { headers: { 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } } as unknown as IncomingMessage;
    let started = false;
    serveChannels(socket, req, 'v5.channel.k8s.io', Buffer.alloc(0), ['false'], (io) => {
      started = true;
      return runCommand({ cluster: 'c', namespace: 'ns', pod: 'p', command: ['false'], stdin: false }, io);
    });
    expect(started).toBe(false);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n[^]*\r\n\r\n$/);
    // The Status (channel 3) and the close frame follow, in writes of their own.
    await new Promise<void>((resolve) => (wrote = () => writes.some((w) => w.startsWith('\x88')) && resolve()));
    expect(started).toBe(true);
    // Server frames are unmasked; a payload of 126 bytes or more has a 16-bit length.
    const payloads = writes.slice(1).map((w) => (w.charCodeAt(1) === 126 ? w.slice(4) : w.slice(2)));
    const status = payloads.find((p) => p.charCodeAt(0) === 3)!;
    expect(JSON.parse(status.slice(1))).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode' });
    socket.destroy();
  });
});
