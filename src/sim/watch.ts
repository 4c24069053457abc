/**
 * Watches as the API server serves them (what informers and watch clients rely on):
 *
 *   resourceVersion      sendInitialEvents  what the stream starts with
 *   unset or "0"         unset              a synthetic ADDED per existing object, then changes
 *   unset                false              changes from now
 *   any                  true               ADDED per existing object, then a BOOKMARK annotated
 *                                           k8s.io/initial-events-end=true, then changes
 *   R (kept)             unset/false        the events after R that it missed, then changes
 *   R (older than kept)  -                  one ERROR event carrying a 410 Expired Status, then
 *                                           the end of the stream (the API server also answers
 *                                           200 and puts the 410 in the event); clients relist
 *
 * With allowWatchBookmarks=true a BOOKMARK (only metadata.resourceVersion) goes out every
 * kBookmarkMs and once more just before the server ends the watch at timeoutSeconds, so a
 * client can resume from a recent version. Events are newline-delimited JSON.
 */
import type { ServerResponse } from 'node:http';
import type { ResourceDef } from './resources.js';
import { matchFields, matchLabels, type FieldSelector, type LabelSelector } from './selectors.js';
import type { ClusterStore, Collection, Entry, WatchEventType } from './store.js';

/** How often an idle watch that allows bookmarks gets one (the API server: about a minute). */
export const kBookmarkMs = 30_000;

export interface WatchRequest {
  cluster: string;
  def: ResourceDef;
  /** '' = all namespaces. */
  namespace: string;
  labels: LabelSelector;
  fields: FieldSelector;
  query: URLSearchParams;
}

function bookmark(def: ResourceDef, rv: number, initialEnd = false): string {
  const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
  if (initialEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
  return JSON.stringify({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: def.groupVersion, metadata } }) + '\n';
}

function expired(rv: string, floor: number): string {
  const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${rv} (${floor})`, reason: 'Expired', code: 410 };
  return JSON.stringify({ type: 'ERROR', object: status }) + '\n';
}

/** Streams a watch on `res`, whose headers the caller has not sent yet. */
export function serveWatch(store: ClusterStore, coll: Collection, w: WatchRequest, res: ServerResponse): void {
  const ns = w.def.namespaced ? w.namespace : '';
  const matches = (e: Entry) => (!ns || e.namespace === ns) && matchLabels(w.labels, e.labels) && matchFields(w.fields, e.fields);
  const on = (k: string) => w.query.get(k) === 'true' || w.query.get(k) === '1';
  const bookmarks = on('allowWatchBookmarks');
  const rvParam = w.query.get('resourceVersion') ?? '';
  const initial = w.query.get('sendInitialEvents');

  res.writeHead(200, ['Content-Type', 'application/json', 'Cache-Control', 'no-cache, private', 'X-Fleetgate-Cluster', w.cluster, 'Transfer-Encoding', 'chunked']);
  // As the API server does: the status goes out now, not with the first event, which may be
  // minutes away (a watch from a resourceVersion sends nothing until something changes).
  res.flushHeaders();

  const event = (type: WatchEventType, e: Entry) => `{"type":"${type}","object":${e.json}}\n`;
  if (initial === 'true' || ((rvParam === '' || rvParam === '0') && initial !== 'false')) {
    for (const e of store.select(coll, ns, w.labels, w.fields)) res.write(event('ADDED', e));
    if (initial === 'true' && bookmarks) res.write(bookmark(w.def, store.rv, true));
  } else if (rvParam !== '' && rvParam !== '0') {
    const from = Number(rvParam);
    if (!Number.isSafeInteger(from) || from < 0) {
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `invalid resource version: ${rvParam}`, reason: 'BadRequest', code: 400 } }) + '\n');
      return;
    }
    const missed = coll.eventsSince(from);
    if (!missed) {
      res.end(expired(rvParam, coll.floorRv));
      return;
    }
    for (const m of missed) if (matches(m.entry)) res.write(event(m.type, m.entry));
  }

  const listener = (type: WatchEventType, e: Entry) => {
    if (matches(e)) res.write(event(type, e));
  };
  coll.watchers.add(listener);
  const ticker = bookmarks ? setInterval(() => res.write(bookmark(w.def, store.rv)), kBookmarkMs) : undefined;
  ticker?.unref();
  const timeout = Math.min(Math.max(parseInt(w.query.get('timeoutSeconds') ?? '', 10) || 1800, 1), 3600);
  const timer = setTimeout(() => {
    if (bookmarks) res.write(bookmark(w.def, store.rv));
    res.end();
  }, timeout * 1000);
  timer.unref();
  res.on('close', () => {
    clearTimeout(timer);
    clearInterval(ticker);
    coll.watchers.delete(listener);
  });
}
