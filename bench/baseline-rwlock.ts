/**
 * The comparison lock for bench/lock.bench.ts: a textbook reader-writer lock on ONE shared
 * state word (reader count in the low bits, a writer bit on top), as many JS Atomics examples
 * write it. Every reader acquisition and release is a read-modify-write of the same cache line,
 * which is what per-thread reader slots (src/lock) avoid. Benchmark use only; no timeouts.
 */
const kWriter = 1 << 30;

export class BaselineRwLock {
  private readonly i32: Int32Array;
  constructor(
    sab: SharedArrayBuffer,
    private readonly word: number,
  ) {
    this.i32 = new Int32Array(sab);
  }

  readLock(): void {
    const i32 = this.i32;
    for (;;) {
      const s = Atomics.load(i32, this.word);
      if ((s & kWriter) === 0) {
        if (Atomics.compareExchange(i32, this.word, s, s + 1) === s) return;
      } else {
        Atomics.wait(i32, this.word, s); // woken by writeUnlock's notify
      }
    }
  }

  readUnlock(): void {
    if (Atomics.sub(this.i32, this.word, 1) === (kWriter | 1)) Atomics.notify(this.i32, this.word);
  }

  writeLock(): void {
    const i32 = this.i32;
    for (;;) {
      const s = Atomics.load(i32, this.word);
      if ((s & kWriter) === 0 && Atomics.compareExchange(i32, this.word, s, s | kWriter) === s) break;
      if (s & kWriter) Atomics.wait(i32, this.word, s);
    }
    // Writer bit set: wait for readers to drain (readUnlock notifies when the last one leaves).
    for (let s = Atomics.load(i32, this.word); s !== kWriter; s = Atomics.load(i32, this.word)) Atomics.wait(i32, this.word, s);
  }

  writeUnlock(): void {
    Atomics.store(this.i32, this.word, 0);
    Atomics.notify(this.i32, this.word);
  }
}
