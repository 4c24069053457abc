/**
 * Integrity hashes for the index. Both are 32-bit, fast in JS (Math.imul) and need no table.
 *
 * - entryChecksum: FNV-1a style over Int32 words in four independent lanes (so the multiply
 *   latency chains overlap), then a murmur3 finaliser. Each lane is a chain of bijections of its
 *   state, so changing any single word always changes the result; a torn entry (bytes from two
 *   different writes) is missed with probability about 2^-32.
 * - nameHash: FNV-1a over the UTF-8 bytes of a name (the hash table key).
 */

const kFnvOffset = 0x811c9dc5 | 0;
const kFnvPrime = 0x01000193;

/** Checksum of i32[start, end) (word indices), seeded (the entry's length word goes in the seed). */
export function entryChecksum(i32: Int32Array, start: number, end: number, seed: number): number {
  let h0 = kFnvOffset ^ seed;
  let h1 = 0x9e3779b9 | 0;
  let h2 = 0x85ebca6b | 0;
  let h3 = 0xc2b2ae35 | 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    h0 = Math.imul(h0 ^ i32[i]!, kFnvPrime);
    h1 = Math.imul(h1 ^ i32[i + 1]!, kFnvPrime);
    h2 = Math.imul(h2 ^ i32[i + 2]!, kFnvPrime);
    h3 = Math.imul(h3 ^ i32[i + 3]!, kFnvPrime);
  }
  for (; i < end; i++) h0 = Math.imul(h0 ^ i32[i]!, kFnvPrime);
  let h = fmix(h0) ^ fmix(h1 + 1) ^ fmix(h2 + 2) ^ fmix(h3 + 3);
  h = fmix(h ^ (end - start));
  return h | 0;
}

/** murmur3 32-bit finaliser. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** FNV-1a over bytes u8[start, end). */
export function bytesHash(u8: Uint8Array, start: number, end: number): number {
  let h = kFnvOffset;
  for (let i = start; i < end; i++) h = Math.imul(h ^ u8[i]!, kFnvPrime);
  return h | 0;
}

/**
 * FNV-1a of a string's UTF-8 bytes when the string is ASCII (then bytes = char codes), or -1 in
 * `asciiOut[0]` = 0 when it is not (the caller encodes and uses bytesHash).
 */
export function asciiHash(s: string, asciiOut: Int32Array): number {
  let h = kFnvOffset;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      asciiOut[0] = 0;
      return 0;
    }
    h = Math.imul(h ^ c, kFnvPrime);
  }
  asciiOut[0] = 1;
  return h | 0;
}

const encoder = new TextEncoder();

/** FNV-1a over the UTF-8 bytes of any string (writer side; allocation is fine there). */
export function nameHash(name: string): number {
  const b = encoder.encode(name);
  return bytesHash(b, 0, b.length);
}
