import { describe, expect, it } from 'vitest';
import {
  checkCanaries,
  createSharedRegion,
  kActiveBufferWord,
  kBufferCapacityWord,
  kBufferOffsetWord,
  kCanaryOffset,
  kDefaultMaxByteLength,
  kHeadBytes,
  kIndexRegionOffset,
  kLineBytes,
  kMaxThreads,
  kMaxThreadsWord,
  kReaderSlotsOffset,
  kStatsOffset,
  kSyncStatsOffset,
  kSyncStatsRegionBytes,
  kWriterMutexWord,
  kWriterPendingWord,
  kWriterOwnerWord,
  kSyncRequestWord,
  kSyncServedWord,
  kGenerationWord,
  headInt32,
  readMode,
  slotOwnerWord,
  slotStateWord,
  statsLineOffset,
} from '../../src/shm/layout.js';
import { kSyncStatsUsedBytes } from '../../src/sync/stats.js';

const line = (word: number) => Math.floor((word * 4) / kLineBytes);

describe('shared-memory layout', () => {
  it('regions are line-aligned, ordered and do not overlap', () => {
    const starts = [kReaderSlotsOffset, kStatsOffset, kSyncStatsOffset, kCanaryOffset, kIndexRegionOffset];
    for (const s of starts) expect(s % kLineBytes).toBe(0);
    expect(kStatsOffset).toBe(kReaderSlotsOffset + kMaxThreads * kLineBytes);
    expect(kSyncStatsOffset).toBe(kStatsOffset + kMaxThreads * kLineBytes);
    expect(kCanaryOffset).toBe(kSyncStatsOffset + kSyncStatsRegionBytes);
    expect(kHeadBytes).toBe(kIndexRegionOffset);
    expect(kSyncStatsRegionBytes).toBe(1024);
    // What src/sync/stats.ts uses of the reserved block fits it (it also checks at load).
    expect(kSyncStatsUsedBytes).toBeLessThanOrEqual(kSyncStatsRegionBytes);
  });

  it('each reader slot has its own line; the writer words share none with slots or control', () => {
    const lines = new Set<number>();
    for (let i = 0; i < kMaxThreads; i++) {
      expect(line(slotStateWord(i))).toBe(line(slotOwnerWord(i)));
      lines.add(line(slotStateWord(i)));
      expect(statsLineOffset(i) % kLineBytes).toBe(0);
    }
    expect(lines.size).toBe(kMaxThreads);
    expect(line(kWriterMutexWord)).toBe(line(kWriterPendingWord));
    expect(line(kWriterOwnerWord)).toBe(line(kWriterPendingWord));
    expect(lines.has(line(kWriterPendingWord))).toBe(false);
    expect(line(kSyncRequestWord)).toBe(line(kSyncServedWord));
    expect(line(kSyncRequestWord)).not.toBe(line(kGenerationWord));
    expect(line(kSyncRequestWord)).not.toBe(line(kWriterPendingWord));
  });

  it('createSharedRegion writes the control words', () => {
    const sab = createSharedRegion({ mode: 'mutex', maxThreads: 8, initialIndexBytes: 1000 });
    expect(sab.growable).toBe(true);
    expect(sab.maxByteLength).toBe(kDefaultMaxByteLength);
    expect(readMode(sab)).toBe('mutex');
    expect(Atomics.load(headInt32(sab), kMaxThreadsWord)).toBe(8);
    expect(checkCanaries(sab)).toBe(true);
    const i32 = headInt32(sab);
    expect(i32[kActiveBufferWord]).toBe(0);
    expect(i32[kBufferOffsetWord(0)]).toBe(kIndexRegionOffset);
    expect(i32[kBufferCapacityWord(0)]).toBe(1024);
    expect(i32[kBufferOffsetWord(1)]).toBe(kIndexRegionOffset + 1024);
    expect(sab.byteLength).toBe(kIndexRegionOffset + 2048);
    expect(readMode(createSharedRegion())).toBe('rw');
    expect(readMode(createSharedRegion({ mode: 'none' }))).toBe('none');
  });

  it('rejects bad options and foreign buffers', () => {
    expect(() => createSharedRegion({ mode: 'x' as never })).toThrow(/unknown lock mode/);
    expect(() => createSharedRegion({ maxThreads: 0 })).toThrow(/maxThreads/);
    expect(() => createSharedRegion({ maxThreads: kMaxThreads + 1 })).toThrow(/maxThreads/);
    expect(() => readMode(new SharedArrayBuffer(kHeadBytes))).toThrow(/bad magic/);
    expect(() => readMode(new SharedArrayBuffer(16))).toThrow(/not a fleetgate/);
  });
});
