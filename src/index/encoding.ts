/**
 * Byte layout of one index buffer (A or B; where each lives: src/shm/layout.ts, kBufferOffsetWord).
 * All offsets below are relative to the buffer's start, which is 64-byte aligned. The sync worker
 * writes a whole buffer (the inactive one; the active one in `none` mode) and nothing else does.
 *
 * Buffer header (one 64-byte line, Int32 words):
 * | word | name                | meaning                                              | valid values                         |
 * |------|---------------------|------------------------------------------------------|--------------------------------------|
 * | 0    | kHdrMagic           | index magic                                          | kIndexMagic ('FGIX')                 |
 * | 1    | kHdrGeneration      | index generation this buffer was built for           | >= 1                                 |
 * | 2    | kHdrEntryCount      | entries                                              | 0..(used - header) / kEntHeaderBytes |
 * | 3    | kHdrTableCapacity   | hash buckets                                         | power of two >= kMinTableCapacity    |
 * | 4    | kHdrUsedBytes       | bytes of the buffer in use                           | <= buffer capacity                   |
 * | 5    | kHdrTableOffset     | byte offset of the bucket array                      | = kIndexHeaderBytes                  |
 * | 6    | kHdrOrderOffset     | byte offset of the name-order array                  | = table + capacity * kBucketBytes    |
 * | 7    | kHdrEntriesOffset   | byte offset of the first entry                       | = order + count * 4                  |
 * | 8    | kHdrDefaultOffset   | offset of the entry flagged default (first by name)  | 0 = none, else an entry offset       |
 * | 9    | kHdrChecksum        | entryChecksum of words 0..8                          | —                                    |
 *
 * Bucket (kBucketBytes = 8): word 0 name hash (nameHash of the UTF-8 name), word 1 entry offset
 * (0 = empty bucket; entries never start at 0). Open addressing, linear probing, load <= 1/2.
 * Name-order array: count Int32 entry offsets, sorted by name (JS string order).
 *
 * Entry (4-byte aligned, Int32 words then string bytes):
 * | word      | name             | meaning                                                    |
 * |-----------|------------------|------------------------------------------------------------|
 * | 0         | kEntBytes        | total entry bytes incl. this header, multiple of 4         |
 * | 1         | kEntChecksum     | entryChecksum(words 2..end, seed = kEntBytes word)          |
 * | 2         | kEntHeadChecksum | entryChecksum(words 3..headEnd, seed = kEntBytes word)      |
 * | 3         | kEntId           | database id (> 0)                                          |
 * | 4         | kEntFlags        | kFlag* bits 0..7, state code (kStateCodes) bits 8..15        |
 * | 5         | kEntGeneration   | per-entry generation                                       |
 * | 6         | kEntNameHash     | nameHash(name), as in its bucket                           |
 * | 7, 8      | kEntErrorAt      | errorAt epoch ms, high and low 32 bits                     |
 * | 9, 10     | kEntProbedAt     | probedAt epoch ms, high and low 32 bits                    |
 * | 11..24    | kEntStrLens      | UTF-8 byte length of each string field, by position (below) |
 * | 25..38    | kEntStrChars     | UTF-16 length of each string field (so a reader decodes the |
 * |           |                  | strings with one UTF-8 decode and slices them apart)       |
 * | 39..      | strings          | the string fields' UTF-8 bytes, back to back, zero-padded to 4 |
 *
 * String fields: kStrFields names them once, in storage order; a field's position p is
 * kStr.<field>, its byte length is word kEntStrLens + p, its UTF-16 length word kEntStrChars + p,
 * and strOf.<field> reads it from an input entry. Adding a field is one edit to kStrFields: the
 * positions, counts, word ranges and the encoder's order follow from it; the compiler then asks
 * for the field's strOf reader, the reader copies it out as s[kStr.<field>], and the golden test
 * (test/index/layout-golden.test.ts) asks for a new kLayoutVersion (src/shm/layout.ts).
 * "in": the smallest copy that holds the field (a summary's strings are in the head too).
 * | p  | field          | value                                                      | in      |
 * |----|----------------|------------------------------------------------------------|---------|
 * | 0  | name           | cluster name (lookups compare it without decoding)         | summary |
 * | 1  | description    |                                                            | summary |
 * | 2  | version        | Kubernetes gitVersion, '' before the first probe           | summary |
 * | 3  | error          | last error text, '' = none                                 | summary |
 * | 4  | groups         | group names, sorted, joined by kGroupSeparator; '' = none  | summary |
 * | 5  | configHash     |                                                            | head    |
 * | 6  | prometheusUrl  |                                                            | head    |
 * | 7  | server         | client.server (not secret)                                 | head    |
 * | 8  | caData         | client.caData                                              | secret  |
 * | 9  | certData       | client.certData                                            | secret  |
 * | 10 | keyData        | client.keyData                                             | secret  |
 * | 11 | token          | client.token                                               | secret  |
 * | 12 | tlsServerName  | client.tlsServerName                                       | secret  |
 * | 13 | proxyUrl       | client.proxyUrl                                            | secret  |
 * A summary (GET /api/v1/clusters) is the first kSummaryStrCount strings (name .. groups); the
 * head is the first kHeadStrCount (name .. server: nothing secret).
 *
 * The head: the header words and the first kHeadStrCount strings, i.e. words 3 up to
 * headEnd = ceil((kEntHeaderBytes + their bytes) / 4). The groups are in the head, so the head
 * checksum covers them and every per-request scope check reads verified group names without
 * touching a secret. A lookup by name that needs no credentials verifies only the head checksum
 * and never reads the client config (the CA, client certificate and key, token: about 2 KB a
 * typical entry); in a large index that is the difference between touching a few cache lines and
 * forty. The whole-entry checksum covers the head checksum word too, so a full copy checks
 * everything at once.
 */
