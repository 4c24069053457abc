/**
 * Lock and index micro-benchmark (not a test). `npm run bench:lock` prints a table;
 * `npm run bench:lock -- --json` prints one JSON object; `--runs N` reports per-figure medians
 * of N runs. Figures (see issue 2 for the goals):
 *   readLockNs            uncontended readLock + readUnlock, ns
 *   readScaling2          read throughput, 2 threads / 1 thread (per-slot lock)
 *   baselineReadScaling2  the same for bench/baseline-rwlock.ts (one shared counter)
 *   commitHoldP99Us10     write-lock hold p99 of IndexWriter.publish, 10 entries, µs
 *   commitHoldP99Us10k    the same, 10,000 entries, µs
 *   lookupNs10k           lookup by name in a 10,000-entry index, names uniformly random, ns: the
 *                         lookup every request makes (IndexReader.lookupHead: the entry without
 *                         its credentials, head checksum verified)
 *   lookupFullNs10k       the same with the credentials copied out and the whole entry verified
 *                         (IndexReader.lookup: what the client cache reads on a miss)
 *   lookupMissNs10k       lookupHead of a name that is not in the 10,000-entry index (same
 *                         shape of name), ns: an unknown cluster must cost no more than a hit
 *   writerAcquireP99Us    writeLock acquisition p99 while 2 threads read without pause, µs; the
 *                         readers hold the lock for one word read
 *   writerAcquireP99UsCopying  the same with readers that look up and copy real entries (head and
 *                         whole, alternating) from a 10,000-entry index: the hold a writer waits out
 *   readerStallP99Us10k   what a reader feels of commits: the p99 of the read-lock wait of 2
 *                         threads that look up and copy real entries (head and whole, alternating,
 *                         names uniformly random) from a 10,000-entry index without pause while
 *                         the main thread commits a rebuilt index every millisecond (or back to
 *                         back when a build takes longer); every acquisition the lookups make is
 *                         timed, µs. readerStallP99Us10 the same with 10 entries. Extras: the p99
 *                         of only the acquisitions that met a pending writer (readerStallP99UsMet*:
 *                         the stall itself, whatever the commit rate), the max, the share of
 *                         acquisitions that waited over 1 µs, and commits per second.
 * Extras: lookupNs10kHot (64 hot names, reader cache warm), lookupNs10k4k and lookupFullNs10k4k
 * (4 KB CA per entry, uniform names), and the raw throughputs.
 */
import { Worker } from 'node:worker_threads';
import { RwLock } from '../src/lock/rwlock.js';
import { IndexReader } from '../src/index/reader.js';
import { IndexWriter } from '../src/index/writer.js';
import type { IndexEntryInput } from '../src/index/types.js';
import { createSharedRegion } from '../src/shm/layout.js';
import { distPath } from '../src/util/paths.js';

const json = process.argv.includes('--json');
const log = (s: string) => {
  if (!json) console.error(s);
};

function percentile(xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
function median(xs: number[]): number {
  return percentile(xs, 50);
}
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Sleeps without the event loop (Atomics.wait on a private word). */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function entry(i: number, tag: string, caBytes: number): IndexEntryInput {
  return {
    id: i + 1,
    name: `cluster-${String(i).padStart(5, '0')}`,
    description: `cluster number ${i}`,
    enabled: true,
    isDefault: i === 0,
    inCluster: false,
    state: i % 10 === 9 ? 'error' : 'ok',
    version: 'v1.31.2',
    error: i % 10 === 9 ? 'Get "https://10.0.0.1:6443/version": dial tcp: i/o timeout' : '',
    errorAt: 0,
    probedAt: Date.now(),
    configHash: 'sha256:' + (i * 2654435761).toString(16).padStart(16, '0') + tag,
    generation: 1,
    prometheusUrl: '',
    client: {
      server: `https://10.${(i >> 8) & 255}.${i & 255}.1:6443`,
      caData: '-----BEGIN CERTIFICATE-----\n' + 'M'.repeat(caBytes) + '\n-----END CERTIFICATE-----\n',
      certData: '',
      keyData: '',
      token: 'eyJhbGciOiJSUzI1NiIsImtpZCI6Ij' + 'x'.repeat(900) + i,
      tlsServerName: '',
      insecure: false,
      proxyUrl: '',
    },
  };
}
/** Typical token-auth client config: ~1.2 KB CA + ~0.9 KB token. */
const kTypicalCaBytes = 1200;

function benchReadLockNs(): number {
  const sab = createSharedRegion();
  const lock = RwLock.attach(sab, { threadId: 1 });
  const runs: number[] = [];
  const n = 5_000_000;
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      lock.readLock();
      lock.readUnlock();
    }
    runs.push(((performance.now() - t0) * 1e6) / n);
  }
  return median(runs.slice(1));
}

