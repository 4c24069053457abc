/**
 * IndexReader: copy-out accessors over the active index buffer (Kite's Snapshot /
 * ClusterVersion / ClusterError). Every accessor takes the read lock, copies what it returns out
 * of shared memory into plain JS values, and releases the lock before returning, so nothing it
 * returns aliases shared memory and the lock is never held across an await.
 *
 * Integrity: every entry copied out has its checksum verified (src/index/checksum.ts; a head
 * copy, lookupHead and listSummary, verifies the head checksum, which covers all it copies) and every
 * offset and length read from shared memory is bounds-checked against the buffer before use;
 * probe and list loops are bounded by the header's counts. A mismatch counts a torn read on this
 * thread's stats line; in `rw` / `mutex` it then throws TornReadError (after unlocking): the lock
 * failed. In `none` mode it returns what it read (torn or not) so an outside verifier can see the
 * corruption, and skips what cannot be decoded safely. Garbage never hangs or crashes the thread.
 */
import type { RwLock } from '../lock/rwlock.js';
import {
  headInt32,
  kActiveBufferWord,
  kBufferCapacityWord,
  kBufferOffsetWord,
  kGenerationWord,
  kIndexRegionOffset,
  kLineBytes,
  kReadyWord,
} from '../shm/layout.js';
import { asciiHash, bytesHash, entryChecksum } from './checksum.js';
import {
  headerChecksum,
  headerShapeOk,
  joinMs,
  kBucketWords,
  kEntChecksum,
  kEntHeadChecksum,
  kEntErrorAtHi,
  kEntErrorAtLo,
  kEntFlags,
  kEntGeneration,
  kEntHeaderBytes,
  kEntId,
  kEntProbedAtHi,
  kEntProbedAtLo,
  kEntStrChars,
  kEntStrLens,
  kFlagDefault,
  kFlagEnabled,
  kFlagInCluster,
  kFlagInsecure,
  kHdrChecksum,
  kHdrDefaultOffset,
  kHdrEntriesOffset,
  kHdrEntryCount,
  kHdrGeneration,
  kHdrMagic,
  kHdrOrderOffset,
  kHdrTableCapacity,
  kHdrTableOffset,
  kHdrUsedBytes,
  kIndexHeaderBytes,
  kIndexMagic,
  kStateCodes,
  kStateBits,
  kStateShift,
  kStrCount,
  kHeadStrCount,
  kGroupSeparator,
  kStr,
  kSummaryStrCount,
  headEndWord,
} from './encoding.js';
import { waitWord } from '../shm/wait-word.js';
import { TornReadError } from './errors.js';
import type { ClusterState, IndexEntry, IndexHead, IndexSummary } from './types.js';
import { utf8 } from './utf8.js';

export interface IndexReaderOptions {
  /**
   * Decoded entries kept per index generation for repeat lookups (default 256 in rw / mutex,
   * always 0 in none mode). A hit still probes and compares the name in shared memory under the
   * read lock and checks the entry's stored checksum word against the cached one; only the full
   * re-hash and UTF-8 decode are skipped, which is sound because a committed buffer is immutable
   * until a later commit changes the generation (which empties the cache). 0 disables it (the
   * hammer tests do, to verify every byte of every read).
   */
  cacheEntries?: number;
}

/** A decoded copy and the stored checksum word it was decoded under. */
interface Cached<T> {
  checksum: number;
  value: T;
}

/** Summaries hold no secrets and are small: keep every entry of a large index. */
const kSummaryCacheMax = 16_384;

function copyEntry(e: IndexEntry): IndexEntry {
  return { ...e, client: { ...e.client } };
}

function copyHead(h: IndexHead): IndexHead {
  return { ...h, client: { server: h.client.server } };
}

function copySummary(s: IndexSummary): IndexSummary {
  return { ...s };
}

