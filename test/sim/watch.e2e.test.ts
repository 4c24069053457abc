/**
 * Watch semantics through fleetgate's /k8s passthrough, checked with a small watch client written
 * against the API's documented behaviour (not kubectl, which lists first and so never relies on
 * them): initial ADDED events without a resourceVersion or with "0", replay of missed events
 * from a kept resourceVersion, an Expired (410) Status for one older than kept, BOOKMARK events,
 * and sendInitialEvents' end-of-initial-events bookmark.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { kWatchWindow } from '../../src/sim/store.js';
import { startServer, type ServerHandle } from '../helpers/server.js';

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: { kind?: string; code?: number; reason?: string; metadata: { name?: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> } };
}

let sim: Simulator;
let server: ServerHandle;
let dir: string;
let api: string;

/**
 * An open watch: events are read as they arrive. next(n) waits for n more, ended() for the end
 * of the stream (the server's timeoutSeconds, or an ERROR it closes after).
 */
async function openWatch(path: string) {
  const ctl = new AbortController();
  const res = await fetch(api + path, { headers: { authorization: `Bearer ${server.token}` }, signal: ctl.signal });
  expect(res.status, path).toBe(200);
  const events: WatchEvent[] = [];
  let waiter: (() => void) | undefined;
  let done = false;
  const pump = (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) events.push(JSON.parse(line));
        }
        waiter?.();
      }
    } catch (e) {
      if (!ctl.signal.aborted) throw e;
    } finally {
      done = true;
      waiter?.();
    }
  })();
  let read = 0;
  return {
    events,
    /** The next n events (waits for them; fails if the stream ends first). */
    async next(n: number): Promise<WatchEvent[]> {
      while (events.length < read + n) {
        if (done) throw new Error(`watch ended after ${events.length} events, wanted ${read + n}: ${JSON.stringify(events.slice(read))}`);
        await new Promise<void>((r) => (waiter = r));
      }
      const out = events.slice(read, read + n);
      read += n;
      return out;
    },
    async ended(): Promise<WatchEvent[]> {
      await pump;
      return events.slice(read);
    },
    close: () => ctl.abort(),
  };
}

const send = (method: string, path: string, body?: unknown, type = 'application/json') =>
  fetch(api + path, { method, headers: { authorization: `Bearer ${server.token}`, 'content-type': type }, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));