async function readThroughput(kind: 'fleet' | 'baseline', threads: number, ms: number): Promise<number> {
  const sab = createSharedRegion();
  const baseSab = new SharedArrayBuffer(64);
  const ctl = new Int32Array(new SharedArrayBuffer(64));
  const workers = Array.from(
    { length: threads },
    (_, id) => new Worker(distPath('bench', 'lock-worker.js'), { workerData: { kind, sab, baseSab, ctl: ctl.buffer, id } }),
  );
  const done = workers.map((w) => new Promise<{ ops: number }>((res, rej) => (w.once('message', res), w.once('error', rej))));
  while (Atomics.load(ctl, 2) < threads) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  Atomics.store(ctl, 1, 1);
  const results = await Promise.all(done);
  const elapsed = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  return results.reduce((a, r) => a + r.ops, 0) / (elapsed / 1000);
}

async function benchScaling(kind: 'fleet' | 'baseline'): Promise<{ one: number; two: number; scaling: number }> {
  const ratios: number[] = [];
  const ones: number[] = [];
  const twos: number[] = [];
  for (let r = 0; r < 3; r++) {
    const one = await readThroughput(kind, 1, 400);
    const two = await readThroughput(kind, 2, 400);
    ones.push(one);
    twos.push(two);
    ratios.push(two / one);
  }
  return { one: median(ones), two: median(twos), scaling: median(ratios) };
}

function benchCommitHold(count: number, commits: number): number {
  const sab = createSharedRegion();
  const writer = new IndexWriter(sab, RwLock.attach(sab, { threadId: 1 }));
  const entries = Array.from({ length: count }, (_, i) => entry(i, '', kTypicalCaBytes));
  const holds: number[] = [];
  for (let c = 0; c < commits + 5; c++) {
    const r = writer.publish(entries);
    if (c >= 5) holds.push(r.holdNs / 1000);
  }
  return percentile(holds, 99);
}

function benchLookup(caBytes: number, pattern: 'uniform' | 'hot' | 'miss', what: 'head' | 'full'): number {
  const sab = createSharedRegion();
  const writer = new IndexWriter(sab, RwLock.attach(sab, { threadId: 1 }));
  const reader = new IndexReader(sab, RwLock.attach(sab, { threadId: 2 }));
  writer.publish(Array.from({ length: 10_000 }, (_, i) => entry(i, '', caBytes)));
  const names: string[] = [];
  let x = 12345;
  for (let i = 0; i < 65536; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    // Misses: names of the same shape that no entry has (cluster-10000 ... cluster-19999).
    const k = pattern === 'hot' ? x % 64 : pattern === 'miss' ? 10_000 + (x % 10_000) : x % 10_000;
    names.push(`cluster-${String(k).padStart(5, '0')}`);
  }
  const runs: number[] = [];
  let sink = 0;
  const n = 200_000;
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    if (pattern === 'miss') for (let i = 0; i < n; i++) sink += reader.lookupHead(names[i & 65535]!) === undefined ? 1 : 0;
    else if (what === 'head') for (let i = 0; i < n; i++) sink += reader.lookupHead(names[i & 65535]!)!.id;
    else for (let i = 0; i < n; i++) sink += reader.lookup(names[i & 65535]!)!.id;
    runs.push(((performance.now() - t0) * 1e6) / n);
  }
  if (sink === 0) throw new Error('unreachable');
  if (pattern === 'miss' && sink !== 6 * n) throw new Error('bench: a miss name was found');
  return median(runs.slice(1));
}

