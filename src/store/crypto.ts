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
 * passed off as a kubeconfig or the other way round.
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

/** The known plaintext of the key-check value in `meta`. */
export const kKeyCheckText = 'fleetgate key check v1';