beforeAll(async () => {
  sim = await startSimulator({ clusters: 1, podsPerCluster: 15 });
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-watch-'));
  const kc = join(dir, 'sim.kubeconfig');
  writeFileSync(kc, sim.kubeconfig(), { mode: 0o600 });
  server = await startServer(['--kubeconfig', kc, '--workers', '1']);
  expect((await server.send('POST', '/api/v1/admin/sync?wait=true')).status).toBe(200);
  api = `${server.url}/k8s/${sim.clusters[0]!.name}`;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('watch semantics through /k8s', () => {
  for (const rv of ['', '&resourceVersion=0']) {
    it(`a watch ${rv ? 'from resourceVersion "0"' : 'without a resourceVersion'} starts with an ADDED event per existing object, then live changes`, async () => {
      const list = await send('GET', '/api/v1/pods');
      const names = list.json.items.map((p: { metadata: { namespace: string; name: string } }) => `${p.metadata.namespace}/${p.metadata.name}`).sort();
      expect(names.length).toBeGreaterThan(10);
      const w = await openWatch(`/api/v1/pods?watch=true${rv}`);
      try {
        const initial = await w.next(names.length);
        expect(initial.every((e) => e.type === 'ADDED')).toBe(true);
        expect(initial.map((e) => `${e.object.metadata.namespace}/${e.object.metadata.name}`).sort()).toEqual(names);
        const cm = `live-${rv ? 'zero' : 'unset'}`;
        const created = await send('POST', '/api/v1/namespaces/default/pods', { metadata: { name: cm }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
        expect(created.status).toBe(201);
        const [added] = await w.next(1);
        expect(added).toMatchObject({ type: 'ADDED', object: { metadata: { name: cm, resourceVersion: created.json.metadata.resourceVersion } } });
        expect((await send('DELETE', `/api/v1/namespaces/default/pods/${cm}`)).status).toBe(200);
        const [deleted] = await w.next(1);
        expect(deleted!.type).toBe('DELETED');
        // A deletion is a change: its event carries a newer resourceVersion than the object had.
        expect(Number(deleted!.object.metadata.resourceVersion)).toBeGreaterThan(Number(created.json.metadata.resourceVersion));
      } finally {
        w.close();
      }
    });
  }

  it('a watch from a kept resourceVersion replays what happened since, in order', async () => {
    const list = await send('GET', '/api/v1/namespaces/default/configmaps');
    const from = list.json.metadata.resourceVersion;
    expect((await send('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'replayed' }, data: { v: '1' } })).status).toBe(201);
    expect((await send('PATCH', '/api/v1/namespaces/default/configmaps/replayed', { data: { v: '2' } }, 'application/merge-patch+json')).status).toBe(200);
    expect((await send('DELETE', '/api/v1/namespaces/default/configmaps/replayed')).status).toBe(200);
    const w = await openWatch(`/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${from}`);
    try {
      const replay = await w.next(3);
      expect(replay.map((e) => [e.type, e.object.metadata.name])).toEqual([
        ['ADDED', 'replayed'],
        ['MODIFIED', 'replayed'],
        ['DELETED', 'replayed'],
      ]);
      const rvs = replay.map((e) => Number(e.object.metadata.resourceVersion));
      expect(rvs[0]).toBeGreaterThan(Number(from));
      expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    } finally {
      w.close();
    }
    // From the current version there is nothing to replay: the next event is the next change.
    const now = (await send('GET', '/api/v1/namespaces/default/configmaps')).json.metadata.resourceVersion;
    const w2 = await openWatch(`/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${now}`);
    try {
      expect((await send('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'after' } })).status).toBe(201);
      expect((await w2.next(1)).map((e) => [e.type, e.object.metadata.name])).toEqual([['ADDED', 'after']]);
    } finally {
      w2.close();
    }
  });

  it('a resourceVersion older than the simulator keeps gets an Expired (410) Status and the stream ends; a relist recovers', async () => {
    const old = (await send('GET', '/api/v1/namespaces/default/configmaps')).json.metadata.resourceVersion;
    expect((await send('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'churn' }, data: { n: '0' } })).status).toBe(201);
    for (let i = 1; i <= kWatchWindow; i++) {
      expect((await send('PATCH', '/api/v1/namespaces/default/configmaps/churn', { data: { n: String(i) } }, 'application/merge-patch+json')).status).toBe(200);
    }
    const w = await openWatch(`/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${old}`);
    const events = await w.ended();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    // What an informer does next: list, then watch from the list's version.
    const relist = await send('GET', '/api/v1/namespaces/default/configmaps');
    expect(relist.json.items.find((c: { metadata: { name: string } }) => c.metadata.name === 'churn').data).toEqual({ n: String(kWatchWindow) });
    const w2 = await openWatch(`/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${relist.json.metadata.resourceVersion}`);
    try {
      expect((await send('DELETE', '/api/v1/namespaces/default/configmaps/churn')).status).toBe(200);
      expect((await w2.next(1)).map((e) => [e.type, e.object.metadata.name])).toEqual([['DELETED', 'churn']]);
    } finally {
      w2.close();
    }
  });

  it('allowWatchBookmarks: a BOOKMARK with the current resourceVersion before the server ends the watch', async () => {
    const list = await send('GET', '/api/v1/namespaces/default/configmaps');
    const w = await openWatch(`/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=${list.json.metadata.resourceVersion}`);
    const events = await w.ended();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'BOOKMARK', object: { kind: 'ConfigMap', metadata: { resourceVersion: list.json.metadata.resourceVersion } } });
    // Without allowWatchBookmarks the same watch ends with no event at all.
    const plain = await openWatch(`/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&resourceVersion=${list.json.metadata.resourceVersion}`);
    expect(await plain.ended()).toEqual([]);
  });

  it('sendInitialEvents=true: ADDED per object, then a BOOKMARK marking the end of the initial events', async () => {
    const list = await send('GET', '/api/v1/namespaces/kube-system/pods');
    const n = list.json.items.length;
    expect(n).toBeGreaterThan(0);
    const w = await openWatch('/api/v1/namespaces/kube-system/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true');
    try {
      const events = await w.next(n + 1);
      expect(events.slice(0, n).every((e) => e.type === 'ADDED')).toBe(true);
      expect(events[n]).toMatchObject({ type: 'BOOKMARK', object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
      expect(Number(events[n]!.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(list.json.metadata.resourceVersion));
    } finally {
      w.close();
    }
  });
});
