/**
 * Entry of every demo Web Worker (served to the browser as dist/src/demo/worker.js, an ES
 * module). Receives one ThreadInit and runs that thread until the page terminates it.
 */
import { runLiveReader, runLiveWriter } from './live-thread.js';
import { runStepReader, runStepWriter } from './step-thread.js';
import type { ThreadInit, WorkerMessage } from './thread-init.js';

interface WorkerScope {
  onmessage: ((ev: { data: ThreadInit }) => void) | null;
  postMessage(m: WorkerMessage): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (ev) => {
  scope.onmessage = null;
  const init = ev.data;
  const post = (m: WorkerMessage) => scope.postMessage(m);
  try {
    if (init.step) (init.role === 'writer' ? runStepWriter : runStepReader)(init, post);
    else (init.role === 'writer' ? runLiveWriter : runLiveReader)(init, post);
  } catch (err) {
    post({ type: 'error', t: init.t, message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
};
