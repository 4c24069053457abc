/**
 * Reads: list (selectors, limit and continue, Table), watch (watch.ts streams it), get, and a
 * pod's log (a few fixed lines; follow adds one a second).
 */
import { parseFieldSelector, parseLabelSelector } from '../selectors.js';
import { entryKey, type Entry } from '../store.js';
import { tableJson } from '../table.js';
import { serveWatch } from '../watch.js';
import { HttpError, notFound } from './errors.js';
import { send, kTableType, wantsTable } from './respond.js';
import type { Call } from './route.js';

interface ContinueToken {
  k: string;
  rv: number;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString());
    if (typeof t.k === 'string' && typeof t.rv === 'number') return t;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'BadRequest', 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

function firstAfter(entries: Entry[], key: string): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid].key <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function list(c: Call): void {
  const { rt, store, coll, route, query, req, res } = c;
  const def = route.def;
  const labelSel = parseLabelSelector(query.get('labelSelector'));
  const fieldSel = parseFieldSelector(query.get('fieldSelector'), def.fields);
  const limitRaw = query.get('limit');
  const limit = limitRaw ? parseInt(limitRaw, 10) : 0;
  const cont = query.get('continue');
  const table = wantsTable(req);
  const head = (rv: number, extra = '') => `{"kind":"${def.kind}List","apiVersion":"${def.groupVersion}","metadata":{"resourceVersion":"${rv}"${extra}},"items":[`;
  if (!labelSel.length && !fieldSel.length && !(limit > 0) && !cont && !table) {
    send(rt, res, 200, head(store.rv) + coll.itemsJson(route.namespace) + ']}');
    return;
  }
  let listRv = store.rv;
  let entries = store.select(coll, route.namespace, labelSel, fieldSel);
  let start = 0;
  if (cont) {
    const t = decodeContinue(cont);
    listRv = t.rv;
    start = firstAfter(entries, t.k);
  }
  let end = entries.length;
  let continueToken: string | undefined;
  let remaining: number | undefined;
  if (limit > 0 && start + limit < entries.length) {
    end = start + limit;
    continueToken = encodeContinue({ k: entries[end - 1].key, rv: listRv });
    if (!labelSel.length && !fieldSel.length) remaining = entries.length - end;
  }
  entries = start === 0 && end === entries.length ? entries : entries.slice(start, end);
  if (table) {
    send(
      rt,
      res,
      200,
      tableJson(
        def,
        entries.map((e) => JSON.parse(e.json)),
        { includeObject: query.get('includeObject'), resourceVersion: String(listRv), continueToken, remainingItemCount: remaining },
        ),
      kTableType,
    );
    return;
  }
  let extra = '';
  if (continueToken) extra += `,"continue":"${continueToken}"`;
  if (remaining !== undefined) extra += `,"remainingItemCount":${remaining}`;
  send(rt, res, 200, head(listRv, extra) + entries.map((e) => e.json).join(',') + ']}');
}

export function watch(c: Call): void {
  const { rt, store, coll, route, query, res } = c;
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fields = parseFieldSelector(query.get('fieldSelector'), route.def.fields);
  serveWatch(store, coll, { cluster: rt.name, def: route.def, namespace: route.namespace, labels, fields, query }, res);
}

export function get(c: Call): void {
  const { rt, store, coll, route, query, req, res } = c;
  const e = coll.byKey.get(entryKey(route.def, route.namespace, route.name));
  if (!e) throw notFound(route.def, route.name);
  if (route.sub === 'log') {
    const o = JSON.parse(e.json);
    const container = query.get('container') ?? o.spec?.containers?.[0]?.name ?? 'main';
    const lines: string[] = [];
    for (let i = 0; i < 10; i++) lines.push(`2025-01-01T00:00:0${i}Z INFO ${container} line ${i + 1} from ${rt.name}/${route.namespace}/${route.name}`);
    const tail = parseInt(query.get('tailLines') ?? '', 10);
    const text = (tail >= 0 ? lines.slice(Math.max(0, lines.length - tail)) : lines).join('\n') + '\n';
    const follow = query.get('follow');
    if (follow !== 'true' && follow !== '1') {
      send(rt, res, 200, text, 'text/plain');
      return;
    }
    // Follow: the lines so far, then one more a second until the client leaves.
    res.writeHead(200, ['Content-Type', 'text/plain', 'Cache-Control', 'no-cache, private', 'X-Fleetgate-Cluster', rt.name, 'Transfer-Encoding', 'chunked']);
    res.write(text);
    let n = lines.length;
    const timer = setInterval(() => res.write(`2025-01-01T00:01:${String(n % 60).padStart(2, '0')}Z INFO ${container} line ${++n} from ${rt.name}/${route.namespace}/${route.name}\n`), 1000);
    timer.unref();
    res.on('close', () => clearInterval(timer));
    return;
  }
  if (wantsTable(req)) {
    send(rt, res, 200, tableJson(route.def, [JSON.parse(e.json)], { includeObject: query.get('includeObject'), resourceVersion: String(store.rv) }), kTableType);
    return;
  }
  send(rt, res, 200, e.json);
}
