/**
 * Several fleetgate replicas (separate `fleetgate serve` processes, own data directories and
 * ports) on one throwaway PostgreSQL, and one `fleetgate sim` process as their clusters.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/paths.js';
import { startServer, type ServerHandle } from '../helpers/server.js';

export const kSharedKey = 'c0ffee'.repeat(10) + 'c0ffee'.slice(0, 4);
export const kSharedAdmin = 'fg_replicas_admin_' + randomBytes(16).toString('hex');

export interface SimProcess {
  kubeconfig: string;
  controlUrl: string;
  child: ChildProcess;
  dir: string;
  stop(): Promise<void>;
}

export async function startSim(clusters: number, extra: string[] = []): Promise<SimProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'fg-replicas-sim-'));
  const out = join(dir, 'kubeconfig');
  const info = join(dir, 'info.json');
  const child = spawn(process.execPath, [join(packageRoot, 'bin', 'fleetgate.js'), 'sim', '--clusters', String(clusters), '--out', out, '--info', info, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // "N cluster(s) ready" is printed after the info file is written.
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d;
      if (output.includes('cluster(s) ready')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`fleetgate sim exited with ${code}; output:\n${output}`)));
  });
  const meta = JSON.parse(readFileSync(info, 'utf8')) as { controlUrl: string };
  return {
    kubeconfig: out,
    controlUrl: meta.controlUrl,
    child,
    dir,
    stop: () =>
      new Promise((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGINT');
      }),
  };
}

/** One replica: --workers 1 and a short sync interval keep three of them light on two cores. */
export function startReplica(databaseUrl: string, extra: string[] = [], env: Record<string, string> = {}): Promise<ServerHandle> {
  return startServer(['--database', databaseUrl, '--workers', '1', '--fleet-threads', '1', '--tls-port', 'off', ...extra], {
    env: { FLEETGATE_ENCRYPTION_KEY: kSharedKey, FLEETGATE_ADMIN_TOKEN: kSharedAdmin, ...env },
    timeoutMs: 60_000,
  });
}

export interface ClusterListItem {
  name: string;
  version: string;
  isDefault: boolean;
  error?: string;
}

/** GET /api/v1/clusters as `token` (default: the shared admin token); throws on a non-200. */
export async function clusterList(r: ServerHandle, token = kSharedAdmin): Promise<ClusterListItem[]> {
  const res = await r.get('/api/v1/clusters', { authorization: `Bearer ${token}` });
  if (res.status !== 200) throw new Error(`GET /api/v1/clusters on :${r.port} → ${res.status} ${res.body}`);
  return res.json() as ClusterListItem[];
}

export function names(list: ClusterListItem[]): string[] {
  return list.map((c) => c.name).sort();
}

export function proberOf(replicas: ServerHandle[]): ServerHandle[] {
  return replicas.filter((r) => {
    const out = r.output();
    return out.lastIndexOf('this replica is now the prober') > out.lastIndexOf('this replica is no longer the prober');
  });
}
