import { describe, expect, it } from 'vitest';
import { splitK8sUrl } from '../../src/http/k8s-fast-path.js';
import { SummarySnapshot } from '../../src/http/routes/clusters.js';
import type { ClusterDirectory } from '../../src/http/deps.js';

describe('splitK8sUrl', () => {
  it('splits the cluster name from the rest of the path and keeps the query', () => {
    expect(splitK8sUrl('/k8s/alpha/api/v1/pods?limit=5')).toEqual({ name: 'alpha', path: '/api/v1/pods?limit=5' });
    expect(splitK8sUrl('/k8s/alpha?watch=1')).toEqual({ name: 'alpha', path: '/?watch=1' });
    expect(splitK8sUrl('/k8s/alpha')).toEqual({ name: 'alpha', path: '/' });
    expect(splitK8sUrl('/k8s/a%2Db/api')).toEqual({ name: 'a-b', path: '/api' });
  });

  it('leaves what it does not recognise to Express', () => {
    expect(splitK8sUrl('/api/v1/pods')).toBeUndefined();
    expect(splitK8sUrl('/k8s/')).toBeUndefined();
    expect(splitK8sUrl('/k8s/%E0%A4%A/api')).toBeUndefined();
  });
});

describe('SummarySnapshot', () => {
  function directory() {
    let gen = 1;
    let reads = 0;
    const d = {
      generation: () => gen,
      listSummary: () => {
        reads++;
        return [{ name: `c${gen}` }];
      },
    } as unknown as ClusterDirectory;
    return { d, bump: () => gen++, reads: () => reads };
  }

  it('reads shared memory on every call when disabled', () => {
    const w = directory();
    const s = new SummarySnapshot(w.d, false);
    s.get();
    s.get();
    expect(w.reads()).toBe(2);
  });

  it('when enabled, re-reads only after the index generation moves', () => {
    const w = directory();
    const s = new SummarySnapshot(w.d, true);
    expect(s.get()[0]!.name).toBe('c1');
    s.get();
    expect(w.reads()).toBe(1);
    w.bump();
    expect(s.get()[0]!.name).toBe('c2');
    expect(w.reads()).toBe(2);
    expect([s.hits, s.misses]).toEqual([1, 2]);
  });
});
