/**
 * FleetPool: the piscina pool that runs fleet queries off the HTTP worker's event loop, and the
 * owner-side half of its lock-slot lifecycle.
 *
 * Slot recovery: each pool thread claims a reader slot (owner word = threadId + 1) on its first
 * task. When piscina reports a new thread ('workerCreate', emitted once the thread is ready and
 * before any task is handed to it) we find its Worker in `pool.threads` and wait for that
 * Worker's 'exit' event: only then has the thread stopped running JavaScript, so clearing its
 * slot (recoverThread) cannot break exclusion. A thread that died inside a read lock would
 * otherwise block the sync worker's next commit forever. Piscina replaces the dead thread itself
 * (its own 'exit' listener); the task it was running fails with 503 and may be retried.
 *
 * Back-pressure: piscina's maxQueue bounds waiting tasks; a full queue answers 503 with
 * Retry-After instead of growing without bound.
 */
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { HttpError } from '../util/http-error.js';
import { recoverThread, type RecoverResult } from '../lock/recovery.js';
import { workerEntry } from '../util/paths.js';
import { unwrap, type Envelope } from './envelope.js';
import type { FleetTask, FleetThreadData, QueryLimits } from './types.js';

export interface FleetPoolOptions {
  sab: SharedArrayBuffer;
  threads: number;
  /** Tasks that may wait for a thread; more answer 503. */
  maxQueue: number;
  /** Queries one thread runs at once (they mostly wait on the network). */
  tasksPerThread: number;
  limits: QueryLimits;
  /** Added to each pool thread's nice value (Linux, see src/threads/fleet-pool.ts), so HTTP workers win the CPU. 0 = none. */
  niceIncrement: number;
  testHooks: boolean;
  log: (line: string) => void;
  /** A pool thread is up (before its first task, hence before it claims a slot). */
  onThreadStart?: (threadId: number) => void;
  /** A pool thread exited and its lock slot was recovered (e.g. to tell a supervisor). */
  onThreadExit?: (threadId: number, exitCode: number, recovered: RecoverResult) => void;
}

export interface FleetPoolStats {
  threads: number;
  queued: number;
  completed: number;
  /** Pool threads that exited (crashed or closed) and had their slots recovered. */
  exited: number;
  /** Of those, threads that died holding a read lock (a commit would have waited on them). */
  recoveredReads: number;
  /** Tasks refused because the queue was full. */
  rejected: number;
}

/** Piscina's message for a full queue (errors.js TaskQueueAtLimit). */
const kQueueFullMessage = 'Task queue is at limit';

export class FleetPool {
  private readonly pool: Piscina<FleetTask, Envelope<unknown>>;
  private readonly live = new Map<number, Worker>();
  private exited = 0;
  private recoveredReads = 0;
  private rejected = 0;
  private closing = false;

  constructor(private readonly o: FleetPoolOptions) {
    const workerData: FleetThreadData = { sab: o.sab, limits: o.limits, testHooks: o.testHooks, niceIncrement: o.niceIncrement };
    this.pool = new Piscina<FleetTask, Envelope<unknown>>({
      filename: workerEntry('fleet'),
      minThreads: o.threads,
      maxThreads: o.threads,
      maxQueue: o.maxQueue,
      concurrentTasksPerWorker: o.tasksPerThread,
      // The thread's event loop must keep running between tasks (keep-alive sockets, timers).
      atomics: 'async',
      workerData,
    });
    this.pool.on('workerCreate', (w: { id: number }) => this.watch(w.id));
    this.pool.on('error', (err: unknown) => o.log(`fleet: pool error: ${err instanceof Error ? err.message : String(err)}`));
  }

  private watch(threadId: number): void {
    const worker = this.pool.threads.find((t) => t.threadId === threadId);
    if (!worker) {
      // Already gone before it could run a task, so it never claimed a slot.
      this.o.log(`fleet: pool thread ${threadId} exited before it was watched`);
      return;
    }
    this.live.set(threadId, worker);
    this.o.onThreadStart?.(threadId);
    worker.once('exit', (code: number) => {
      this.live.delete(threadId);
      this.exited++;
      // Pairs with the thread's RwLock.attach: the thread has stopped, so its slot is ours to clear.
      const r = recoverThread(this.o.sab, threadId);
      if (r.readerCleared) this.recoveredReads++;
      // close() terminates threads (exit code 1): only an exit we did not ask for is news.
      if (!this.closing) {
        this.o.log(`fleet: pool thread ${threadId} exited with code ${code}${r.readerCleared ? ' holding a read lock (recovered)' : ''}; piscina replaces it`);
      }
      this.o.onThreadExit?.(threadId, code, r);
    });
  }

  async run<T>(task: FleetTask): Promise<T> {
    let env: Envelope<unknown>;
    try {
      env = await this.pool.run(task);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (msg === kQueueFullMessage) {
        this.rejected++;
        throw new HttpError(503, 'fleet query queue is full; retry shortly', { 'Retry-After': '1' });
      }
      this.o.log(`fleet: pool task failed: ${msg}`);
      throw new HttpError(503, 'fleet query thread stopped; retry shortly', { 'Retry-After': '1' });
    }
    return unwrap(env, this.o.log) as T;
  }

  /** Thread ids of the live pool threads (a supervisor may recover them if this thread dies). */
  threadIds(): number[] {
    return [...this.live.keys()];
  }

  stats(): FleetPoolStats {
    return {
      threads: this.pool.threads.length,
      queued: this.pool.queueSize,
      completed: this.pool.completed,
      exited: this.exited,
      recoveredReads: this.recoveredReads,
      rejected: this.rejected,
    };
  }

  /** Waits for running queries, stops the threads; their slots are recovered on 'exit'. */
  async close(): Promise<void> {
    this.closing = true;
    const workers = [...this.live.values()];
    await this.pool.close();
    await Promise.all(workers.map((w) => (w.threadId === -1 ? undefined : new Promise((r) => w.once('exit', r)))));
  }
}
