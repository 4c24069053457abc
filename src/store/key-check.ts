/**
 * The key both backends open with (keyForOpen) and the key check they run, before any row is read
 * or written: the stored key-check value (or, for a database from before the check, one sealed
 * kubeconfig) must open with the given key. A mismatch throws StoreError('key') and the caller
 * writes nothing.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { kKeyCheckText, open, openRow, type RowBinding } from './crypto.js';
import { StoreError } from './errors.js';
import { kKeyEnv, kKeyFileName, parseKey, resolveKey } from './key.js';

export interface SealedSample {
  /** The `meta` key-check value, when recorded. */
  check: Buffer | undefined;
  /** Any one sealed kubeconfig, when a row has one: with its row (id, name) for row-bound values. */
  sample: Buffer | (RowBinding & { config: Buffer }) | undefined;
}

export function keyMismatch(source: string): StoreError {
  return new StoreError('key', `cannot decrypt stored kubeconfigs: ${source} does not match the key they were written with; nothing was changed`);
}

/** Throws keyMismatch when `key` cannot open what the database holds. */
export function verifyKey(sealed: SealedSample, key: Buffer, source: string): void {
  if (sealed.check !== undefined) {
    if (open(key, 'key-check', sealed.check) !== kKeyCheckText) throw keyMismatch(source);
  } else if (sealed.sample !== undefined) {
    const ok = Buffer.isBuffer(sealed.sample)
      ? open(key, 'cluster-config', sealed.sample) !== undefined
      : openRow(key, 'cluster-config', sealed.sample, sealed.sample.config) !== undefined;
    if (!ok) throw keyMismatch(source);
  }
}

/** The key an open goes on with, and where it came from (StoreBackend.keySource, keyCreated). */
export interface OpenKey {
  /** Undefined only for a database with nothing sealed yet, opened without a key file being made. */
  key: Buffer | undefined;
  source: string;
  created: boolean;
  warnings: string[];
}

export interface OpenKeyOptions {
  /** The key passed to the open call, if any: it wins over the environment and the key file. */
  given: Buffer | string | undefined;
  /** The open call's name, for messages ("openStore"). */
  opener: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  /** No key file is created (SQLite read-only). */
  readonly?: boolean;
  /** The error for sealed data without a key, given why there is none: each backend names its own remedy. */
  missing: (why: string) => StoreError;
}

/**
 * Picks the key for an open, before the key check: the key passed, else FLEETGATE_ENCRYPTION_KEY,
 * else DATA/encryption.key. The key file is created (with its folder) only when the database holds
 * nothing sealed and the open may write, so a key is never invented for data sealed with another.
 */
export function keyForOpen(sealed: SealedSample, o: OpenKeyOptions): OpenKey {
  if (o.given !== undefined) {
    const source = `the key passed to ${o.opener}`;
    return { key: parseKey(o.given, source), source, created: false, warnings: [] };
  }
  const needed = sealed.check !== undefined || sealed.sample !== undefined;
  const create = !needed && o.readonly !== true;
  if (create) mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const r = resolveKey(o.dataDir, o.env, { create });
  if (needed && !r) throw o.missing(`${kKeyEnv} is not set and ${join(o.dataDir, kKeyFileName)} does not exist`);
  return r ? { key: r.key, source: r.source, created: r.created, warnings: [...r.warnings] } : { key: undefined, source: '', created: false, warnings: [] };
}
