/**
 * UTF-8 over shared memory, for the index encoder and reader, in Node and in a browser.
 *
 * The index modules import nothing from Node (the teaching demo runs them in Web Workers), yet
 * on the server the reader's string decode is on every request's path, and Node's Buffer decodes
 * UTF-8 natively, straight out of a SharedArrayBuffer. Buffer is a global in Node, not an
 * import, so the codec is chosen once here: Buffer's when the global exists, else a portable
 * one built on TextEncoder / TextDecoder.
 *
 * The portable decode copies the bytes out before decoding because browsers' TextDecoder
 * refuses views of a SharedArrayBuffer; the copy also means a string never aliases shared
 * memory. Torn bytes (none mode) decode to U+FFFD, never throw, in both codecs.
 */

export interface Utf8Codec {
  /** A byte view of sab[0, len) that write and decode accept. */
  view(sab: SharedArrayBuffer, len: number): Uint8Array;
  /** A private byte array of n zeros that write and decode accept. */
  alloc(n: number): Uint8Array;
  /** UTF-8 byte length of s. */
  byteLength(s: string): number;
  /** Writes s's UTF-8 bytes (n of them, as byteLength said) at u8[pos..]. */
  write(u8: Uint8Array, s: string, pos: number, n: number): void;
  /** The string of u8[start, end). */
  decode(u8: Uint8Array, start: number, end: number): string;
}

/** The parts of Node's Buffer the codec uses (utf8Slice: unlisted, argument-check free). */
interface NodeBufferMethods {
  utf8Slice?(start: number, end: number): string;
  toString(encoding: 'utf8', start: number, end: number): string;
  write(s: string, offset: number, length: number, encoding: 'utf8'): number;
}
type NodeBuffer = Uint8Array & NodeBufferMethods;
interface NodeBufferClass {
  from(sab: SharedArrayBuffer, offset: number, length: number): NodeBuffer;
  alloc(n: number): NodeBuffer;
  byteLength(s: string, encoding: 'utf8'): number;
  prototype: NodeBufferMethods;
}

function nodeCodec(B: NodeBufferClass): Utf8Codec {
  const hasUtf8Slice = typeof B.prototype.utf8Slice === 'function';
  return {
    view: (sab, len) => B.from(sab, 0, len),
    alloc: (n) => B.alloc(n),
    byteLength: (s) => B.byteLength(s, 'utf8'),
    write: (u8, s, pos, n) => void (u8 as unknown as NodeBufferMethods).write(s, pos, n, 'utf8'),
    decode: hasUtf8Slice
      ? (u8, start, end) => (u8 as unknown as NodeBufferMethods).utf8Slice!(start, end)
      : (u8, start, end) => (u8 as unknown as NodeBufferMethods).toString('utf8', start, end),
  };
}

function portableCodec(): Utf8Codec {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8');
  return {
    view: (sab, len) => new Uint8Array(sab, 0, len),
    alloc: (n) => new Uint8Array(n),
    byteLength: utf8ByteLength,
    write: (u8, s, pos, n) => u8.set(encoder.encode(s).subarray(0, n), pos),
    // slice() copies into a fresh, unshared buffer (TextDecoder rejects shared views).
    decode: (u8, start, end) => decoder.decode(u8.slice(start, end)),
  };
}

/** UTF-8 length of s without encoding it (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const nodeBuffer = (globalThis as { Buffer?: NodeBufferClass }).Buffer;

/** The codec of this runtime. */
export const utf8: Utf8Codec = nodeBuffer !== undefined ? nodeCodec(nodeBuffer) : portableCodec();

/** The portable codec, also in Node (tests compare the two). */
export const portableUtf8: Utf8Codec = portableCodec();
