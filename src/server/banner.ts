/**
 * The lines `fleetgate serve` prints once it listens: where the admin token is, the URL to
 * open, and one command that works as printed (from the directory the server was started in).
 * Secrets never appear here: the token is named by its file or its variable, not shown.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { kAdminTokenFile } from '../store/tokens.js';

export interface BannerInput {
  host: string;
  port: number;
  dataDir: string;
  /** The admin token came from FLEETGATE_ADMIN_TOKEN. */
  envToken: boolean;
  /** A registered cluster to name in the example, if any. */
  exampleCluster?: string;
}

/** A path as the user would type it: relative to the working directory when under it. */
function shownPath(path: string, cwd: string): string {
  const rel = isAbsolute(path) ? relative(cwd, path) : path;
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.replace(/^\.\//, '') : path;
}

export function startupHints(b: BannerInput, cwd = process.cwd()): string[] {
  const host = b.host === '0.0.0.0' || b.host === '::' ? '127.0.0.1' : b.host.includes(':') ? `[${b.host}]` : b.host;
  const url = `http://${host}:${b.port}`;
  const tokenFile = join(b.dataDir, kAdminTokenFile);
  const fileThere = existsSync(tokenFile);
  const where = fileThere ? shownPath(tokenFile, cwd) : undefined;
  const tokenExpr = b.envToken || !where ? '$FLEETGATE_ADMIN_TOKEN' : `$(cat ${where})`;
  const lines = [
    b.envToken
      ? 'fleetgate: admin token: the value of FLEETGATE_ADMIN_TOKEN'
      : where
        ? `fleetgate: admin token: in ${where} (mode 0600)`
        : `fleetgate: admin token: ${shownPath(tokenFile, cwd)} is gone (it was shown once at first start); set FLEETGATE_ADMIN_TOKEN to add one of your choosing`,
    `fleetgate: open ${url}/api/v1/clusters with the header "Authorization: Bearer <admin token>"`,
    `fleetgate: try: curl -H "Authorization: Bearer ${tokenExpr}" ${url}/api/v1/clusters`,
  ];
  if (b.exampleCluster) {
    lines.push(`fleetgate: kubectl: curl -H "Authorization: Bearer ${tokenExpr}" ${url}/api/v1/clusters/${b.exampleCluster}/kubeconfig > kc && kubectl --kubeconfig kc get pods -A`);
  }
  return lines;
}
