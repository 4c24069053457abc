/**
 * Pins the index's byte layout (src/shm/layout.ts kLayoutVersion 2, entry table in
 * src/index/encoding.ts): a reader of another build must decode these bytes. The digest was taken
 * from the encoder as it stood before its string fields were named in one table; a change of
 * field order, header words, padding or checksums changes it. Changing the layout on purpose
 * means bumping kLayoutVersion and re-pinning here.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RwLock } from '../../src/lock/index.js';
import { IndexReader, IndexWriter } from '../../src/index/index.js';
import type { IndexEntryInput } from '../../src/index/types.js';
import { kEntHeaderBytes, kEntStrChars, kEntStrLens, kHeadStrCount, kStrCount, kStrFields, kSummaryStrCount } from '../../src/index/encoding.js';
import { createSharedRegion, headInt32, kActiveBufferWord, kBufferOffsetWord, kLayoutVersion } from '../../src/shm/layout.js';

/** Fixed entries that exercise every string field, empty and non-ASCII strings, flags and states. */
function goldenEntries(): IndexEntryInput[] {
  const base: IndexEntryInput = {
    id: 7,
    name: 'prod-eu',
    description: 'Prodüction EU ✓',
    enabled: true,
    isDefault: true,
    inCluster: false,
    state: 'ok',
    version: 'v1.32.1',
    error: '',
    errorAt: 0,
    probedAt: 1_765_000_000_123,
    configHash: 'c0ffee',
    generation: 3,
    prometheusUrl: 'http://prom.monitoring:9090',
    groups: ['eu', 'prod'],
    client: {
      server: 'https://10.0.0.1:6443',
      caData: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      certData: 'CERT',
      keyData: 'KEY',
      token: 'tok-123',
      tlsServerName: 'api.prod-eu',
      insecure: false,
      proxyUrl: 'http://proxy:3128',
    },
  };
  return [
    base,
    {
      ...base, id: 2, name: '集群-🚀', description: '', isDefault: false, enabled: false, inCluster: true, state: 'error',
      version: '', error: 'dial tcp: refused', errorAt: 1_765_000_000_999, probedAt: 0, configHash: '', generation: -1,
      prometheusUrl: '', groups: undefined,
      client: { server: 'https://[::1]:6443', caData: '', certData: '', keyData: '', token: '', tlsServerName: '', insecure: true, proxyUrl: '' },
    },
    { ...base, id: 3, name: 'a', isDefault: false, state: 'building', groups: ['x'], client: { ...base.client, token: 'ŧøķęñ' } },
  ];
}

describe('index layout (golden)', () => {
  it('the entry header and the string fields keep their words and order', () => {
    expect(kLayoutVersion).toBe(2);
    expect(kStrFields).toEqual([
      'name', 'description', 'version', 'error', 'groups', 'configHash', 'prometheusUrl', 'server',
      'caData', 'certData', 'keyData', 'token', 'tlsServerName', 'proxyUrl',
    ]);
    expect(kStrCount).toBe(14);
    expect(kEntStrLens).toBe(11);
    expect(kEntStrChars).toBe(25);
    expect(kEntHeaderBytes).toBe(39 * 4);
    expect(kSummaryStrCount).toBe(5);
    expect(kHeadStrCount).toBe(8);
  });

  it('a fixed index encodes to the same bytes and reads back', () => {
    const sab = createSharedRegion({ initialIndexBytes: 4096 });
    const writer = new IndexWriter(sab, RwLock.attach(sab, { threadId: 600 }));
    const input = goldenEntries();
    writer.publish(input);
    const head = headInt32(sab);
    const off = head[kBufferOffsetWord(head[kActiveBufferWord]!)]!;
    const used = new Int32Array(sab, off, 16)[4]!; // kHdrUsedBytes
    const bytes = new Uint8Array(sab, off, used);
    expect(used).toBe(1040);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe('64fda679a803cad5db5d73b8d52f5b5910a2893499812b8e7c05cd5e22a16cde');
    const reader = new IndexReader(sab, RwLock.attach(sab, { threadId: 601 }), { cacheEntries: 0 });
    for (const e of input) expect(reader.lookup(e.name)).toEqual({ ...e, groups: e.groups ?? [], indexGeneration: 1 });
  });
});