export class IndexReader {
  readonly sab: SharedArrayBuffer;
  readonly lock: RwLock;
  private readonly head: Int32Array;
  private readonly countsOnly: boolean;
  private u8: Uint8Array;
  private i32: Int32Array;
  // The active buffer, as validated by activeLocked() (valid only while the read lock is held).
  private base = 0;
  private activeCount = 0;
  private tableCap = 0;
  private tableOff = 0;
  private orderOff = 0;
  private entriesOff = 0;
  private used = 0;
  private defaultOff = 0;
  private gen = 0;
  /** Absolute end of the active buffer's used bytes (bound for every string copy). */
  private limit = 0;
  /** Entry length validated by the last entryShapeOkLocked (re-reading it could see another value in none mode). */
  private shapeLen = 0;
  /** Sum of the string byte lengths validated by the last entryShapeOkLocked. */
  private shapeStrBytes = 0;
  /** The same for the head's strings (the first kHeadStrCount). */
  private shapeHeadBytes = 0;
  /** Torn reads seen during the current accessor; settled after unlock. */
  private torn = 0;
  private keyBuf = utf8.alloc(512);
  private keyLen = 0;
  private keyAscii = true;
  private readonly asciiOut = new Int32Array(1);
  /** Scratch for decodeStringsLocked. */
  private readonly strs: string[] = new Array<string>(kStrCount).fill('');

  private readonly cache: Map<number, Cached<IndexEntry>> | null;
  /** Heads by entry offset, same size, lifetime and checks as `cache` (head checksum word). */
  private readonly headCache: Map<number, Cached<IndexHead>> | null;
  /** Summaries (no client config) by entry offset, same lifetime and checks as `headCache`. */
  private readonly summaryCache: Map<number, Cached<IndexSummary>> | null;
  private readonly cacheMax: number;
  private cacheGen = -1;
  private cacheBase = -1;
  // The decoders as values, bound once, so the lookups pass them without a closure per call.
  private readonly decodeFull = (eoff: number): IndexEntry => this.decodeLocked(eoff);
  private readonly decodeHead = (eoff: number): IndexHead => this.decodeHeadLocked(eoff);
  private readonly decodeSummary = (eoff: number): IndexSummary => this.decodeSummaryLocked(eoff);
  private readonly decodeFullCached = (eoff: number): IndexEntry => this.decodeCachedLocked(eoff);
  private readonly decodeHeadCached = (eoff: number): IndexHead => this.decodeHeadCachedLocked(eoff);

  constructor(sab: SharedArrayBuffer, lock: RwLock, opts: IndexReaderOptions = {}) {
    if (lock.sab !== sab) throw new TypeError('index: the lock handle belongs to a different shared region');
    this.cacheMax = lock.mode === 'none' ? 0 : Math.max(0, opts.cacheEntries ?? 256);
    this.cache = this.cacheMax > 0 ? new Map() : null;
    this.headCache = this.cacheMax > 0 ? new Map() : null;
    this.summaryCache = this.cacheMax > 0 ? new Map() : null;
    this.sab = sab;
    this.lock = lock;
    this.head = headInt32(sab);
    this.countsOnly = lock.mode === 'none';
    this.u8 = utf8.view(sab, sab.byteLength);
    this.i32 = new Int32Array(sab, 0, sab.byteLength >> 2);
  }

  /** The entry named `name` with its client config, copied out, or undefined. */
  lookup(name: string): IndexEntry | undefined {
    return this.lookupWith(name, this.decodeFullCached);
  }

  /**
   * The entry named `name` without its credentials (IndexHead), copied out, or undefined: the
   * per-request lookup. Reads and verifies the head only, so its cost does not grow with the
   * size of the cluster's CA, certificate or token.
   */
  lookupHead(name: string): IndexHead | undefined {
    return this.lookupWith(name, this.decodeHeadCached);
  }

  /** copyOut's shape for a lookup by name, written out so the per-request path makes no closure. */
  private lookupWith<T>(name: string, decode: (eoff: number) => T): T | undefined {
    if (typeof name !== 'string') return undefined;
    this.torn = 0;
    const lock = this.lock;
    lock.readLock();
    let found: T | undefined;
    try {
      const eoff = this.findLocked(name);
      if (eoff !== 0) found = decode(eoff);
    } finally {
      lock.readUnlock();
    }
    if (this.torn !== 0) this.settleTorn();
    return found;
  }

