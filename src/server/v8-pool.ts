/**
 * Size of V8's platform thread pool (`node --v8-pool-size`), chosen before any thread starts.
 *
 * Why: every isolate in the process (the HTTP workers, the sync worker, the fleet pool) hands its
 * background work, concurrent marking, parallel scavenges, sweeping and optimising compiles, to
 * one process-wide pool of "V8Worker" threads: 4 by default, at normal priority, whatever the
 * core count. A fleet search parses hundreds of megabytes of lists on a pool thread that runs at
 * nice 19, but the garbage it leaves is collected by those four, which then take both cores of a
 * 2-core machine for milliseconds at a time and stall the HTTP workers with them (bench:fleet:
 * cluster-list p99 4.6 ms during searches against 1.0 ms idle; with a pool of 1, 1.8 ms). Lowering
 * their priority instead makes it worse: an HTTP worker's own collection then waits on a helper
 * that cannot get the CPU. So fleetgate keeps at least half the cores free of V8 helpers.
 *
 * The size can only be set on the command line, so `fleetgate serve` re-executes itself in place
 * (process.execve: same pid, nothing started yet) with the flag added. On Node without
 * process.execve (< 22.15) it keeps Node's default; so does FLEETGATE_V8_POOL_SIZE=node, and an
 * explicit `node --v8-pool-size=N` or FLEETGATE_V8_POOL_SIZE=N wins.
 */
import { availableParallelism } from 'node:os';

export const kV8PoolFlag = '--v8-pool-size';

/** Half the cores, at least 1. */
export function defaultV8PoolSize(cores: number): number {
  return Math.max(1, Math.floor(cores / 2));
}

/**
 * The node arguments to re-execute with, or undefined to go on as we are: the flag is already
 * there, or the environment says to leave Node's default. Throws on a malformed override.
 */
export function v8PoolExecArgv(execArgv: readonly string[], env: NodeJS.ProcessEnv, cores: number): string[] | undefined {
  const given = (a: string) => a === kV8PoolFlag || a.startsWith(`${kV8PoolFlag}=`);
  if (execArgv.some(given) || (env.NODE_OPTIONS ?? '').split(/\s+/).some(given)) return undefined;
  const raw = env.FLEETGATE_V8_POOL_SIZE?.trim();
  if (raw === 'node') return undefined;
  let size = defaultV8PoolSize(cores);
  if (raw !== undefined && raw !== '') {
    if (!/^[1-9][0-9]{0,3}$/.test(raw)) throw new RangeError(`FLEETGATE_V8_POOL_SIZE must be a positive integer or "node", not "${raw}"`);
    size = Number(raw);
  }
  return [`${kV8PoolFlag}=${size}`, ...execArgv];
}

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

/**
 * Re-executes this process with the V8 pool size set, if it is not yet and this Node can. Call
 * first thing, before any worker, socket or file is opened. Returns only when it did not re-exec
 * (the reason is in `log` unless there was nothing to do).
 */
export function ensureV8PoolSize(log: (line: string) => void): void {
  const execve = (process as unknown as { execve?: Execve }).execve;
  const execArgv = v8PoolExecArgv(process.execArgv, process.env, availableParallelism());
  if (!execArgv) return;
  if (typeof execve !== 'function') {
    log(`fleetgate: Node ${process.version} cannot re-execute itself: V8 keeps its default helper threads (run node ${kV8PoolFlag}=N to choose)`);
    return;
  }
  try {
    execve(process.execPath, [process.execPath, ...execArgv, ...process.argv.slice(1)], process.env);
  } catch (err) {
    log(`fleetgate: could not re-execute with ${execArgv[0]}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
