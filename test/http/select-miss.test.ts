// An unknown cluster name costs no more than a hit: the 404 never decodes index entries (and
// their credentials) just to choose its message.
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/util/http-error.js';
import { findCluster, kNoClustersMessage } from '../../src/http/select.js';
import { IndexReader, IndexWriter } from '../../src/index/index.js';
import { RwLock } from '../../src/lock/index.js';
import { createSharedRegion } from '../../src/shm/layout.js';
import { makeEntry } from '../workers/fixtures.js';

const caller = { record: { id: 1, name: 'admin', role: 'admin' as const, clusters: null, createdAt: 0 }, token: 't' };

function setup() {
  const sab = createSharedRegion();
  const writer = new IndexWriter(sab, RwLock.attach(sab, { threadId: 600 }));
  const reader = new IndexReader(sab, RwLock.attach(sab, { threadId: 601 }));
  const decoded: string[] = [];
  // The directory the app gets, with every whole-index read recorded.
  const directory = {
    lookup: (n: string) => reader.lookup(n),
    lookupHead: (n: string) => reader.lookupHead(n),
    lookupDefaultHead: () => reader.lookupDefaultHead(),
    generation: () => reader.generation(),
    isReady: () => reader.isReady(),
    count: () => reader.count(),
    list: () => (decoded.push('list'), reader.list()),
    listSummary: () => (decoded.push('listSummary'), reader.listSummary()),
  };
  return { writer, directory, decoded };
}

function status(fn: () => unknown): [number, string] {
  try {
    fn();
  } catch (e) {
    return [(e as HttpError).status, (e as HttpError).message];
  }
  return [200, ''];
}

describe('findCluster on a miss', () => {
  it('404 without listing the index, with either message', () => {
    const { writer, directory, decoded } = setup();
    writer.publish([]);
    expect(status(() => findCluster(directory, caller, 'nope'))).toEqual([404, kNoClustersMessage]);
    writer.publish([0, 1, 2].map((i) => makeEntry(i, 'g1')));
    expect(status(() => findCluster(directory, caller, 'nope'))).toEqual([404, 'cluster "nope" not found']);
    expect(findCluster(directory, caller, makeEntry(1, 'g1').name).name).toBe(makeEntry(1, 'g1').name);
    expect(decoded).toEqual([]);
  });
});