import type { ClusterState, IndexEntryInput } from './types.js';
import { entryChecksum, nameHash } from './checksum.js';
import { utf8 } from './utf8.js';

export const kIndexMagic = 0x58494746; // 'FGIX' little-endian
export const kIndexHeaderBytes = 64;
export const kHdrMagic = 0;
export const kHdrGeneration = 1;
export const kHdrEntryCount = 2;
export const kHdrTableCapacity = 3;
export const kHdrUsedBytes = 4;
export const kHdrTableOffset = 5;
export const kHdrOrderOffset = 6;
export const kHdrEntriesOffset = 7;
export const kHdrDefaultOffset = 8;
export const kHdrChecksum = 9;

export const kBucketWords = 2;
export const kBucketBytes = kBucketWords * 4;
export const kMinTableCapacity = 8;

export const kEntBytes = 0;
export const kEntChecksum = 1;
export const kEntHeadChecksum = 2;
export const kEntId = 3;
export const kEntFlags = 4;
export const kEntGeneration = 5;
export const kEntNameHash = 6;
export const kEntErrorAtHi = 7;
export const kEntErrorAtLo = 8;
export const kEntProbedAtHi = 9;
export const kEntProbedAtLo = 10;
export const kEntStrLens = 11;

/**
 * The string fields in storage order (the table above); the only list of them. The name stays
 * first: a lookup compares it in place, right after the entry header, without decoding.
 */
export const kStrFields = [
  'name',
  'description',
  'version',
  'error',
  'groups',
  'configHash',
  'prometheusUrl',
  'server',
  'caData',
  'certData',
  'keyData',
  'token',
  'tlsServerName',
  'proxyUrl',
] as const;
export type StrField = (typeof kStrFields)[number];
export const kStrCount = kStrFields.length;
/** Position of each string field in storage order: kStr.server === kStrFields.indexOf('server'). */
export const kStr: { readonly [F in StrField]: number } = Object.freeze(
  Object.fromEntries(kStrFields.map((f, p) => [f, p])) as { [F in StrField]: number },
);
export const kGroupSeparator = ',';
/** Strings of a summary (GET /api/v1/clusters): name .. groups. */
export const kSummaryStrCount = kStr.groups + 1;
/** Strings in the head (name .. server); kStrFields[kHeadStrCount] is the first secret. */
export const kHeadStrCount = kStr.server + 1;

