/**
 * A small fake of fleetgate's HTTP surface for the load suite's own tests: admin writes in memory,
 * an "index" snapshot committed on every write and sync request, the cluster list, overview,
 * resource lists and passthrough answered from that snapshot, and /metrics. Every
 * `corruptEvery`-th read answer is spoilt as `mode` says: `corrupt` breaks its data in a rotating
 * way (torn-looking answers), `error500` answers 500 with a JSON body, `notfound` 404, `truncated`
 * a 200 whose JSON is cut short.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { SimControl } from '../../load/churn.js';

interface Row {
  id: number;
  name: string;
  description: string;
  /** Simulated cluster the kubeconfig points at ('' for a dead one). */
  sim: string;
  enabled: boolean;
  isDefault: boolean;
}

interface Entry {
  name: string;
  description: string;
  version: string;
  isDefault: boolean;
  state: string;
  sim: string;
}

export type FakeMode = 'clean' | 'corrupt' | 'error500' | 'notfound' | 'truncated';

export interface FakeOptions {
  token: string;
  mode?: FakeMode;
  corruptEvery?: number;
}

export interface FakeFleetgate {
  url: string;
  commits: number;
  /** Commits whose index differs from the previous one. */
  contentCommits: number;
  reads: number;
  sim: SimControl & { versions: Map<string, string>; tokens: Map<string, string> };
  close(): Promise<void>;
}

function simOf(config: unknown): string {
  try {
    const doc = JSON.parse(String(config)) as { 'current-context'?: string; users?: { user?: { token?: string } }[] };
    return doc['current-context'] ?? '';
  } catch {
    return '';
  }
}

