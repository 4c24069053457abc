/**
 * Shared test helpers for the lock and index suites (imported by tests and by worker fixtures).
 */
import type { IndexEntryInput } from '../../src/index/types.js';

/** Control-block words of the tests' own small SharedArrayBuffer (not the region). */
export const kCtlActivity = 0; // readers add 1, writers add 10000 (HammerRWMutex)
export const kCtlStop = 1; // set to 1 to stop looping workers
export const kCtlReady = 2; // workers add 1 when they reached their "holding" point
export const kCtlWords = 16;

export function newCtl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(kCtlWords * 4));
}

/** mulberry32: small seeded PRNG; the seed is printed by tests on failure. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedFromEnv(): number {
  const env = process.env.FLEETGATE_SEED;
  return env ? Number(env) >>> 0 : (Date.now() ^ (process.pid << 8)) >>> 0;
}

export function pem(bytes: number, fill = 'A'): string {
  return '-----BEGIN CERTIFICATE-----\n' + fill.repeat(Math.max(0, bytes)) + '\n-----END CERTIFICATE-----\n';
}

/** A complete entry; `tag` goes into description and version so readers can check consistency. */
export function makeEntry(i: number, tag: string, configBytes = 200, extra: Partial<IndexEntryInput> = {}): IndexEntryInput {
  return {
    id: i + 1,
    name: `cluster-${String(i).padStart(5, '0')}`,
    description: `tag:${tag}`,
    enabled: i % 7 !== 3,
    isDefault: i === 0,
    inCluster: i % 11 === 5,
    state: i % 5 === 4 ? 'error' : 'ok',
    version: `v1.${30 + (i % 4)}.${tag}`,
    error: i % 5 === 4 ? `dial tcp 10.0.${i % 256}.1:6443: connect: connection refused (${tag})` : '',
    errorAt: i % 5 === 4 ? 1_700_000_000_000 + i : 0,
    probedAt: 1_700_000_000_000 + i * 1000,
    configHash: `h${i}-${tag}`,
    generation: 1 + (i % 3),
    prometheusUrl: i % 2 ? `http://prom-${i}.monitoring:9090` : '',
    groups: i % 3 === 0 ? [] : i % 3 === 1 ? ['prod'] : ['prod', `team-${tag}`],
    client: {
      server: `https://10.0.${i % 256}.1:6443`,
      caData: pem(configBytes, String.fromCharCode(65 + (i % 26))),
      certData: '',
      keyData: '',
      token: `token-${i}-${tag}`,
      tlsServerName: i % 3 === 0 ? `api-${i}.example` : '',
      insecure: i % 13 === 0,
      proxyUrl: '',
    },
    ...extra,
  };
}