/** Starts `threads` stall-worker readers over `sab` (waiting for the start word). */
async function startReaders(sab: SharedArrayBuffer, names: string[], threads: number, time: boolean) {
  const ctl = new Int32Array(new SharedArrayBuffer(64));
  const workers = Array.from({ length: threads }, (_, id) => new Worker(distPath('bench', 'stall-worker.js'), { workerData: { sab, ctl: ctl.buffer, id, names, time } }));
  const done = workers.map(
    (w) => new Promise<{ ops: number; waits: Float64Array; contended: number[] }>((res, rej) => (w.once('message', res), w.once('error', rej))),
  );
  while (Atomics.load(ctl, 2) < threads) await new Promise((r) => setTimeout(r, 5));
  // Pairs with the Atomics.wait(ctl, 0, 0) in stall-worker.ts.
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
  return {
    async stop() {
      Atomics.store(ctl, 1, 1);
      const results = await Promise.all(done);
      await Promise.all(workers.map((w) => w.terminate()));
      return results;
    },
  };
}

const clusterNames = (count: number) => Array.from({ length: count }, (_, i) => entry(i, '', 0).name);

/**
 * The read-lock waits of 2 entry-copying readers while the main thread commits every
 * millisecond (see readerStallP99Us10k in the header).
 */
async function benchReaderStall(count: number, ms: number): Promise<Record<'p99' | 'p99Contended' | 'max' | 'waitedShare' | 'commitsPerSec' | 'lookupsPerSec', number>> {
  const sab = createSharedRegion();
  const writer = new IndexWriter(sab, RwLock.attach(sab, { threadId: 1 }));
  const entries = Array.from({ length: count }, (_, i) => entry(i, '', kTypicalCaBytes));
  writer.publish(entries);
  writer.publish(entries);
  const readers = await startReaders(sab, clusterNames(count), 2, true);
  sleepMs(50);
  const t0 = performance.now();
  let commits = 0;
  for (let next = t0; performance.now() - t0 < ms; ) {
    writer.publish(entries);
    commits++;
    next += 1;
    const now = performance.now();
    if (next > now) sleepMs(next - now);
    else next = now;
  }
  const elapsed = performance.now() - t0;
  const results = await readers.stop();
  const all: number[] = [];
  const met: number[] = [];
  for (const r of results) {
    for (const w of r.waits) all.push(w);
    met.push(...r.contended);
  }
  let waited = 0;
  let max = 0;
  for (const w of all) {
    if (w > 1) waited++;
    if (w > max) max = w;
  }
  const ops = results.reduce((a, r) => a + r.ops, 0);
  return { p99: percentile(all, 99), p99Contended: met.length ? percentile(met, 99) : 0, max, waitedShare: waited / all.length, commitsPerSec: (commits * 1000) / elapsed, lookupsPerSec: (ops * 1000) / (elapsed + 50) };
}

/** writeLock acquisition p99 (µs) with 2 readers: one-word reads, or real entry copies (10,000 entries). */
async function benchWriterAcquire(readers: 'word' | 'copy'): Promise<number> {
  const sab = createSharedRegion();
  let stopReaders: () => Promise<unknown>;
  if (readers === 'copy') {
    const entries = Array.from({ length: 10_000 }, (_, i) => entry(i, '', kTypicalCaBytes));
    new IndexWriter(sab, RwLock.attach(sab, { threadId: 3 })).publish(entries);
    const r = await startReaders(sab, clusterNames(10_000), 2, false);
    stopReaders = r.stop;
  } else {
    const ctl = new Int32Array(new SharedArrayBuffer(64));
    const workers = [0, 1].map((id) => new Worker(distPath('bench', 'lock-worker.js'), { workerData: { kind: 'fleet', sab, baseSab: sab, ctl: ctl.buffer, id } }));
    const done = workers.map((w) => new Promise((res, rej) => (w.once('message', res), w.once('error', rej))));
    while (Atomics.load(ctl, 2) < 2) await new Promise((r) => setTimeout(r, 5));
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    stopReaders = async () => {
      Atomics.store(ctl, 1, 1);
      await Promise.all(done);
      await Promise.all(workers.map((w) => w.terminate()));
    };
  }
  sleepMs(50);
  const lock = RwLock.attach(sab, { threadId: 1 });
  const samples: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t0 = performance.now();
    lock.writeLock();
    const t1 = performance.now();
    lock.writeUnlock();
    if (i >= 100) samples.push((t1 - t0) * 1000);
    sleepMs(0.3);
  }
  await stopReaders();
  return percentile(samples, 99);
}

