/**
 * AES-256-GCM for values at rest. Sealed layout (one BLOB):
 *
 * | offset | width | meaning                                   |
 * |--------|-------|-------------------------------------------|
 * | 0      | 1     | format version, kSealVersion (1)          |
 * | 1      | 12    | random IV (fresh per seal)                |
 * | 13     | 16    | GCM authentication tag                    |
 * | 29     | n     | ciphertext (same length as the plaintext) |
 *
 * The purpose string is bound as additional authenticated data, so a key-check value cannot be
 * passed off as a kubeconfig or the other way round. Version 2 (sealRow/openRow, what cluster
 * kubeconfigs use) also binds the row it belongs to (id and name), so sealed values cannot be
 * swapped between rows in the database: a moved value fails to open. Version 1 values of rows
 * (databases from before) still open through openRow, reported as legacy so the store re-seals them.
 * Both store backends call these functions; the binding text is defined here once.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const kSealVersion = 1;
const kIvBytes = 12;
const kTagBytes = 16;
const kHeaderBytes = 1 + kIvBytes + kTagBytes;
export const kKeyBytes = 32;

export type SealPurpose = 'cluster-config' | 'key-check';

function aad(purpose: SealPurpose): Buffer {
  return Buffer.from(`fleetgate/v${kSealVersion}/${purpose}`);
}

export function seal(key: Buffer, purpose: SealPurpose, plaintext: string): Buffer {
  const iv = randomBytes(kIvBytes);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(purpose));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([kSealVersion]), iv, cipher.getAuthTag(), ct]);
}

/** Returns the plaintext, or undefined when the key is wrong or the value was tampered with. */
export function open(key: Buffer, purpose: SealPurpose, sealed: Buffer): string | undefined {
  if (!Buffer.isBuffer(sealed) || sealed.length < kHeaderBytes || sealed[0] !== kSealVersion) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + kIvBytes));
    decipher.setAAD(aad(purpose));
    decipher.setAuthTag(sealed.subarray(1 + kIvBytes, kHeaderBytes));
    return Buffer.concat([decipher.update(sealed.subarray(kHeaderBytes)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** Format version of row-bound values. */
export const kRowSealVersion = 2;

/** The row a sealed value belongs to. */
export interface RowBinding {
  id: number | string;
  name: string;
}

function rowAad(purpose: SealPurpose, row: RowBinding): Buffer {
  // JSON: no separator inside a name can make two different rows bind the same text.
  return Buffer.from(`fleetgate/v${kRowSealVersion}/${purpose}/${JSON.stringify([String(row.id), row.name])}`);
}

/** Seals `plaintext` for the row `row` (version 2). */
export function sealRow(key: Buffer, purpose: SealPurpose, row: RowBinding, plaintext: string): Buffer {
  const iv = randomBytes(kIvBytes);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(rowAad(purpose, row));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([kRowSealVersion]), iv, cipher.getAuthTag(), ct]);
}

/**
 * Opens a value sealed for `row`: the plaintext and whether it was a version 1 value (bound to
 * the purpose only: re-seal it with sealRow), or undefined when the key is wrong, the value was
 * tampered with or it belongs to another row.
 */
export function openRow(key: Buffer, purpose: SealPurpose, row: RowBinding, sealed: Buffer): { plaintext: string; legacy: boolean } | undefined {
  if (!Buffer.isBuffer(sealed) || sealed.length < kHeaderBytes) return undefined;
  if (sealed[0] === kSealVersion) {
    const plaintext = open(key, purpose, sealed);
    return plaintext === undefined ? undefined : { plaintext, legacy: true };
  }
  if (sealed[0] !== kRowSealVersion) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + kIvBytes));
    decipher.setAAD(rowAad(purpose, row));
    decipher.setAuthTag(sealed.subarray(1 + kIvBytes, kHeaderBytes));
    const plaintext = Buffer.concat([decipher.update(sealed.subarray(kHeaderBytes)), decipher.final()]).toString('utf8');
    return { plaintext, legacy: false };
  } catch {
    return undefined;
  }
}

/** The known plaintext of the key-check value in `meta`. */
export const kKeyCheckText = 'fleetgate key check v1';
