/**
 * The teaching demo's own control memory: a small SharedArrayBuffer next to fleetgate's region
 * (src/shm/layout.ts), which the demo uses unchanged. The page's main thread writes the settings
 * and the step gates; each worker writes only its own thread line. The main thread reads all of
 * it with Atomics.load once per animation frame and never waits.
 *
 * Int32 words. Thread t: 0 = the writer, 1..kMaxDemoReaders = readers.
 *
 * | word                 | name              | meaning                                            | writer          | valid values                          |
 * |----------------------|-------------------|----------------------------------------------------|-----------------|---------------------------------------|
 * | 0                    | kCtlMagicWord     | magic                                              | factory         | kDemoMagic                            |
 * | 1                    | kRunEpochWord     | workers of an older epoch stop and exit            | main            | >= 1                                  |
 * | 2                    | kCommitRateWord   | writer's target commits/s (notified on change)      | main            | 0 = as fast as it can, else 1..100000 |
 * | 3                    | kEntryBytesWord   | approximate bytes of each index entry               | main            | kMinEntryBytes..kMaxEntryBytes        |
 * | 4                    | kEntriesWord      | entries in the index                                | factory         | 1..64                                 |
 * | 5                    | kStepFieldAWord   | step mode's record, field a (generation stamp)      | step writer     | >= 0                                  |
 * | 6                    | kStepFieldBWord   | step mode's record, field b (must equal a)          | step writer     | >= 0                                  |
 * | 16*(t+1) + kThState  | thread state      | see kReader* / kWriter* below                       | thread t        |                                       |
 * | ... + kThOps         | reads / commits   | count, wraps at 2^32 (read as Uint32)               | thread t        |                                       |
 * | ... + kThTorn        | torn reads        | entries whose fields disagreed (reader)             | thread t        |                                       |
 * | ... + kThWaits       | lock waits        | acquisitions that took the slow path (RwLock stats) | thread t        |                                       |
 * | ... + kThGate        | step gate         | operations main has let this thread perform         | main (+notify)  | monotonic                             |
 * | ... + kThAtGate      | arrived at gate n | n = operations passed + 1 while waiting at a gate   | thread t        | at rest iff == kThGate + 1            |
 * | ... + kThOp          | pending operation | kOp* of the operation at the gate                   | thread t        |                                       |
 * | ... + kThWord        | its word          | word index it touches (in its array)                | thread t        |                                       |
 * | ... + kThArray       | which array       | 0 fleetgate region, 1 this control memory           | thread t        |                                       |
 * | ... + kThWaitValue   | futex value       | for kOpSleep: runnable only once the word != this   | thread t        |                                       |
 * | ... + kThLine        | source line       | line of the pending operation in kThFile            | thread t        |                                       |
 * | ... + kThFile        | source file       | index into kSourceFiles                             | thread t        |                                       |
 * | ... + kThAlive       | running           | 1 from start to exit                                | thread t        | 0, 1                                  |
 */

export const kDemoMagic = 0x4f4d4544; // 'DEMO'
export const kMaxDemoReaders = 8;
export const kDemoThreads = kMaxDemoReaders + 1;
export const kMinEntryBytes = 256;
export const kMaxEntryBytes = 64 * 1024;

export const kCtlMagicWord = 0;
export const kRunEpochWord = 1;
export const kCommitRateWord = 2;
export const kEntryBytesWord = 3;
export const kEntriesWord = 4;
export const kStepFieldAWord = 5;
export const kStepFieldBWord = 6;

export const kThreadLineWords = 16;
export const kThState = 0;
export const kThOps = 1;
export const kThTorn = 2;
export const kThWaits = 3;
export const kThGate = 4;
export const kThAtGate = 5;
export const kThOp = 6;
export const kThWord = 7;
export const kThArray = 8;
export const kThWaitValue = 9;
export const kThLine = 10;
export const kThFile = 11;
export const kThAlive = 12;

export const kCtlWords = kThreadLineWords * (kDemoThreads + 1);

/** Word `field` of thread t's line. */
export function thWord(t: number, field: number): number {
  return kThreadLineWords * (t + 1) + field;
}

/** Reader states (kThState of threads 1..). "waiting" is shown when acquiring meets a pending writer. */
export const kReaderIdle = 0;
export const kReaderAcquiring = 1;
export const kReaderReading = 2;
/** Writer states. */
export const kWriterIdle = 0;
export const kWriterBuilding = 1;
export const kWriterCommitting = 2;

/** Operations a gated thread announces at its gate. */
export const kOps = ['load', 'store', 'add', 'sub', 'exchange', 'compareExchange', 'wait', 'notify', 'sleep'] as const;
/** A thread asleep in a futex wait: runnable only once its word no longer holds kThWaitValue. */
export const kOpSleep = kOps.indexOf('sleep');

/** Source files a gated operation can come from (kThFile); paths relative to the package root. */
export const kSourceFiles = ['src/lock/rwlock.ts', 'src/demo/step-thread.ts'] as const;

export function createControl(entries: number, commitRate: number, entryBytes: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(kCtlWords * 4);
  const c = new Int32Array(sab);
  c[kRunEpochWord] = 1;
  c[kCommitRateWord] = commitRate;
  c[kEntryBytesWord] = entryBytes;
  c[kEntriesWord] = entries;
  // Published last; the buffer then reaches workers by postMessage (a happens-before edge).
  Atomics.store(c, kCtlMagicWord, kDemoMagic);
  return sab;
}
