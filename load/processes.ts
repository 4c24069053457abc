/**
 * Starting and stopping the simulator and fleetgate as child processes on loopback. Only the
 * processes started here are ever signalled, by their own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The checkout's root: the nearest folder above this module holding bin/fleetgate.js (this file
 * runs as dist/load/processes.js from npm and as load/processes.ts under vitest).
 */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'bin', 'fleetgate.js'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find bin/fleetgate.js above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export const kFleetgateBin = join(repoRoot(), 'bin', 'fleetgate.js');

export interface Child {
  proc: ChildProcess;
  /** The output so far (stdout and stderr, capped). */
  output(): string;
  stop(timeoutMs?: number): Promise<number | null>;
}

/**
 * Runs `node bin/fleetgate.js ...args` and resolves once a line matches `ready`, with the match.
 * Rejects with the output when the process exits first or `timeoutMs` passes.
 */
export function startFleetgate(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs = 30_000): Promise<{ child: Child; match: RegExpExecArray }> {
  const proc = spawn(process.execPath, [kFleetgateBin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const cap = 256 * 1024;
  const child: Child = {
    proc,
    output: () => out,
    stop: (t = 10_000) => stopChild(proc, t),
  };
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => finish(new Error(`${args[0]} not ready after ${timeoutMs} ms:\n${out.slice(-4000)}`)), timeoutMs);
    const finish = (err?: Error, match?: RegExpExecArray) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        void child.stop(2000);
        reject(err);
      } else resolve({ child, match: match! });
    };
    const onData = (chunk: Buffer) => {
      if (out.length < cap) out += chunk.toString('utf8');
      if (!done) {
        const m = ready.exec(out);
        if (m) finish(undefined, m);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code, sig) => finish(new Error(`${args[0]} exited (${code ?? sig}) before it was ready:\n${out.slice(-4000)}`)));
    proc.once('error', (err) => finish(err));
  });
}

export function stopChild(proc: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(kill);
      resolve(code);
    });
    proc.kill('SIGTERM');
  });
}

/** Polls `url` until it answers 200 (or throws after timeoutMs). */
export async function waitFor200(url: string, timeoutMs = 30_000, headers: Record<string, string> = {}): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    try {
      const r = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (r.status === 200) return;
      last = `status ${r.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not 200 after ${timeoutMs} ms (${last})`);
}