  /** The head (see lookupHead) of the entry flagged isDefault (the first by name if several are), or undefined. */
  lookupDefaultHead(): IndexHead | undefined {
    return this.copyOut(() => this.lookupDefaultLocked(this.decodeHeadCached));
  }

  /** Every entry, copied out, sorted by name. */
  list(): IndexEntry[] {
    const out: IndexEntry[] = [];
    return this.copyOut(() => (this.listLocked(out, true), out));
  }

  /** Entries in the live index, without decoding any (a 404 costs no more than a hit). */
  count(): number {
    return this.copyOut(() => (this.activeLocked() ? this.activeCount : 0));
  }

  /** Every entry's summary (no client config, no secrets), sorted by name. */
  listSummary(): IndexSummary[] {
    const out: IndexSummary[] = [];
    return this.copyOut(() => (this.listLocked(out, false), out));
  }

  /**
   * Runs a copy-out under the read lock, then settles torn reads counted during it (after the
   * unlock, so a TornReadError never leaves the lock held). lookupWith() writes out the same
   * shape to keep the per-request path free of a closure.
   */
  private copyOut<T>(readLocked: () => T): T {
    this.torn = 0;
    const lock = this.lock;
    lock.readLock();
    let result: T;
    try {
      result = readLocked();
    } finally {
      lock.readUnlock();
    }
    if (this.torn !== 0) this.settleTorn();
    return result;
  }

  /** Generation of the live index (0 before the first commit). */
  generation(): number {
    return Atomics.load(this.head, kGenerationWord);
  }

  /** The first commit has happened (/readyz). */
  isReady(): boolean {
    return Atomics.load(this.head, kReadyWord) === 1;
  }

  /**
   * Resolves true once the index generation is >= minGen, false after timeoutMs. Waits with
   * Atomics.waitAsync: the event loop keeps running, no lock is held.
   */
  waitForGeneration(minGen: number, timeoutMs: number): Promise<boolean> {
    // Pairs with the Atomics.notify(kGenerationWord) after each commit in IndexWriter.publish,
    // which stores the generation first (wait-word.ts says why that loses no wake-up).
    return waitWord(this.head, kGenerationWord, (g) => g >= minGen, timeoutMs);
  }

  // ---- under the read lock ------------------------------------------------------------------

  private settleTorn(): void {
    const n = this.torn;
    this.torn = 0;
    for (let i = 0; i < n; i++) this.lock.countTornRead();
    if (!this.countsOnly) throw new TornReadError(n);
  }

  private refreshViews(): void {
    const len = this.sab.byteLength;
    this.u8 = utf8.view(this.sab, len);
    this.i32 = new Int32Array(this.sab, 0, len >> 2);
  }

  /** Loads and validates the active buffer's header into this.*; false if empty or invalid. */
  private activeLocked(): boolean {
    const head = this.head;
    if (Atomics.load(head, kReadyWord) === 0) return false;
    const b = Atomics.load(head, kActiveBufferWord) & 1;
    const off = Atomics.load(head, kBufferOffsetWord(b));
    const cap = Atomics.load(head, kBufferCapacityWord(b));
    if (off < kIndexRegionOffset || off % kLineBytes !== 0 || cap < kIndexHeaderBytes) {
      this.torn++;
      return false;
    }
    if (off + cap > this.u8.length) {
      this.refreshViews();
      if (off + cap > this.u8.length) {
        this.torn++;
        return false;
      }
    }
    const i32 = this.i32;
    const hw = off >> 2;
    if (i32[hw + kHdrMagic] !== kIndexMagic || i32[hw + kHdrChecksum] !== headerChecksum(i32, hw)) {
      this.torn++;
      return false;
    }
    const count = i32[hw + kHdrEntryCount]!;
    const tableCap = i32[hw + kHdrTableCapacity]!;
    const used = i32[hw + kHdrUsedBytes]!;
    const tableOff = i32[hw + kHdrTableOffset]!;
    const orderOff = i32[hw + kHdrOrderOffset]!;
    const entriesOff = i32[hw + kHdrEntriesOffset]!;
    const defaultOff = i32[hw + kHdrDefaultOffset]!;
    if (!headerShapeOk(count, tableCap, used, tableOff, orderOff, entriesOff, defaultOff, cap)) {
      this.torn++;
      return false;
    }
    this.base = off;
    this.activeCount = count;
    this.tableCap = tableCap;
    this.tableOff = tableOff;
    this.orderOff = orderOff;
    this.entriesOff = entriesOff;
    this.used = used;
    this.defaultOff = defaultOff;
    this.gen = i32[hw + kHdrGeneration]!;
    this.limit = off + used;
    return true;
  }