/** How to read each string field from an input entry (a Record, so a new field cannot be missed). */
const strOf: { readonly [F in StrField]: (e: IndexEntryInput) => string } = {
  name: (e) => e.name,
  description: (e) => e.description,
  version: (e) => e.version,
  error: (e) => e.error,
  groups: (e) => (e.groups === undefined ? '' : e.groups.join(kGroupSeparator)),
  configHash: (e) => e.configHash,
  prometheusUrl: (e) => e.prometheusUrl,
  server: (e) => e.client.server,
  caData: (e) => e.client.caData,
  certData: (e) => e.client.certData,
  keyData: (e) => e.client.keyData,
  token: (e) => e.client.token,
  tlsServerName: (e) => e.client.tlsServerName,
  proxyUrl: (e) => e.client.proxyUrl,
};
/** strOf by position, for the encoder's loops. */
const kStrReaders: readonly ((e: IndexEntryInput) => string)[] = kStrFields.map((f) => strOf[f]);

export const kEntStrChars = kEntStrLens + kStrCount;
export const kEntHeaderWords = kEntStrChars + kStrCount;
export const kEntHeaderBytes = kEntHeaderWords * 4;

export const kFlagEnabled = 1 << 0;
export const kFlagDefault = 1 << 1;
export const kFlagInCluster = 1 << 2;
export const kFlagInsecure = 1 << 3;
export const kStateShift = 8;
/** The state code's bits once shifted down (bits 8..15 of the flags word). */
export const kStateBits = 0xff;
/** State codes; 0 is invalid so zeroed memory never decodes as a state. */
export const kStateCodes: readonly (ClusterState | undefined)[] = [undefined, 'ok', 'error', 'building', 'disabled'];

const kTwo32 = 2 ** 32;

export function stateCode(s: ClusterState): number {
  const c = kStateCodes.indexOf(s);
  if (c <= 0) throw new TypeError(`index: unknown cluster state "${String(s)}"`);
  return c;
}

/** The string field at position `k` (storage order) of an input entry. */
function stringField(e: IndexEntryInput, k: number): string {
  return kStrReaders[k]!(e);
}

/** Buckets for `count` entries: a power of two, load factor at most 1/2. */
export function tableCapacityFor(count: number): number {
  let cap = kMinTableCapacity;
  while (cap < count * 2) cap *= 2;
  return cap;
}

export function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** Fills lens[base..base+kStrCount) with the UTF-8 byte lengths of e's strings; returns entry bytes. */
export function measureEntry(e: IndexEntryInput, lens: Int32Array, base: number): number {
  let total = kEntHeaderBytes;
  for (let k = 0; k < kStrCount; k++) {
    const n = utf8.byteLength(stringField(e, k));
    lens[base + k] = n;
    total += n;
  }
  return (total + 3) & ~3;
}

function splitMs(ms: number): [number, number] {
  const v = Math.max(0, Math.trunc(ms || 0));
  return [Math.floor(v / kTwo32) | 0, v >>> 0 | 0];
}

export function joinMs(hi: number, lo: number): number {
  return (hi >>> 0) * kTwo32 + (lo >>> 0);
}

/**
 * Writes entry `e` at absolute byte `pos` (4-aligned) of the views. `lens` holds its string byte
 * lengths from measureEntry; `bytes` is measureEntry's result. Returns the entry's name hash.
 */
