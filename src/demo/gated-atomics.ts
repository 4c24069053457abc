/**
 * Step mode's LockAtomics (src/lock/atomics.ts): before each operation the thread announces it on
 * its own line of the control memory (src/demo/layout.ts: operation, word, source line) and waits
 * on its gate word until the page lets it through; then it performs the real operation.
 *
 * A futex wait is two steps and no real Atomics.wait: the compare ('wait'), and, when the word
 * still holds the value, a sleep: the thread parks at its gate marked kOpSleep, and the scheduler
 * lets it through only once the word holds another value, which is when a real wait would have
 * been woken (the lock notifies after every store to a word it waits on). It then returns 'ok'. So every
 * thread is always either at its gate or running plain code towards the next one, and one
 * released operation at a time gives a single, replayable interleaving.
 */
import type { LockAtomics } from '../lock/atomics.js';
import {
  kOps,
  kSourceFiles,
  kThAtGate,
  kThArray,
  kThFile,
  kThGate,
  kThLine,
  kThOp,
  kThWaitValue,
  kThWord,
  thWord,
} from './layout.js';

type Op = (typeof kOps)[number];

/** Line of the first stack frame in one of kSourceFiles (compiled .js), or [-1, 0]. */
export function callerSite(stack: string | undefined): [file: number, line: number] {
  if (!stack) return [-1, 0];
  for (const frame of stack.split('\n')) {
    for (let f = 0; f < kSourceFiles.length; f++) {
      const js = kSourceFiles[f]!.replace(/\.ts$/, '.js');
      const at = frame.indexOf(js + ':');
      if (at >= 0) return [f, Number(frame.slice(at + js.length + 1).split(':')[0])];
    }
  }
  return [-1, 0];
}

export class Gate {
  private passed = 0;
  constructor(
    private readonly ctl: Int32Array,
    private readonly t: number,
  ) {}

  /** Operations let through so far. */
  get operations(): number {
    return this.passed;
  }

  /** Announces `op` on word `i` of `array` (0 region, 1 control) and waits to be let through. */
  pass(op: Op, array: number, i: number, waitValue = 0): void {
    const c = this.ctl;
    const t = this.t;
    const [file, line] = callerSite(new Error().stack);
    Atomics.store(c, thWord(t, kThOp), kOps.indexOf(op));
    Atomics.store(c, thWord(t, kThArray), array);
    Atomics.store(c, thWord(t, kThWord), i);
    Atomics.store(c, thWord(t, kThWaitValue), waitValue);
    Atomics.store(c, thWord(t, kThFile), file);
    Atomics.store(c, thWord(t, kThLine), line);
    // Arrival last: the page reads the fields above only once it sees this arrival number.
    Atomics.store(c, thWord(t, kThAtGate), this.passed + 1);
    const gate = thWord(t, kThGate);
    for (;;) {
      const g = Atomics.load(c, gate);
      if (g > this.passed) break;
      // Pairs with the page's Atomics.add + Atomics.notify on this gate word (step.js release):
      // the wait compares with g atomically, so a release between our load and the wait makes
      // it return 'not-equal' instead of sleeping through it.
      Atomics.wait(c, gate, g);
    }
    this.passed++;
  }
}

/** A LockAtomics over fleetgate's region whose every operation goes through `gate`. */
export function gatedAtomics(gate: Gate): LockAtomics {
  return {
    load: (a, i) => (gate.pass('load', 0, i), Atomics.load(a, i)),
    store: (a, i, v) => (gate.pass('store', 0, i), Atomics.store(a, i, v)),
    add: (a, i, v) => (gate.pass('add', 0, i), Atomics.add(a, i, v)),
    sub: (a, i, v) => (gate.pass('sub', 0, i), Atomics.sub(a, i, v)),
    exchange: (a, i, v) => (gate.pass('exchange', 0, i), Atomics.exchange(a, i, v)),
    compareExchange: (a, i, e, r) => (gate.pass('compareExchange', 0, i), Atomics.compareExchange(a, i, e, r)),
    wait: (a, i, v) => {
      gate.pass('wait', 0, i, v);
      if (Atomics.load(a, i) !== v) return 'not-equal';
      gate.pass('sleep', 0, i, v);
      return 'ok';
    },
    waitAsync: () => {
      throw new Error('demo: step mode threads use the blocking lock calls');
    },
    notify: (a, i, count) => (gate.pass('notify', 0, i), Atomics.notify(a, i, count)),
  };
}