  /** Bounds of the entry at buffer-relative `eoff`: header, length and string lengths all inside. */
  private entryShapeOkLocked(eoff: number): boolean {
    if ((eoff & 3) !== 0 || eoff < this.entriesOff || eoff + kEntHeaderBytes > this.used) return false;
    const i32 = this.i32;
    const w = (this.base + eoff) >> 2;
    const len = i32[w]!;
    if (len < kEntHeaderBytes || (len & 3) !== 0 || eoff + len > this.used) return false;
    let sum = 0;
    let head = 0;
    for (let k = 0; k < kStrCount; k++) {
      const n = i32[w + kEntStrLens + k]!;
      if (n < 0) return false;
      sum += n;
      if (k === kHeadStrCount - 1) head = sum;
    }
    this.shapeHeadBytes = head;
    this.shapeLen = len;
    this.shapeStrBytes = sum;
    return sum <= len - kEntHeaderBytes;
  }

  /** Sets keyLen / keyAscii (and keyBuf for non-ASCII names); returns the name hash. */
  private keyOf(name: string): number {
    const h = asciiHash(name, this.asciiOut);
    if (this.asciiOut[0] === 1) {
      this.keyAscii = true;
      this.keyLen = name.length;
      return h;
    }
    const n = utf8.byteLength(name);
    if (this.keyBuf.length < n) this.keyBuf = utf8.alloc(n);
    this.keyAscii = false;
    this.keyLen = n;
    utf8.write(this.keyBuf, name, 0, n);
    return bytesHash(this.keyBuf, 0, this.keyLen);
  }

  private nameMatchesLocked(eoff: number, name: string): boolean {
    const pos = this.base + eoff;
    const n = this.i32[(pos >> 2) + kEntStrLens + kStr.name]!;
    if (n !== this.keyLen) return false;
    const u8 = this.u8;
    // The name is the first string field (kStrFields), so its bytes start right after the header.
    const p = pos + kEntHeaderBytes;
    if (this.keyAscii) {
      for (let i = 0; i < n; i++) if (u8[p + i] !== name.charCodeAt(i)) return false;
    } else {
      const k = this.keyBuf;
      for (let i = 0; i < n; i++) if (u8[p + i] !== k[i]) return false;
    }
    return true;
  }

  /** Buffer-relative offset of the shape-checked entry named `name`, or 0. */
  private findLocked(name: string): number {
    if (!this.activeLocked()) return 0;
    const hash = this.keyOf(name);
    const i32 = this.i32;
    const cap = this.tableCap;
    const mask = cap - 1;
    const tw = (this.base + this.tableOff) >> 2;
    let b = hash & mask;
    // Bounded: at most one pass over the table, whatever the bytes say.
    for (let n = 0; n < cap; n++, b = (b + 1) & mask) {
      const eoff = i32[tw + b * kBucketWords + 1]!;
      if (eoff === 0) return 0;
      if (i32[tw + b * kBucketWords] !== hash) continue;
      if (!this.entryShapeOkLocked(eoff)) {
        this.torn++;
        continue;
      }
      if (this.nameMatchesLocked(eoff, name)) return eoff;
    }
    return 0;
  }

  /** decodeLocked through the per-generation cache (see IndexReaderOptions.cacheEntries). */
  private decodeCachedLocked(eoff: number): IndexEntry {
    return this.cachedLocked(this.cache, eoff, kEntChecksum, this.cacheMax, copyEntry, this.decodeFull);
  }

  /** decodeHeadLocked through its per-generation cache. */
  private decodeHeadCachedLocked(eoff: number): IndexHead {
    return this.cachedLocked(this.headCache, eoff, kEntHeadChecksum, this.cacheMax, copyHead, this.decodeHead);
  }