type Figures = Record<string, number>;

async function measure(): Promise<Figures> {
  const readLockNs = benchReadLockNs();
  log(`readLockNs ${readLockNs.toFixed(1)}`);
  const fleet = await benchScaling('fleet');
  const base = await benchScaling('baseline');
  log(`readScaling2 ${fleet.scaling.toFixed(2)}  baseline ${base.scaling.toFixed(2)}`);
  // The same number of commits for both, so both p99s are the same order statistic.
  const commitHoldP99Us10 = benchCommitHold(10, 300);
  const commitHoldP99Us10k = benchCommitHold(10_000, 300);
  log(`commitHoldP99Us10 ${commitHoldP99Us10.toFixed(2)}  10k ${commitHoldP99Us10k.toFixed(2)}`);
  const lookupNs10k = benchLookup(kTypicalCaBytes, 'uniform', 'head');
  const lookupFullNs10k = benchLookup(kTypicalCaBytes, 'uniform', 'full');
  const lookupNs10kHot = benchLookup(kTypicalCaBytes, 'hot', 'head');
  const lookupNs10k4k = benchLookup(4096, 'uniform', 'head');
  const lookupFullNs10k4k = benchLookup(4096, 'uniform', 'full');
  log(`lookupNs10k ${lookupNs10k.toFixed(0)}  full ${lookupFullNs10k.toFixed(0)}  hot ${lookupNs10kHot.toFixed(0)}  4k ${lookupNs10k4k.toFixed(0)}  full 4k ${lookupFullNs10k4k.toFixed(0)}`);
  const lookupMissNs10k = benchLookup(kTypicalCaBytes, 'miss', 'head');
  log(`lookupMissNs10k ${lookupMissNs10k.toFixed(0)}`);
  const writerAcquireP99Us = await benchWriterAcquire('word');
  const writerAcquireP99UsCopying = await benchWriterAcquire('copy');
  log(`writerAcquireP99Us ${writerAcquireP99Us.toFixed(1)}  with entry-copying readers ${writerAcquireP99UsCopying.toFixed(1)}`);
  // Alternating sizes, so machine noise falls on both alike; each figure the median of its rounds.
  const stall10: Awaited<ReturnType<typeof benchReaderStall>>[] = [];
  const stall10k: Awaited<ReturnType<typeof benchReaderStall>>[] = [];
  for (let r = 0; r < 3; r++) {
    stall10.push(await benchReaderStall(10, 1000));
    stall10k.push(await benchReaderStall(10_000, 1000));
  }
  const med = (xs: Awaited<ReturnType<typeof benchReaderStall>>[], k: keyof (typeof xs)[0]) => median(xs.map((x) => x[k]));
  log(`readerStallP99Us10 ${med(stall10, 'p99').toFixed(2)}  10k ${med(stall10k, 'p99').toFixed(2)}`);
  return {
    readLockNs: round(readLockNs, 1),
    readScaling2: round(fleet.scaling),
    baselineReadScaling2: round(base.scaling),
    commitHoldP99Us10: round(commitHoldP99Us10),
    commitHoldP99Us10k: round(commitHoldP99Us10k),
    lookupNs10k: round(lookupNs10k, 0),
    lookupFullNs10k: round(lookupFullNs10k, 0),
    lookupMissNs10k: round(lookupMissNs10k, 0),
    writerAcquireP99Us: round(writerAcquireP99Us, 1),
    writerAcquireP99UsCopying: round(writerAcquireP99UsCopying, 1),
    readerStallP99Us10k: round(med(stall10k, 'p99')),
    readerStallP99Us10: round(med(stall10, 'p99')),
    readerStallP99UsMet10k: round(med(stall10k, 'p99Contended'), 1),
    readerStallP99UsMet10: round(med(stall10, 'p99Contended'), 1),
    readerStallMaxUs10k: round(med(stall10k, 'max'), 1),
    readerStallMaxUs10: round(med(stall10, 'max'), 1),
    readerWaitedShare10k: round(med(stall10k, 'waitedShare'), 4),
    readerWaitedShare10: round(med(stall10, 'waitedShare'), 4),
    commitsPerSec10k: Math.round(med(stall10k, 'commitsPerSec')),
    commitsPerSec10: Math.round(med(stall10, 'commitsPerSec')),
    stallLookupsPerSec10k: Math.round(med(stall10k, 'lookupsPerSec')),
    lookupNs10kHot: round(lookupNs10kHot, 0),
    lookupNs10k4k: round(lookupNs10k4k, 0),
    lookupFullNs10k4k: round(lookupFullNs10k4k, 0),
    readOpsPerSec1: Math.round(fleet.one),
    readOpsPerSec2: Math.round(fleet.two),
    baselineReadOpsPerSec1: Math.round(base.one),
    baselineReadOpsPerSec2: Math.round(base.two),
  };
}

