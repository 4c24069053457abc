// StreamRegistry without a server: the path a worker that did not delete the token takes (it
// learns of the revocation only from the store), and the per-token cap.
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/util/http-error.js';
import { StreamRegistry } from '../../src/http/streams.js';

const caller = (id: number, token: string) => ({ record: { id, name: `t${id}`, role: 'viewer' as const, clusters: null, createdAt: 0 }, token });

describe('StreamRegistry', () => {
  it('closes the streams of a token the store no longer verifies, and only those', async () => {
    const valid = new Set(['a', 'b']);
    const reg = new StreamRegistry({ verify: (s) => (valid.has(s) ? { ...caller(s === 'a' ? 1 : 2, s).record } : undefined) }, { maxPerToken: 10, recheckMs: 5 });
    const closed: string[] = [];
    const allA = new Promise<void>((resolve) => {
      for (const n of ['a1', 'a2']) {
        reg.open(caller(1, 'a'), () => {
          closed.push(n);
          if (closed.filter((c) => c.startsWith('a')).length === 2) resolve();
        });
      }
    });
    const doneB = reg.open(caller(2, 'b'), () => closed.push('b1'));
    valid.delete('a'); // revoked elsewhere: another worker or replica deleted it
    await allA;
    expect(closed.sort()).toEqual(['a1', 'a2']);
    expect(reg.counts()).toEqual({ '2': 1 });
    doneB();
    expect(reg.counts()).toEqual({});
  });

  it('refuses one stream over the cap with 429 and frees a place when a stream ends', () => {
    const reg = new StreamRegistry({ verify: () => undefined }, { maxPerToken: 2 });
    const d1 = reg.open(caller(1, 'a'), () => {});
    reg.open(caller(1, 'a'), () => {});
    let err: unknown;
    try {
      reg.open(caller(1, 'a'), () => {});
    } catch (e) {
      err = e;
    }
    expect((err as HttpError).status).toBe(429);
    reg.open(caller(2, 'b'), () => {});
    d1();
    d1(); // ending twice frees one place, not two
    reg.open(caller(1, 'a'), () => {});
    expect(reg.counts()).toEqual({ '1': 2, '2': 1 });
    reg.closeAll();
  });
});
