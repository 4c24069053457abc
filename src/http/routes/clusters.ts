/**
 * Caller-facing cluster routes: the Kite cluster list and a kubeconfig that points kubectl at the
 * /k8s passthrough with the caller's own token.
 */
import type { Express, Request } from 'express';
import type { IndexSummary } from '../../index/types.js';
import { callerOf, scopeOf } from '../auth.js';
import type { AppOptions, ClusterDirectory } from '../deps.js';
import { findCluster } from '../select.js';

/** One element of GET /api/v1/clusters (Kite's shape plus `state`). */
export interface ClusterSummary {
  name: string;
  version: string;
  isDefault: boolean;
  /** Present only when the cluster is in the error state. */
  error?: string;
  state: IndexSummary['state'];
  /** Not in Kite's shape; lets clients (and the load suite's verifier) tell revisions apart. */
  description: string;
  /** The cluster groups it is in (admin-defined; token scopes name them as group:NAME). */
  groups: readonly string[];
}

/**
 * This worker's decoded copy of the cluster summaries, refreshed whenever the index generation
 * has moved. A committed index is immutable until the next commit, which flips the active buffer
 * and bumps the generation word together under the write lock; so while the word still reads the
 * generation the copy was taken at, the copy is what a fresh read would return, already verified
 * (checksums) when it was copied out. The generation is read before the copy, so a commit that
 * lands during the copy only makes the next request copy again. Read-your-writes holds: an admin
 * write answers after its sync committed, i.e. after the word moved.
 *
 * Off unless enabled (AppOptions.snapshotSummaries): fleetgate's HTTP workers leave it off in every
 * lock mode, so each request reads shared memory under the lock and the load suite compares the
 * modes like for like (and sees, in `none`, the torn reads the lock prevents).
 */
export class SummarySnapshot {
  private gen = Number.NaN;
  private list: readonly IndexSummary[] = [];
  hits = 0;
  misses = 0;

  constructor(
    private readonly directory: ClusterDirectory,
    private readonly enabled: boolean,
  ) {}

  get(): readonly IndexSummary[] {
    if (!this.enabled) return this.directory.listSummary();
    const g = this.directory.generation();
    if (g === this.gen) {
      this.hits++;
      return this.list;
    }
    this.misses++;
    const list = this.directory.listSummary();
    this.list = list;
    this.gen = g;
    return list;
  }
}

export function clusterSummary(e: IndexSummary): ClusterSummary {
  const s: ClusterSummary = { name: e.name, version: e.version, isDefault: e.isDefault, state: e.state, description: e.description, groups: e.groups ?? [] };
  if (e.error) s.error = e.error;
  return s;
}

/** YAML double-quoted scalar (a JSON string is one). */
const q = (s: string) => JSON.stringify(s);

/**
 * A kubeconfig whose server is `baseUrl`/k8s/NAME and whose user is `token`, with the CA that
 * signed fleetgate's serving certificate when given.
 */
export function passthroughKubeconfig(baseUrl: string, cluster: string, token: string, caPem?: string): string {
  const server = `${baseUrl}/k8s/${encodeURIComponent(cluster)}`;
  const ctx = `fleetgate-${cluster}`;
  const lines = ['apiVersion: v1', 'kind: Config'];
  if (baseUrl.startsWith('http:')) {
    lines.push('# kubectl sends tokens only over TLS: serve fleetgate over HTTPS for kubectl to authenticate.');
  }
  lines.push('clusters:', `- name: ${q(ctx)}`, '  cluster:', `    server: ${q(server)}`);
  if (caPem && baseUrl.startsWith('https:')) lines.push(`    certificate-authority-data: ${q(Buffer.from(caPem).toString('base64'))}`);
  lines.push(
    'users:',
    `- name: ${q(ctx)}`,
    '  user:',
    `    token: ${q(token)}`,
    'contexts:',
    `- name: ${q(ctx)}`,
    '  context:',
    `    cluster: ${q(ctx)}`,
    `    user: ${q(ctx)}`,
    `current-context: ${q(ctx)}`,
    '',
  );
  return lines.join('\n');
}

/** The host name (without port) and port the caller used. */
function callerHost(req: Request): { hostname: string; port: string } {
  const host = req.headers.host ?? `${req.socket.localAddress}:${req.socket.localPort}`;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  return m ? { hostname: m[1]!, port: m[2] ?? '' } : { hostname: host, port: '' };
}

/**
 * Where kubectl should reach this fleetgate: the scheme, host and port the caller used, except
 * that a plain-HTTP caller is sent to the HTTPS port when one is configured.
 */
export function externalBaseUrl(req: Request, tls: AppOptions['publicTls']): string {
  const { hostname, port } = callerHost(req);
  if (req.protocol === 'https' || !tls) return `${req.protocol}://${hostname}${port ? ':' + port : ''}`;
  const tlsPort = typeof tls.port === 'function' ? tls.port() : tls.port;
  if (!tlsPort) return `${req.protocol}://${hostname}${port ? ':' + port : ''}`;
  return `https://${hostname}${tlsPort === 443 ? '' : ':' + tlsPort}`;
}

export function registerClusterRoutes(
  app: Express,
  directory: ClusterDirectory,
  tls?: AppOptions['publicTls'],
  summaries: SummarySnapshot = new SummarySnapshot(directory, false),
  externalUrl?: string,
): void {
  app.get('/api/v1/clusters', (_req, res) => {
    const scope = scopeOf(callerOf(res));
    const out: ClusterSummary[] = [];
    const list = summaries.get();
    for (let k = 0; k < list.length; k++) {
      const e = list[k]!;
      if (e.state === 'disabled' || !scope.admitsAt(k, e)) continue;
      out.push(clusterSummary(e));
    }
    res.json(out);
  });

  app.get('/api/v1/clusters/:name/kubeconfig', (req, res) => {
    const caller = callerOf(res);
    const name = req.params.name;
    // Existence and rights only: a kubeconfig for a cluster that is down right now is still useful.
    findCluster(directory, caller, name);
    // --external-url when set: the Host header is the caller's to choose, and a kubeconfig built
    // from it could send the token wherever a crafted link or a confused proxy points.
    const text = passthroughKubeconfig(externalUrl ?? externalBaseUrl(req, tls), name, caller.token, tls?.caPem);
    // It carries the caller's token: no cache (browser, proxy) may keep a copy.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Disposition', `attachment; filename="${name.replace(/[^\w.-]/g, '_')}.kubeconfig"`);
    res.type('application/yaml').send(text);
  });
}
