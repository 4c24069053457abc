/**
 * Lock statistics in shared memory: one 64-byte line of 8 Float64 per reader slot (layout:
 * src/shm/layout.ts, kStat*). Only the slot's owner writes its line, with plain stores (aligned
 * 8-byte stores do not tear on the platforms Node supports); readers such as /metrics may see a
 * value a few operations old, never a torn one. Lines are per slot and cumulative: a slot that is
 * released and claimed again keeps counting, so sums never go backwards.
 */
import {
  headInt32,
  kMaxThreadsWord,
  kStatAcquisitions,
  kStatContended,
  kStatFields,
  kStatThreadId,
  kStatTornReads,
  kStatWaitNs,
  kStatWriteHoldMaxNs,
  kStatWriteHoldTotalNs,
  kStatWriteLocks,
  slotOwnerWord,
  statsLineOffset,
} from '../shm/layout.js';
import { isSlotFree } from './predicates.js';

export interface LockCounters {
  /** Read and write acquisitions. */
  acquisitions: number;
  /** Acquisitions that had to wait (slow path). */
  contended: number;
  /** Total time spent waiting, ns. */
  waitNs: number;
  /** Longest write-lock hold, ns (max over threads in totals). */
  writeHoldMaxNs: number;
  /** Sum of write-lock holds, ns. */
  writeHoldTotalNs: number;
  /** Write-lock acquisitions (the sync worker's commits). */
  writeLocks: number;
  /** Index checksum mismatches seen by this thread's reader. */
  tornReads: number;
}

export interface LockThreadStats extends LockCounters {
  /** Reader slot the line belongs to. */
  slot: number;
  /** threadId of the slot's current or last owner. */
  threadId: number;
  /** The slot is claimed right now. */
  claimed: boolean;
}

export interface LockStats {
  perThread: LockThreadStats[];
  totals: LockCounters;
}

/** Float64 view of one slot's stats line. */
export function statsLine(sab: SharedArrayBuffer, slot: number): Float64Array {
  return new Float64Array(sab, statsLineOffset(slot), kStatFields);
}

function zeroCounters(): LockCounters {
  return { acquisitions: 0, contended: 0, waitNs: 0, writeHoldMaxNs: 0, writeHoldTotalNs: 0, writeLocks: 0, tornReads: 0 };
}

/** Per-slot and summed lock statistics, for /metrics. Slots never used are left out. */
export function readLockStats(sab: SharedArrayBuffer): LockStats {
  const i32 = headInt32(sab);
  const max = Atomics.load(i32, kMaxThreadsWord);
  const perThread: LockThreadStats[] = [];
  const totals = zeroCounters();
  for (let slot = 0; slot < max; slot++) {
    const line = statsLine(sab, slot);
    const claimed = !isSlotFree(Atomics.load(i32, slotOwnerWord(slot)));
    if (!claimed && line[kStatAcquisitions] === 0 && line[kStatTornReads] === 0) continue;
    const s: LockThreadStats = {
      slot,
      threadId: line[kStatThreadId]!,
      claimed,
      acquisitions: line[kStatAcquisitions]!,
      contended: line[kStatContended]!,
      waitNs: line[kStatWaitNs]!,
      writeHoldMaxNs: line[kStatWriteHoldMaxNs]!,
      writeHoldTotalNs: line[kStatWriteHoldTotalNs]!,
      writeLocks: line[kStatWriteLocks]!,
      tornReads: line[kStatTornReads]!,
    };
    perThread.push(s);
    totals.acquisitions += s.acquisitions;
    totals.contended += s.contended;
    totals.waitNs += s.waitNs;
    totals.writeHoldMaxNs = Math.max(totals.writeHoldMaxNs, s.writeHoldMaxNs);
    totals.writeHoldTotalNs += s.writeHoldTotalNs;
    totals.writeLocks += s.writeLocks;
    totals.tornReads += s.tornReads;
  }
  return { perThread, totals };
}

/** Torn reads counted by every thread's index reader. */
export function tornReads(sab: SharedArrayBuffer): number {
  return readLockStats(sab).totals.tornReads;
}
