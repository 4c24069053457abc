/**
 * What every part of a cluster's generation shares: the seeded random stream, the clock that
 * stamps creation times, the output list, and the helpers that make names, uids and metadata
 * from them. Parts draw from one stream in a fixed order, so a part that draws one number more
 * or less changes every object generated after it (test/sim/golden.test.ts notices).
 */

export type Obj = Record<string, any>;

export interface GeneratedObject {
  /** Resource plural, e.g. "pods" or "deployments". */
  key: string;
  obj: Obj;
}

/** Fixed epoch for creation timestamps, so objects are the same from run to run. */
export const kSimEpochMs = Date.UTC(2025, 0, 1);

export const kHex = '0123456789abcdef';
export const kAlnum = 'bcdfghjklmnpqrstvwxz2456789';

export function hashString(s: string): number {
  // FNV-1a 32-bit.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for test data. */
export function rngFrom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenContext {
  readonly cluster: string;
  readonly gitVersion: string;
  /** Everything generated so far, in order. */
  readonly out: GeneratedObject[];
  /** Uniform in [0, 1). */
  rnd(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  pick<T>(a: readonly T[]): T;
  /** n characters drawn from alphabet. */
  rand(n: number, alphabet: string): string;
  uid(): string;
  /** Advances the clock by advanceMin minutes and up to one more, and returns it as an RFC 3339 time. */
  ts(advanceMin?: number): string;
  /** Appends an object of resource `key` and returns it (later parts may still fill its status). */
  add(key: string, obj: Obj): Obj;
  /** ObjectMeta with a fresh uid and creation time. */
  meta(name: string, namespace?: string, labels?: Record<string, string>, extra?: Obj): Obj;
  /** The ownerReferences naming `o` as controller. */
  owner(apiVersion: string, kind: string, o: Obj): Obj[];
}

/** Closures, not methods: parts destructure what they use. */
export function createContext(cluster: string, seed: number, gitVersion: string): GenContext {
  const rnd = rngFrom(hashString(`${seed}:${cluster}`));
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)];
  const rand = (n: number, alphabet: string) => {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[int(alphabet.length)];
    return s;
  };
  const uid = () => `${rand(8, kHex)}-${rand(4, kHex)}-4${rand(3, kHex)}-a${rand(3, kHex)}-${rand(12, kHex)}`;
  let clock = kSimEpochMs;
  const ts = (advanceMin = 0) => {
    clock += advanceMin * 60_000 + int(60_000);
    return new Date(clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  };
  const out: GeneratedObject[] = [];
  const add = (key: string, obj: Obj) => {
    out.push({ key, obj });
    return obj;
  };
  const meta = (name: string, namespace?: string, labels?: Record<string, string>, extra: Obj = {}): Obj => {
    const m: Obj = { name };
    if (namespace !== undefined) m.namespace = namespace;
    m.uid = uid();
    m.creationTimestamp = ts(1);
    if (labels && Object.keys(labels).length) m.labels = labels;
    return Object.assign(m, extra);
  };
  const owner = (apiVersion: string, kind: string, o: Obj) => [
    { apiVersion, kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true },
  ];
  return { cluster, gitVersion, out, rnd, int, pick, rand, uid, ts, add, meta, owner };
}