async function main(): Promise<void> {
  const runsArg = process.argv.indexOf('--runs');
  const runs = runsArg > 0 ? Math.max(1, Number(process.argv[runsArg + 1]) || 1) : 1;
  log(`fleetgate lock bench on Node ${process.version}, ${runs} run(s)`);
  const all: Figures[] = [];
  for (let r = 0; r < runs; r++) all.push(await measure());
  // Per-figure median over the runs (--runs N), as the goals are stated.
  const result: Record<string, number | string> = { node: process.version, runs };
  for (const k of Object.keys(all[0]!)) result[k] = median(all.map((f) => f[k]!));
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  const goals: Record<string, string> = {
    readLockNs: '<= 45',
    readScaling2: '>= 1.7 and > baseline',
    baselineReadScaling2: '(comparison)',
    commitHoldP99Us10: '(reference for 10k)',
    commitHoldP99Us10k: '<= 50, <= 2x the 10-entry figure',
    lookupNs10k: '<= 1000 (per-request lookup; ~2.1 KB client config not read)',
    lookupFullNs10k: '(with credentials, on a client-cache miss)',
    lookupMissNs10k: '<= 1000 (an unknown name costs no more than a hit)',
    writerAcquireP99Us: '<= 40 (readers hold the lock for one word read)',
    writerAcquireP99UsCopying: '(readers copy real entries)',
    readerStallP99Us10k: '<= 50, <= 2x readerStallP99Us10',
    readerStallP99Us10: '(reference for 10k)',
    readerStallP99UsMet10k: '(p99 of the acquisitions that met a pending writer)',
    readerStallMaxUs10k: '(median of the rounds\' max)',
    readerWaitedShare10k: '(share of acquisitions that waited > 1 µs)',
    commitsPerSec10k: '(1000 asked for; a 10,000-entry build takes longer than 1 ms)',
    lookupNs10kHot: '(64 hot names)',
    lookupNs10k4k: '(4 KB CA per entry)',
    lookupFullNs10k4k: '(4 KB CA per entry, with credentials)',
  };
  console.log(`\nfleetgate lock bench, Node ${process.version}, median of ${runs} run(s)\n`);
  console.log('figure'.padEnd(24) + 'value'.padStart(14) + '   goal');
  for (const [k, v] of Object.entries(result)) {
    if (k === 'node' || k === 'runs') continue;
    console.log(k.padEnd(24) + String(v).padStart(14) + '   ' + (goals[k] ?? ''));
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