export async function startFakeFleetgate(o: FakeOptions): Promise<FakeFleetgate> {
  const rows = new Map<number, Row>();
  let nextId = 1;
  let index: Entry[] = [];
  let previous: Entry[] = [];
  const versions = new Map<string, string>();
  const tokens = new Map<string, string>();
  let readCount = 0;
  const holds: number[] = [];
  const buckets = [1, 5, 10, 50, 100];

  const fake: FakeFleetgate = {
    url: '',
    commits: 0,
    contentCommits: 0,
    reads: 0,
    sim: {
      versions,
      tokens,
      async setVersion(sim, v) {
        versions.set(sim, v);
      },
      async rotateToken(sim) {
        const t = `tok-${Math.random().toString(16).slice(2)}`;
        tokens.set(sim, t);
        return t;
      },
    },
    close: async () => {},
  };

  const commit = () => {
    previous = index;
    index = [...rows.values()]
      .map((r) => ({
        name: r.name,
        description: r.description,
        version: r.sim ? (versions.get(r.sim) ?? '') : '',
        isDefault: r.isDefault,
        state: !r.enabled ? 'disabled' : r.sim ? 'ok' : 'error',
        sim: r.sim,
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    fake.commits++;
    if (JSON.stringify(index) !== JSON.stringify(previous)) fake.contentCommits++;
    holds.push(Math.random() * 20);
  };

  /** Which corruption this read gets, or undefined for a clean answer. */
  const corruption = (): number | undefined => {
    readCount++;
    fake.reads = readCount;
    if ((o.mode ?? 'clean') === 'clean') return undefined;
    const every = o.corruptEvery ?? 10;
    if (readCount % every !== 0) return undefined;
    return (readCount / every) % 5;
  };

  const app = express();
  app.use(express.json({ limit: '2mb' }));
  app.get('/metrics', (_req, res) => {
    const lines = [`fleetgate_index_commits_total ${fake.commits}`, `fleetgate_index_content_commits_total ${fake.contentCommits}`, 'fleetgate_torn_reads_total{thread="1"} 0'];
    for (const le of buckets) lines.push(`fleetgate_commit_hold_microseconds_bucket{le="${le}"} ${holds.filter((h) => h <= le).length}`);
    lines.push(`fleetgate_commit_hold_microseconds_bucket{le="+Inf"} ${holds.length}`);
    lines.push(`fleetgate_commit_hold_microseconds_count ${holds.length}`);
    res.type('text/plain').send(lines.join('\n') + '\n');
  });
  app.use(['/api', '/k8s'], (req, res, next) => {
    if (req.headers.authorization !== `Bearer ${o.token}`) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    next();
  });
  // The error modes spoil whole answers of the read routes; `corrupt` spoils their data below.
  const spoilt = (res: express.Response): boolean => {
    if (o.mode !== 'error500' && o.mode !== 'notfound' && o.mode !== 'truncated') return false;
    if (corruption() === undefined) return false;
    if (o.mode === 'error500') res.status(500).json({ error: 'internal error' });
    else if (o.mode === 'notfound') res.status(404).json({ error: 'cluster not found' });
    else res.type('application/json').send(JSON.stringify(index.map(({ sim: _s, ...e }) => e)).slice(0, 40));
    return true;
  };
  // The suite's setup (target mode) reads the cluster list first: that read is always clean.
  let setupRead = true;
  app.get(['/api/v1/clusters', '/api/v1/overview', '/api/v1/:resource', '/k8s/:cluster/api/v1/namespaces'], (_req, res, next) => {
    if (setupRead) setupRead = false;
    else if (spoilt(res)) return;
    next();
  });
  /** Which data corruption this read gets (mode `corrupt` only). */
  const tear = () => (o.mode === 'corrupt' ? corruption() : undefined);
  app.post('/api/v1/admin/sync', (_req, res) => {
    setImmediate(commit);
    res.status(202).json({ requested: true });
  });
  app.get('/api/v1/admin/clusters', (_req, res) => {
    res.json([...rows.values()]);
  });
  app.post('/api/v1/admin/clusters', (req, res) => {
    const b = req.body as Record<string, unknown>;
    if ([...rows.values()].some((r) => r.name === b.name)) {
      res.status(409).json({ error: 'exists' });
      return;
    }
    const row: Row = {
      id: nextId++,
      name: String(b.name),
      description: String(b.description ?? ''),
      sim: simOf(b.config),
      enabled: b.enabled !== false,
      isDefault: false,
    };
    if (b.isDefault === true) for (const r of rows.values()) r.isDefault = false;
    row.isDefault = b.isDefault === true;
    rows.set(row.id, row);
    commit();
    res.status(201).json(row);
  });
  app.put('/api/v1/admin/clusters/:id', (req, res) => {
    const row = rows.get(Number(req.params.id));
    if (!row) {
      res.status(404).json({ error: 'no such cluster' });
      return;
    }
    const b = req.body as Record<string, unknown>;
    if (typeof b.name === 'string') row.name = b.name;
    if (typeof b.description === 'string') row.description = b.description;
    if (b.config !== undefined) row.sim = simOf(b.config);
    if (typeof b.enabled === 'boolean') row.enabled = b.enabled;
    if (b.isDefault === true) {
      for (const r of rows.values()) r.isDefault = false;
      row.isDefault = true;
    }
    commit();
    res.json(row);
  });
  app.delete('/api/v1/admin/clusters/:id', (req, res) => {
    const row = rows.get(Number(req.params.id));
    if (!row) {
      res.status(404).json({ error: 'no such cluster' });
      return;
    }
    if (row.isDefault) {
      res.status(400).json({ error: 'cannot delete the default cluster' });
      return;
    }
    rows.delete(row.id);
    commit();
    res.status(204).end();
  });
  app.get('/api/v1/clusters', (_req, res) => {
    const list = index.filter((e) => e.state !== 'disabled').map(({ sim: _s, ...e }) => e);
    switch (tear()) {
      case 0: {
        // Fields of two revisions: this entry's name with the previous index's description at that slot.
        const i = list.findIndex((e) => previous.some((p) => p.description !== e.description));
        const old = previous.find((p) => p.description !== list[i]?.description);
        if (list[i] && old) list[i] = { ...list[i], description: old.description };
        else list.reverse();
        break;
      }
      case 1:
        list.reverse();
        list.push(list[0]!, list[0]!);
        break;
      case 2:
        res.type('application/json').send(JSON.stringify(list).slice(0, 40));
        return;
      case 3:
        if (list[0]) list[0] = { ...list[0], name: list[0].name + 'x' };
        break;
      case 4:
        if (list[0]) list[0] = { ...list[0], version: 'v0.0.0-torn' };
        break;
    }
    res.json(list);
  });
  const entryFor = (name: string) => index.find((e) => e.name === name);
  const items = (name: string) => {
    const e = entryFor(name)!;
    let sim = e.sim;
    if (tear() !== undefined) sim = index.find((x) => x.sim && x.sim !== e.sim)?.sim ?? 'elsewhere';
    return [0, 1, 2].map((i) => ({ metadata: { name: `obj-${i}`, annotations: { 'fleetgate.dev/cluster': sim } } }));
  };
  app.get('/api/v1/overview', (req, res) => {
    const name = String(req.headers['x-cluster-name'] ?? '');
    const e = entryFor(name);
    if (!e) {
      res.status(404).json({ error: `cluster ${name} not found` });
      return;
    }
    const c = tear();
    res.json({ cluster: c === undefined ? e.name : e.name + '-other', version: e.version, totalNodes: 3, readyNodes: 3, totalPods: 9, runningPods: 9, totalNamespaces: 3, totalServices: 2, prometheusEnabled: false });
  });
  app.get('/api/v1/:resource', (req, res) => {
    const name = String(req.headers['x-cluster-name'] ?? '');
    if (!entryFor(name)) {
      res.status(404).json({ error: `cluster ${name} not found` });
      return;
    }
    res.json({ kind: 'List', items: items(name) });
  });
  app.get('/k8s/:cluster/api/v1/namespaces', (req, res) => {
    if (!entryFor(req.params.cluster)) {
      res.status(404).json({ error: 'not found' });
      return;
    }
    res.json({ kind: 'NamespaceList', apiVersion: 'v1', items: items(req.params.cluster) });
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

/** A one-context kubeconfig naming simulated cluster `sim` (the fake reads current-context). */
export function fakeKubeconfig(sim: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: sim, cluster: { server: 'https://127.0.0.1:1' } }],
    users: [{ name: sim, user: { token: 'x' } }],
    contexts: [{ name: sim, context: { cluster: sim, user: sim } }],
    'current-context': sim,
  });
}
