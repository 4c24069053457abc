/** What the page posts to each demo worker once, and what workers post back. */
import type { StampedField } from './entries.js';

export interface ThreadInit {
  role: 'reader' | 'writer';
  /** Thread line in the control memory (0 = writer, 1.. = readers); threadId is t + 1. */
  t: number;
  /** fleetgate's region (src/shm/layout.ts), created by the page for this run. */
  sab: SharedArrayBuffer;
  /** The demo's control memory (src/demo/layout.ts). */
  ctl: SharedArrayBuffer;
  epoch: number;
  /** Step mode: gated lock Atomics and the two-field record instead of the index. */
  step: boolean;
}

/** A torn read, reported like Go's race detector reports a data race. */
export interface RaceReport {
  type: 'race';
  reader: number;
  entry: string;
  /** Which generation each field came from. */
  fields: Partial<Record<StampedField | 'a' | 'b' | 'name', number | string>>;
  genBefore: number;
  genAfter: number;
  /** The reader's read count when it happened. */
  read: number;
}

export type WorkerMessage = RaceReport | { type: 'error'; t: number; message: string } | { type: 'started'; t: number; slot: number };
