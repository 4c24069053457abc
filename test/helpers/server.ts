/**
 * Start `fleetgate serve` as a child process for end-to-end tests: a fresh data directory, a fixed
 * admin token, port 0 (the server prints the port it got), and helpers to call it and stop it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/paths.js';

export interface ServerHandle {
  url: string;
  port: number;
  token: string;
  dataDir: string;
  child: ChildProcess;
  output(): string;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: string; json(): any }>;
  send(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: string; json(): any }>;
  /** SIGTERM, then the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startServer(args: string[], opts: { env?: Record<string, string>; dataDir?: string; timeoutMs?: number } = {}): Promise<ServerHandle> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'fleetgate-test-'));
  // Replicas sharing one database must share FLEETGATE_ADMIN_TOKEN (each start registers it).
  const token = opts.env?.FLEETGATE_ADMIN_TOKEN ?? 'fg_test_admin_' + randomBytes(24).toString('hex');
  const child = spawn(process.execPath, [join(packageRoot, 'bin/fleetgate.js'), 'serve', '--port', '0', '--tls-port', '0', '--data-dir', dataDir, ...args], {
    env: { ...process.env, FLEETGATE_ADMIN_TOKEN: token, KUBECONFIG: join(dataDir, 'no-kubeconfig'), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start in time; output:\n' + out)), opts.timeoutMs ?? 30_000);
    const check = () => {
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening; output:\n${out}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text, json: () => JSON.parse(text) };
  };
  return {
    url,
    port,
    token,
    dataDir,
    child,
    output: () => out,
    get: (path, headers) => send('GET', path, undefined, headers),
    send,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => {
          if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
          resolve(code);
        });
        child.kill(signal);
      }),
  };
}

/** Polls `fn` until it returns a truthy value or the timeout passes. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
