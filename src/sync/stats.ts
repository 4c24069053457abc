/**
 * Sync statistics in shared memory: what the sync worker reports for /metrics.
 *
 * Owner: the sync worker is the only writer (one writer, so plain Atomics.store/add suffice and
 * no lock is needed), except kSyncDownSince, which only the supervisor writes (it sees the sync
 * worker exit and restart); any thread may read for /metrics and /readyz. The block lives at the sync-stats offset
 * that src/shm/layout.ts reserves; this module owns its inner layout.
 *
 * Layout (BigInt64 words, offsets in words from the block start; all counters start at 0):
 *
 * | word            | meaning                                              | unit  | valid values |
 * |-----------------|------------------------------------------------------|-------|--------------|
 * | kSyncs          | completed sync passes                                | count | ≥ 0          |
 * | kCommits        | index commits made by the sync worker                | count | ≥ 0          |
 * | kProbes         | /version probes started                              | count | ≥ 0          |
 * | kProbeFailures  | probes that failed or timed out                      | count | ≥ 0          |
 * | kPhaseTotal+p   | total time spent in phase p (p = PHASES index)       | µs    | ≥ 0          |
 * | kPhaseLast+p    | duration of phase p in the latest sync               | µs    | ≥ 0          |
 * | kHoldMax        | longest write-lock hold of any commit                | ns    | ≥ 0          |
 * | kHoldTotal      | sum of write-lock hold times                         | ns    | ≥ 0          |
 * | kHoldBucket+i   | commits whose hold time ≤ HOLD_BUCKETS_US[i] (non-cumulative; last = +Inf) | count | ≥ 0 |
 * | kState+s        | clusters in state s (s = STATES index) at the last commit | count | ≥ 0     |
 * | kLastSyncAt     | wall clock of the latest completed sync               | ms    | 0 = never    |
 * | kContentCommits | commits whose entries differ from the previous commit's (the rest are no-op commits) | count | ≥ 0, ≤ kCommits |
 * | kLastCommitAt   | wall clock of the latest index commit                 | ms    | 0 = never    |
 * | kSyncDownSince  | wall clock the sync worker exited, while it restarts (supervisor) | ms | 0 = running |
 */
import type { ClusterState } from '../index/types.js';
import { kSyncStatsRegionBytes } from '../shm/layout.js';

export const PHASES = ['snapshot', 'build', 'commit', 'after'] as const;
export type Phase = (typeof PHASES)[number];
export const STATES: readonly ClusterState[] = ['ok', 'error', 'building', 'disabled'];
/** Upper bounds of the write-lock hold histogram, in µs; a final +Inf bucket follows. */
export const HOLD_BUCKETS_US = [1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 1000, 5000] as const;

const kSyncs = 0;
const kCommits = 1;
const kProbes = 2;
const kProbeFailures = 3;
const kPhaseTotal = 4;
const kPhaseLast = kPhaseTotal + PHASES.length;
const kHoldMax = kPhaseLast + PHASES.length;
const kHoldTotal = kHoldMax + 1;
const kHoldBucket = kHoldTotal + 1;
const kState = kHoldBucket + HOLD_BUCKETS_US.length + 1;
const kLastSyncAt = kState + STATES.length;
const kContentCommits = kLastSyncAt + 1;
const kLastCommitAt = kContentCommits + 1;
const kSyncDownSince = kLastCommitAt + 1;
/** Words used; the block reserved by the layout must hold at least this many 8-byte words. */
export const kSyncStatsWords = kSyncDownSince + 1;
/** Bytes of the block these words use (<= kSyncStatsRegionBytes, checked below). */
export const kSyncStatsUsedBytes = kSyncStatsWords * BigInt64Array.BYTES_PER_ELEMENT;
// A counter added above must not spill into the canary line after the reserved block.
if (kSyncStatsUsedBytes > kSyncStatsRegionBytes) {
  throw new Error(`sync stats: ${kSyncStatsUsedBytes} bytes do not fit the ${kSyncStatsRegionBytes} reserved in src/shm/layout.ts`);
}

