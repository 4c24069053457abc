/**
 * The key check both backends run at open, before any row is read or written: the stored
 * key-check value (or, for a database from before the check, one sealed kubeconfig) must open
 * with the given key. A mismatch throws StoreError('key') and the caller writes nothing.
 */
import { kKeyCheckText, open, openRow, type RowBinding } from './crypto.js';
import { StoreError } from './errors.js';

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
