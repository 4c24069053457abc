/**
 * The body of one fleet pool thread (entry: workers/fleet.ts, run by piscina).
 *
 * On its first task the thread claims its own reader slot in the shared lock and builds its
 * FleetEngine (index reader + keep-alive agents). It never holds the read lock across an await:
 * the engine copies the cluster list out and releases before any I/O. If the thread dies, the
 * pool's owner recovers its slot (pool.ts); on a clean exit it releases the slot itself.
 */
import { getPriority, setPriority } from 'node:os';
import { threadId, workerData } from 'node:worker_threads';
import { IndexReader } from '../index/reader.js';
import { RwLock } from '../lock/rwlock.js';
import { FleetEngine } from '../fleet/engine.js';
import { wrap, type Envelope } from '../fleet/envelope.js';
import type { FleetTask, FleetThreadData, WhoAmI } from '../fleet/types.js';

interface ThreadState {
  lock: RwLock;
  engine: FleetEngine;
}

let state: ThreadState | undefined;

/**
 * Lowers this thread's CPU priority. On Linux the nice value is per thread and
 * setpriority(PRIO_PROCESS, 0) (os.setPriority(0, n)) applies to the calling thread only, so the
 * HTTP workers keep theirs. Elsewhere it may apply to the process: only Linux is niced.
 */
function lowerPriority(increment: number): void {
  if (increment <= 0 || process.platform !== 'linux') return;
  try {
    setPriority(0, Math.min(19, getPriority(0) + increment));
  } catch (err) {
    console.error(`fleet: pool thread ${threadId} keeps its priority: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function init(data: FleetThreadData): ThreadState {
  if (state) return state;
  lowerPriority(data.niceIncrement);
  const lock = RwLock.attach(data.sab, { threadId });
  const engine = new FleetEngine(new IndexReader(data.sab, lock), data.limits);
  state = { lock, engine };
  process.once('exit', () => {
    // Best effort on a clean exit; a thread that dies holding a read is recovered by the owner.
    if (!lock.holdsRead && !lock.holdsWrite) lock.release();
  });
  return state;
}

/** Runs one task; the answer is small (matches or counts), never the lists themselves. */
export async function runFleetTask(task: FleetTask): Promise<Envelope<unknown>> {
  const data = workerData as FleetThreadData;
  const s = init(data);
  if ((task.op === 'crash' || task.op === 'whoami') && !data.testHooks) {
    return wrap(() => {
      throw new Error(`fleet: test task "${task.op}" refused (pool created without testHooks)`);
    });
  }
  switch (task.op) {
    case 'search':
      return wrap(() => s.engine.search(task.access, task.query));
    case 'overview':
      return wrap(() => s.engine.overview(task.access));
    case 'whoami':
      return wrap((): WhoAmI => ({ threadId, slot: s.lock.slot }));
    case 'crash':
      // Dies like a thread that crashed in the middle of a query, optionally inside a read.
      if (task.holdReadLock) s.lock.readLock();
      process.exit(task.exitCode);
  }
  return wrap(() => {
    throw new Error(`fleet: unknown task ${JSON.stringify((task as { op?: unknown }).op)}`);
  });
}
