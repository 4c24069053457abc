/**
 * `fleetgate demo`: serve the teaching page (src/demo/server.ts) on loopback and print its URL;
 * with --with-server, also start a fleetgate server with simulated clusters for the page's
 * running-server panel, and stop it on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoServer, type ManagedServer } from '../demo/server.js';
import { parseFlags } from '../util/args.js';
import { packageRoot } from '../util/paths.js';
import { untilStopSignal } from '../util/signals.js';

const USAGE = `usage: fleetgate demo [options]

Serves the teaching page: fleetgate's real lock and index running in your browser's threads.

options:
      --port P          port (default 8090; 0 = any free port)
      --host H          address (default 127.0.0.1)
      --with-server     also start a fleetgate server with 4 simulated clusters for the
                        page's running-server panel (stopped when the demo stops)
      --compare-seconds S   seconds per lock mode for the page's compare button (default 2)
  -h, --help            this help
`;

const kDemoOptions = {
  port: { type: 'string' },
  host: { type: 'string' },
  'with-server': { type: 'boolean' },
  'compare-seconds': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Starts `fleetgate serve --sim 4` with a fresh data dir and token; resolves once it listens. */
function startManagedServer(): Promise<{ server: ManagedServer; child: ChildProcess; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetgate-demo-'));
  const token = 'fg_demo_' + randomBytes(18).toString('base64url');
  const child = spawn(
    process.execPath,
    [join(packageRoot, 'bin/fleetgate.js'), 'serve', '--sim', '4', '--port', '0', '--tls-port', 'off', '--workers', '2', '--data-dir', dataDir],
    { env: { ...process.env, FLEETGATE_ADMIN_TOKEN: token, KUBECONFIG: join(dataDir, 'none') }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out = (out + d.toString('utf8')).slice(-8000);
      const m = /listening on (http:\/\/[^\s/]+)/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({ server: { url: m[1]!, token }, child, dataDir });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening:\n${out.replace(token, '<token>')}`)));
  });
}

export async function run(argv: string[]): Promise<number> {
  const values = parseFlags('demo', argv, kDemoOptions, USAGE);
  if (typeof values === 'number') return values;
  const port = Number(values.port ?? 8090);
  const compareSeconds = Number(values['compare-seconds'] ?? 2);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`fleetgate demo: --port must be an integer in 0..65535, got "${values.port}"`);
    return 2;
  }
  if (!Number.isFinite(compareSeconds) || compareSeconds < 1 || compareSeconds > 60) {
    console.error(`fleetgate demo: --compare-seconds must be in 1..60, got "${values['compare-seconds']}"`);
    return 2;
  }

  let managed: Awaited<ReturnType<typeof startManagedServer>> | undefined;
  if (values['with-server']) {
    managed = await startManagedServer();
    console.log(`fleetgate demo: started a fleetgate server with 4 simulated clusters at ${managed.server.url} (the page's server panel is pre-filled)`);
  }
  const demo = await startDemoServer({ port, host: values.host ?? '127.0.0.1', managed: managed?.server, compareSeconds });
  await untilStopSignal();
  await demo.close();
  if (managed) {
    const child = managed.child;
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    rmSync(managed.dataDir, { recursive: true, force: true });
  }
  return 0;
}