  /**
   * A copy of the entry at `eoff` through `cache`: a hit needs the stored checksum word
   * (`checksumWord`) to equal the one the cached copy was verified under. Sound because a
   * committed buffer is immutable until a later commit changes the generation, which empties the
   * caches (syncCachesLocked); the probe and name compare still ran in shared memory.
   */
  private cachedLocked<T>(
    cache: Map<number, Cached<T>> | null,
    eoff: number,
    checksumWord: number,
    max: number,
    copy: (v: T) => T,
    decode: (eoff: number) => T,
  ): T {
    if (cache === null) return decode(eoff);
    this.syncCachesLocked();
    const checksum = this.i32[((this.base + eoff) >> 2) + checksumWord]!;
    const hit = cache.get(eoff);
    if (hit !== undefined && hit.checksum === checksum) return copy(hit.value);
    const torn = this.torn;
    const value = decode(eoff);
    // Admit only while there is room: under a uniform spread of names a full cache would
    // otherwise churn (and promote short-lived copies to the old generation); it empties at the
    // next commit.
    if (this.torn === torn && cache.size < max) cache.set(eoff, { checksum, value: copy(value) });
    return value;
  }

  private lookupDefaultLocked<T>(decode: (eoff: number) => T): T | undefined {
    if (!this.activeLocked() || this.defaultOff === 0) return undefined;
    if (!this.entryShapeOkLocked(this.defaultOff)) {
      this.torn++;
      return undefined;
    }
    return decode(this.defaultOff);
  }

  /** Empties the decode caches when the active buffer is no longer the one they were filled from. */
  private syncCachesLocked(): void {
    if (this.cacheGen !== this.gen || this.cacheBase !== this.base) {
      this.cache?.clear();
      this.headCache?.clear();
      this.summaryCache?.clear();
      this.cacheGen = this.gen;
      this.cacheBase = this.base;
    }
  }

  private listLocked(out: (IndexEntry | IndexSummary)[], full: boolean): void {
    if (!this.activeLocked()) return;
    const ow = (this.base + this.orderOff) >> 2;
    const i32 = this.i32;
    for (let k = 0; k < this.activeCount; k++) {
      const eoff = i32[ow + k]!;
      if (!this.entryShapeOkLocked(eoff)) {
        this.torn++;
        continue;
      }
      if (full) out.push(this.decodeLocked(eoff));
      else out.push(this.cachedLocked(this.summaryCache, eoff, kEntHeadChecksum, kSummaryCacheMax, copySummary, this.decodeSummary));
    }
  }

  /** UTF-8 string of n bytes at p; bounds re-checked (in none mode lengths can change under us). */
  private str(p: number, n: number): string {
    if (n === 0) return '';
    if (n < 0 || p < this.base || p + n > this.limit) {
      this.torn++;
      return '';
    }
    return utf8.decode(this.u8, p, p + n);
  }

  /** Verifies the whole-entry checksum of a shape-checked entry; counts a torn read on mismatch. */
  private verifyLocked(w: number): void {
    const i32 = this.i32;
    const len = this.shapeLen;
    if (entryChecksum(i32, w + kEntHeadChecksum, w + (len >> 2), len) !== i32[w + kEntChecksum]) this.torn++;
  }

  /** Verifies the head checksum of a shape-checked entry (headEnd <= its end: shape-checked). */
  private verifyHeadLocked(w: number): void {
    const i32 = this.i32;
    if (entryChecksum(i32, w + kEntId, headEndWord(w, this.shapeHeadBytes), this.shapeLen) !== i32[w + kEntHeadChecksum]) this.torn++;
  }

  private stateOf(flags: number): ClusterState {
    return kStateCodes[(flags >>> kStateShift) & kStateBits] ?? 'error';
  }