export function encodeEntry(
  u8: Uint8Array,
  i32: Int32Array,
  pos: number,
  e: IndexEntryInput,
  lens: Int32Array,
  lensBase: number,
  bytes: number,
): number {
  const w = pos >> 2;
  const hash = nameHash(e.name);
  const flags =
    (e.enabled ? kFlagEnabled : 0) |
    (e.isDefault ? kFlagDefault : 0) |
    (e.inCluster ? kFlagInCluster : 0) |
    (e.client.insecure ? kFlagInsecure : 0) |
    (stateCode(e.state) << kStateShift);
  i32[w + kEntBytes] = bytes;
  i32[w + kEntId] = e.id;
  i32[w + kEntFlags] = flags;
  i32[w + kEntGeneration] = e.generation;
  i32[w + kEntNameHash] = hash;
  const [eh, el] = splitMs(e.errorAt);
  i32[w + kEntErrorAtHi] = eh;
  i32[w + kEntErrorAtLo] = el;
  const [ph, pl] = splitMs(e.probedAt);
  i32[w + kEntProbedAtHi] = ph;
  i32[w + kEntProbedAtLo] = pl;
  let p = pos + kEntHeaderBytes;
  for (let k = 0; k < kStrCount; k++) {
    const n = lens[lensBase + k]!;
    const str = stringField(e, k);
    i32[w + kEntStrLens + k] = n;
    i32[w + kEntStrChars + k] = str.length;
    if (n > 0) utf8.write(u8, str, p, n);
    p += n;
  }
  // Zero the padding so the checksum covers defined bytes.
  for (; p < pos + bytes; p++) u8[p] = 0;
  i32[w + kEntHeadChecksum] = entryChecksum(i32, w + kEntId, headEndWord(w, headStrBytes(i32, w)), bytes);
  i32[w + kEntChecksum] = entryChecksum(i32, w + kEntHeadChecksum, w + (bytes >> 2), bytes);
  return hash;
}

/**
 * Whether the entry of `len` bytes at word `w` still carries the two checksums encodeEntry wrote
 * for it (the whole entry, and the head). The caller has bounds-checked `len`; the head's end is
 * read from the entry's own length words, so the caller checks it too when those may be damaged.
 */
export function entryChecksumsHold(i32: Int32Array, w: number, len: number): boolean {
  return (
    entryChecksum(i32, w + kEntHeadChecksum, w + (len >> 2), len) === i32[w + kEntChecksum] &&
    entryChecksum(i32, w + kEntId, headEndWord(w, headStrBytes(i32, w)), len) === i32[w + kEntHeadChecksum]
  );
}

/** UTF-8 bytes of the head's strings (the first kHeadStrCount) of the entry at word `w`, from its length words. */
export function headStrBytes(i32: Int32Array, w: number): number {
  let n = 0;
  for (let k = 0; k < kHeadStrCount; k++) n += i32[w + kEntStrLens + k]!;
  return n;
}

/** Word index just past the head of the entry at word `w` whose head strings take headBytes. */
export function headEndWord(w: number, headBytes: number): number {
  return w + ((kEntHeaderBytes + headBytes + 3) >> 2);
}

/** Checksum of a buffer header's words 0..8 (buffer starts at word `hw`). */
export function headerChecksum(i32: Int32Array, hw: number): number {
  return entryChecksum(i32, hw, hw + kHdrChecksum, kIndexMagic);
}

/** The pure relations a valid header satisfies (garbage in `none` mode fails them). */
export function headerShapeOk(
  count: number,
  tableCap: number,
  used: number,
  tableOff: number,
  orderOff: number,
  entriesOff: number,
  defaultOff: number,
  capacity: number,
): boolean {
  return (
    count >= 0 &&
    isPowerOfTwo(tableCap) &&
    tableCap >= kMinTableCapacity &&
    tableOff === kIndexHeaderBytes &&
    tableCap <= (capacity - kIndexHeaderBytes) / kBucketBytes &&
    orderOff === tableOff + tableCap * kBucketBytes &&
    count <= (capacity - orderOff) / (4 + kEntHeaderBytes) &&
    entriesOff === orderOff + count * 4 &&
    used >= entriesOff &&
    used <= capacity &&
    (defaultOff === 0 || (defaultOff >= entriesOff && defaultOff < used && (defaultOff & 3) === 0))
  );
}