export interface SyncStatsSnapshot {
  syncs: number;
  commits: number;
  /** Commits that changed what the index holds (commits − contentCommits were no-ops). */
  contentCommits: number;
  probes: number;
  probeFailures: number;
  phaseTotalUs: Record<Phase, number>;
  phaseLastUs: Record<Phase, number>;
  holdMaxNs: number;
  holdTotalNs: number;
  /** Non-cumulative counts per HOLD_BUCKETS_US bound, then the +Inf bucket. */
  holdBuckets: number[];
  clustersByState: Record<ClusterState, number>;
  lastSyncAt: number;
  lastCommitAt: number;
  /** 0 while the sync worker runs; when it exited, while the supervisor restarts it. */
  syncDownSince: number;
}

export class SyncStats {
  private readonly w: BigInt64Array;

  constructor(sab: SharedArrayBuffer, byteOffset: number, byteLength: number) {
    if (byteLength < kSyncStatsUsedBytes) {
      throw new Error(`sync stats: block of ${byteLength} bytes is smaller than the ${kSyncStatsUsedBytes} needed`);
    }
    this.w = new BigInt64Array(sab, byteOffset, kSyncStatsWords);
  }

  private add(word: number, n: number): void {
    Atomics.add(this.w, word, BigInt(Math.round(n)));
  }

  recordProbe(failed: boolean): void {
    this.add(kProbes, 1);
    if (failed) this.add(kProbeFailures, 1);
  }

  recordPhase(phase: Phase, us: number): void {
    const p = PHASES.indexOf(phase);
    this.add(kPhaseTotal + p, us);
    Atomics.store(this.w, kPhaseLast + p, BigInt(Math.round(us)));
  }

  recordCommit(holdNs: number, states: Record<ClusterState, number>, changed = true): void {
    this.add(kCommits, 1);
    if (changed) this.add(kContentCommits, 1);
    Atomics.store(this.w, kLastCommitAt, BigInt(Date.now()));
    this.add(kHoldTotal, holdNs);
    if (BigInt(Math.round(holdNs)) > Atomics.load(this.w, kHoldMax)) Atomics.store(this.w, kHoldMax, BigInt(Math.round(holdNs)));
    const us = holdNs / 1000;
    let b = 0;
    while (b < HOLD_BUCKETS_US.length && us > HOLD_BUCKETS_US[b]!) b++;
    this.add(kHoldBucket + b, 1);
    for (let s = 0; s < STATES.length; s++) Atomics.store(this.w, kState + s, BigInt(states[STATES[s]!]));
  }

  recordSync(): void {
    this.add(kSyncs, 1);
    Atomics.store(this.w, kLastSyncAt, BigInt(Date.now()));
  }

  /** Supervisor only: the sync worker exited at `at` (ms) and is being restarted; 0 once it runs again. */
  setSyncDownSince(at: number): void {
    Atomics.store(this.w, kSyncDownSince, BigInt(at));
  }

  read(): SyncStatsSnapshot {
    const n = (i: number) => Number(Atomics.load(this.w, i));
    const per = <K extends string>(keys: readonly K[], base: number) =>
      Object.fromEntries(keys.map((k, i) => [k, n(base + i)])) as Record<K, number>;
    return {
      syncs: n(kSyncs),
      commits: n(kCommits),
      contentCommits: n(kContentCommits),
      probes: n(kProbes),
      probeFailures: n(kProbeFailures),
      phaseTotalUs: per(PHASES, kPhaseTotal),
      phaseLastUs: per(PHASES, kPhaseLast),
      holdMaxNs: n(kHoldMax),
      holdTotalNs: n(kHoldTotal),
      holdBuckets: Array.from({ length: HOLD_BUCKETS_US.length + 1 }, (_, i) => n(kHoldBucket + i)),
      clustersByState: per(STATES, kState),
      lastSyncAt: n(kLastSyncAt),
      lastCommitAt: n(kLastCommitAt),
      syncDownSince: n(kSyncDownSince),
    };
  }
}

/** p-quantile (0..1) of the hold histogram, in µs, from bucket upper bounds (an over-estimate). */
export function holdQuantileUs(buckets: number[], q: number): number {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (seen >= rank) return i < HOLD_BUCKETS_US.length ? HOLD_BUCKETS_US[i]! : Infinity;
  }
  return Infinity;
}
