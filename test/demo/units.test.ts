/**
 * The demo's and the browser-safe modules' pure parts: the portable UTF-8 codec against Node's,
 * the source-map line mapping against the real compiled lock, stack-frame parsing, and the
 * demo index's independent torn-read check. Needs `npm run build` (reads dist/ maps).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkEntry, demoEntry, entryName, stampsOf } from '../../src/demo/entries.js';
import { callerSite } from '../../src/demo/gated-atomics.js';
import { decodeVlq, tsLineMap } from '../../src/demo/source-map.js';
import type { IndexEntry } from '../../src/index/types.js';
import { portableUtf8, utf8, utf8ByteLength } from '../../src/index/utf8.js';
import { packageRoot } from '../../src/util/paths.js';

describe('UTF-8 codecs', () => {
  const samples = ['', 'sim-0001', 'grüße', '集群-東京', 'emoji 🚀 pair', 'lone \ud800 surrogate', 'x'.repeat(3000)];

  it('the portable codec writes and reads the same bytes as Node\'s, over shared memory', () => {
    expect(utf8).not.toBe(portableUtf8); // Node picked Buffer's
    const sab = new SharedArrayBuffer(8192);
    for (const s of samples) {
      const n = utf8.byteLength(s);
      expect(portableUtf8.byteLength(s), s).toBe(n);
      expect(utf8ByteLength(s), s).toBe(Buffer.byteLength(s, 'utf8'));
      const a = utf8.view(sab, 4096);
      const b = portableUtf8.view(sab, 8192);
      utf8.write(a, s, 0, n);
      portableUtf8.write(b, s, 4096, n);
      expect(Buffer.from(sab, 4096, n).equals(Buffer.from(sab, 0, n)), s).toBe(true);
      expect(portableUtf8.decode(b, 0, n), s).toBe(utf8.decode(a, 0, n));
      expect(utf8.decode(a, 0, n)).toBe(Buffer.from(s, 'utf8').toString('utf8'));
    }
  });

  it('decodes torn bytes to U+FFFD instead of throwing', () => {
    const u8 = portableUtf8.alloc(4);
    u8.set([0x61, 0xe6, 0x96, 0x62]); // 'a', a cut 3-byte sequence, 'b'
    expect(portableUtf8.decode(u8, 0, 4)).toBe('a\ufffdb');
    expect(utf8.decode(Buffer.from(u8), 0, 4)).toBe('a\ufffdb');
  });
});

describe('source maps', () => {
  it('decodes VLQ fields', () => {
    expect(decodeVlq('AAAA')).toEqual([0, 0, 0, 0]);
    expect(decodeVlq('AACA')).toEqual([0, 0, 1, 0]);
    expect(decodeVlq('gBAAD')).toEqual([16, 0, 0, -1]);
  });

  it('maps every line of the compiled lock holding an Atomics call to the same call in rwlock.ts', () => {
    const js = readFileSync(join(packageRoot, 'dist/src/lock/rwlock.js'), 'utf8').split('\n');
    const ts = readFileSync(join(packageRoot, 'src/lock/rwlock.ts'), 'utf8').split('\n');
    const map = tsLineMap(readFileSync(join(packageRoot, 'dist/src/lock/rwlock.js.map'), 'utf8'));
    let checked = 0;
    js.forEach((line, i) => {
      const call = /this\.at\.\w+\([^)]*\)/.exec(line);
      if (!call) return;
      const tsLine = map[i + 1]!;
      expect(tsLine, `js line ${i + 1}`).toBeGreaterThan(0);
      expect(ts[tsLine - 1], `js line ${i + 1} -> ts ${tsLine}`).toContain(call[0]);
      checked++;
    });
    expect(checked).toBeGreaterThan(30);
  });
});

describe('stack frames', () => {
  it('finds the first frame in the lock or the step thread, with its line', () => {
    const stack = [
      'Error',
      '    at Gate.pass (http://127.0.0.1:8090/dist/src/demo/gated-atomics.js:40:29)',
      '    at Object.add (http://127.0.0.1:8090/dist/src/demo/gated-atomics.js:70:31)',
      '    at RwLock.readLock (http://127.0.0.1:8090/dist/src/lock/rwlock.js:137:21)',
      '    at runStepReader (http://127.0.0.1:8090/dist/src/demo/step-thread.js:30:14)',
    ].join('\n');
    expect(callerSite(stack)).toEqual([0, 137]);
    expect(callerSite(stack.split('\n').filter((l) => !l.includes('rwlock')).join('\n'))).toEqual([1, 30]);
    expect(callerSite(undefined)).toEqual([-1, 0]);
  });
});

describe('the demo index check', () => {
  const asRead = (e: ReturnType<typeof demoEntry>): IndexEntry => ({ ...e, indexGeneration: 1 });

  it('accepts an entry written by one generation', () => {
    const e = asRead(demoEntry(3, 41, 2048));
    expect(e.client.caData.length).toBeGreaterThan(1500);
    expect(stampsOf(e)).toEqual({ description: 41, version: 41, configHash: 41, caData: 41, token: 41 });
    expect(checkEntry(e, entryName(3))).toBeNull();
  });

  it('names the fields that came from another generation, and a wrong entry', () => {
    const a = demoEntry(3, 41, 1024);
    const b = demoEntry(3, 42, 1024);
    const torn = asRead({ ...a, configHash: b.configHash, client: { ...a.client, token: b.client.token } });
    expect(checkEntry(torn, entryName(3))).toEqual({
      name: entryName(3),
      expectedName: entryName(3),
      fields: { description: 41, version: 41, configHash: 42, caData: 41, token: 42 },
    });
    expect(checkEntry(asRead(a), entryName(4))).not.toBeNull();
    expect(checkEntry(asRead({ ...a, version: 'v1.31.\ufffd' }), entryName(3))!.fields.version).toBe(-1);
  });
});

describe('browser-safe modules', () => {
  /** Import specifiers of a compiled module (static and dynamic). */
  const importsOf = (text: string) => [...text.matchAll(/(?:from\s*|import\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);

  it('lock, shm, index and the demo threads import only each other, nothing from Node', async () => {
    const { readdirSync } = await import('node:fs');
    const browserDirs = ['lock', 'shm', 'index'];
    const demoBrowserFiles = ['layout', 'entries', 'gated-atomics', 'live-thread', 'step-thread', 'thread-init', 'worker'];
    const files = [
      ...browserDirs.flatMap((d) => readdirSync(join(packageRoot, 'dist/src', d)).filter((f) => f.endsWith('.js')).map((f) => `${d}/${f}`)),
      ...demoBrowserFiles.map((f) => `demo/${f}.js`),
    ];
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) {
      const text = readFileSync(join(packageRoot, 'dist/src', f), 'utf8');
      for (const spec of importsOf(text)) {
        expect(spec, `${f} imports ${spec}`).toMatch(/^\.\.?\//);
        const target = join('src', f, '..', spec).split('/')[1];
        expect([...browserDirs, 'demo'], `${f} imports ${spec}`).toContain(target);
      }
      // Buffer only through utf8.js's feature test of the global.
      if (!f.endsWith('utf8.js')) expect(text, f).not.toMatch(/\bBuffer\./);
      expect(text, f).not.toMatch(/\bprocess\.|\brequire\(/);
    }
  });

  it('RwLock.attach needs the thread id passed in', async () => {
    const { RwLock } = await import('../../src/lock/rwlock.js');
    const { createSharedRegion } = await import('../../src/shm/layout.js');
    const sab = createSharedRegion({ maxThreads: 2 });
    expect(() => RwLock.attach(sab, {} as { threadId: number })).toThrow('rwlock: threadId must be an integer in 0..2^31-2, got undefined');
    expect(RwLock.attach(sab, { threadId: 7 }).threadId).toBe(7);
  });
});
