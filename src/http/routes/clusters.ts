/**
 * Caller-facing cluster routes: the Kite cluster list and a kubeconfig that points kubectl at the
 * /k8s passthrough with the caller's own token.
 */
import type { Express, Request } from 'express';
import type { IndexEntry } from '../../index/types.js';
import { callerOf, canSee } from '../auth.js';
import type { ClusterDirectory } from '../deps.js';
import { findCluster } from '../select.js';

/** One element of GET /api/v1/clusters (Kite's shape plus `state`). */
export interface ClusterSummary {
  name: string;
  version: string;
  isDefault: boolean;
  /** Present only when the cluster is in the error state. */
  error?: string;
  state: IndexEntry['state'];
}

export function clusterSummary(e: IndexEntry): ClusterSummary {
  const s: ClusterSummary = { name: e.name, version: e.version, isDefault: e.isDefault, state: e.state };
  if (e.error) s.error = e.error;
  return s;
}

/** YAML double-quoted scalar (a JSON string is one). */
const q = (s: string) => JSON.stringify(s);

/** A kubeconfig whose server is this fleetgate's /k8s/NAME and whose user is `token`. */
export function passthroughKubeconfig(baseUrl: string, cluster: string, token: string): string {
  const server = `${baseUrl}/k8s/${encodeURIComponent(cluster)}`;
  const ctx = `fleetgate-${cluster}`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${q(ctx)}`,
    '  cluster:',
    `    server: ${q(server)}`,
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
  ].join('\n');
}

/** http(s)://host:port as the caller reached us. */
export function externalBaseUrl(req: Request): string {
  const host = req.headers.host ?? `${req.socket.localAddress}:${req.socket.localPort}`;
  return `${req.protocol}://${host}`;
}

export function registerClusterRoutes(app: Express, directory: ClusterDirectory): void {
  app.get('/api/v1/clusters', (_req, res) => {
    const caller = callerOf(res);
    const out: ClusterSummary[] = [];
    for (const e of directory.list()) {
      if (e.state === 'disabled' || !canSee(caller, e.name)) continue;
      out.push(clusterSummary(e));
    }
    res.json(out);
  });

  app.get('/api/v1/clusters/:name/kubeconfig', (req, res) => {
    const caller = callerOf(res);
    const name = req.params.name;
    // Existence and rights only: a kubeconfig for a cluster that is down right now is still useful.
    findCluster(directory, caller, name);
    const text = passthroughKubeconfig(externalBaseUrl(req), name, caller.token);
    res.setHeader('Content-Disposition', `attachment; filename="${name.replace(/[^\w.-]/g, '_')}.kubeconfig"`);
    res.type('application/yaml').send(text);
  });
}