  /**
   * Decodes the first `fields` strings of the entry at word `w` with one UTF-8 decode of their
   * bytes, then slices them apart by their stored UTF-16 lengths into this.strs.
   */
  private decodeStringsLocked(w: number, fields: number): void {
    const i32 = this.i32;
    let bytes = 0;
    if (fields === kStrCount) bytes = this.shapeStrBytes;
    else if (fields === kHeadStrCount) bytes = this.shapeHeadBytes;
    else for (let k = 0; k < fields; k++) bytes += i32[w + kEntStrLens + k]!;
    const all = this.str((w << 2) + kEntHeaderBytes, bytes);
    const strs = this.strs;
    let c = 0;
    for (let k = 0; k < fields; k++) {
      const n = i32[w + kEntStrChars + k]!;
      if (n < 0 || c + n > all.length) {
        // Lengths disagree with the bytes: torn (none mode) or corrupt.
        this.torn++;
        for (; k < fields; k++) strs[k] = '';
        return;
      }
      strs[k] = n === 0 ? '' : all.slice(c, c + n);
      c += n;
    }
  }

  /** Copies out a shape-checked entry (checksum verified). */
  private decodeLocked(eoff: number): IndexEntry {
    const w = (this.base + eoff) >> 2;
    this.verifyLocked(w);
    this.decodeStringsLocked(w, kStrCount);
    const flags = this.i32[w + kEntFlags]!;
    const s = this.strs;
    return this.fieldsLocked(w, flags, {
      server: s[kStr.server]!,
      caData: s[kStr.caData]!,
      certData: s[kStr.certData]!,
      keyData: s[kStr.keyData]!,
      token: s[kStr.token]!,
      tlsServerName: s[kStr.tlsServerName]!,
      insecure: (flags & kFlagInsecure) !== 0,
      proxyUrl: s[kStr.proxyUrl]!,
    });
  }

  /** Copies out a shape-checked entry's head (head checksum verified). */
  private decodeHeadLocked(eoff: number): IndexHead {
    const w = (this.base + eoff) >> 2;
    this.verifyHeadLocked(w);
    this.decodeStringsLocked(w, kHeadStrCount);
    return this.fieldsLocked(w, this.i32[w + kEntFlags]!, { server: this.strs[kStr.server]! });
  }

  /** The fields an entry and its head share, from word `w` and this.strs, around `client`. */
  private fieldsLocked<C>(w: number, flags: number, client: C): Omit<IndexEntry, 'client'> & { client: C } {
    const i32 = this.i32;
    const s = this.strs;
    return {
      id: i32[w + kEntId]!,
      name: s[kStr.name]!,
      description: s[kStr.description]!,
      enabled: (flags & kFlagEnabled) !== 0,
      isDefault: (flags & kFlagDefault) !== 0,
      inCluster: (flags & kFlagInCluster) !== 0,
      state: this.stateOf(flags),
      version: s[kStr.version]!,
      error: s[kStr.error]!,
      errorAt: joinMs(i32[w + kEntErrorAtHi]!, i32[w + kEntErrorAtLo]!),
      probedAt: joinMs(i32[w + kEntProbedAtHi]!, i32[w + kEntProbedAtLo]!),
      groups: splitGroups(s[kStr.groups]!),
      configHash: s[kStr.configHash]!,
      generation: i32[w + kEntGeneration]!,
      prometheusUrl: s[kStr.prometheusUrl]!,
      client,
      indexGeneration: this.gen,
    };
  }

  private decodeSummaryLocked(eoff: number): IndexSummary {
    const w = (this.base + eoff) >> 2;
    this.verifyHeadLocked(w);
    this.decodeStringsLocked(w, kSummaryStrCount);
    const i32 = this.i32;
    const flags = i32[w + kEntFlags]!;
    const s = this.strs;
    return {
      id: i32[w + kEntId]!,
      name: s[kStr.name]!,
      description: s[kStr.description]!,
      enabled: (flags & kFlagEnabled) !== 0,
      isDefault: (flags & kFlagDefault) !== 0,
      inCluster: (flags & kFlagInCluster) !== 0,
      state: this.stateOf(flags),
      version: s[kStr.version]!,
      error: s[kStr.error]!,
      groups: splitGroups(s[kStr.groups]!),
      generation: i32[w + kEntGeneration]!,
      indexGeneration: this.gen,
    };
  }
}

const kNoGroups: readonly string[] = Object.freeze([]);

/** The groups field as stored ('' or names joined by kGroupSeparator), as a frozen list. */
function splitGroups(s: string): readonly string[] {
  return s === '' ? kNoGroups : Object.freeze(s.split(kGroupSeparator));
}
