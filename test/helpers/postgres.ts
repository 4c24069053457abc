/**
 * A throwaway PostgreSQL server for tests and benchmarks: initdb into a fresh temporary directory
 * (as the postgres user when running as root: initdb refuses root), trust authentication, listening
 * on 127.0.0.1 on a free port with its unix socket inside that directory, stopped and deleted by
 * stop(). It never reads or changes the machine's own cluster: every path it uses is its own.
 *
 * restart() stops and starts the same data directory on the same port (the outage tests use it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  dir: string;
  /** A URL for a fresh database of this server (CREATE DATABASE), so suites do not share rows. */
  createDatabase(name: string): string;
  /** pg_ctl stop -m fast: connections drop at once, as in an outage. */
  stopServer(): void;
  startServer(): void;
  /** Stop the server and delete its directory. */
  stop(): void;
}

/** initdb's folder: PATH first, then Debian's /usr/lib/postgresql/N/bin (newest N). */
export function findPgBin(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  // Resolved: /usr/local/bin/initdb may be a lone symlink, with psql and pg_ctl only beside its target.
  if (which.status === 0 && which.stdout.trim()) return join(realpathSync(which.stdout.trim()), '..');
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0]!, 'bin') : undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function postgresUid(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('postgres test helper: running as root but there is no postgres user to run initdb as');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export async function startPostgres(): Promise<PgServer> {
  const bin = findPgBin();
  if (!bin) throw new Error('postgres test helper: initdb not found (install Debian\'s postgresql package)');
  const owner = postgresUid();
  const dir = mkdtempSync(join(tmpdir(), 'fg-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  // As root, each binary runs as postgres through runuser; otherwise as ourselves.
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = owner ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    return execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  };
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`postgres test helper: initdb failed: ${(err as { stderr?: string }).stderr ?? err}`);
  }
  let port = 0;
  const startServer = () => {
    const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', opts, '-w', '-t', '60', 'start']);
  };
  let running = false;
  const stopServer = () => {
    if (!running) return;
    run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    running = false;
  };
  // The free port can be taken by another process before the server binds it (other suites run
  // servers too): try a few ports before giving up.
  for (let attempt = 1; !running; attempt++) {
    port = await freePort();
    try {
      startServer();
      running = true;
    } catch (err) {
      let log = '';
      try {
        log = readFileSync(join(dir, 'log'), 'utf8').split('\n').slice(-10).join('\n');
      } catch {
        /* no log written */
      }
      if (attempt < 5 && log.includes('Address already in use')) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`postgres test helper: pg_ctl start failed: ${(err as { stderr?: string }).stderr ?? err}\n${log}`);
    }
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dir,
    createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`postgres test helper: bad database name ${name}`);
      run('psql', ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`]);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stopServer,
    startServer() {
      startServer();
      running = true;
    },
    stop() {
      try {
        stopServer();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
