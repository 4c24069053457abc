/**
 * Encryption key resolution: FLEETGATE_ENCRYPTION_KEY (64 hex characters, or base64/base64url of
 * 32 bytes), else DATA/encryption.key (the same formats; written as hex, mode 0600, created
 * exclusively at first start so two starting threads agree on one key). No built-in default.
 */
import { closeSync, constants, existsSync, fchmodSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { kKeyBytes } from './crypto.js';
import { StoreError } from './errors.js';

export const kKeyEnv = 'FLEETGATE_ENCRYPTION_KEY';
export const kKeyFileName = 'encryption.key';
/** Same as store.ts's kDbFileName (not imported: store.ts imports this module). */
const kDbFile = 'fleetgate.db';

export interface ResolvedKey {
  key: Buffer;
  /** Where the key came from, for messages: "FLEETGATE_ENCRYPTION_KEY", "key file /x/encryption.key", "the key passed to openStore". */
  source: string;
  /** The key file, when one was used or created. */
  path?: string;
  /** True when this call generated the key file. */
  created: boolean;
  /** E.g. the key file is readable by group or others. */
  warnings: string[];
}

/** Parses a key; throws StoreError('key') naming `what` and the length only, never the value. */
export function parseKey(text: string | Buffer, what: string): Buffer {
  if (Buffer.isBuffer(text)) {
    if (text.length !== kKeyBytes) throw new StoreError('key', `${what} must be ${kKeyBytes} bytes (got ${text.length})`);
    return Buffer.from(text);
  }
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === kKeyBytes) return b;
  }
  throw new StoreError(
    'key',
    `${what} must be 64 hex characters or the base64 encoding of ${kKeyBytes} bytes (got ${t.length} characters that are neither); ` +
      `generate one with: openssl rand -hex 32`,
  );
}

function permissionWarnings(path: string): string[] {
  try {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      return [`key file ${path} is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`];
    }
  } catch {
    /* stat failed after a successful read: nothing useful to warn about */
  }
  return [];
}

/**
 * Resolves the key from `env` (FLEETGATE_ENCRYPTION_KEY) or DATA/encryption.key.
 *
 * A missing key file is generated (32 random bytes, hex, mode 0600) with `create: true`, and by
 * default only when DATA/fleetgate.db does not exist yet: a key is never invented next to an
 * existing database (that throws StoreError('key') saying the key is missing). With
 * `create: false` a missing key yields undefined. Throws StoreError('key') for malformed keys
 * and StoreError('io') when the key file cannot be read or written.
 */
export function resolveKey(dataDir: string, env: NodeJS.ProcessEnv = process.env, opts: { create?: boolean } = {}): ResolvedKey | undefined {
  if (opts.create === undefined) {
    const r = resolveKey(dataDir, env, { create: !existsSync(join(dataDir, kDbFile)) });
    if (!r) {
      throw new StoreError(
        'key',
        `no encryption key: ${kKeyEnv} is not set and ${join(dataDir, kKeyFileName)} does not exist, but ${join(dataDir, kDbFile)} does; ` +
          'restore the key its kubeconfigs were written with',
      );
    }
    return r;
  }
  const fromEnv = env[kKeyEnv];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return { key: parseKey(fromEnv, kKeyEnv), source: kKeyEnv, created: false, warnings: [] };
  }
  const path = join(dataDir, kKeyFileName);
  const source = `key file ${path}`;
  const readExisting = (): ResolvedKey => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new StoreError('io', `cannot read ${source} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return { key: parseKey(text, source), source, path, created: false, warnings: permissionWarnings(path) };
  };
  let fd: number;
  try {
    if (opts.create === false) {
      statSync(path);
      return readExisting();
    }
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return readExisting();
    if (code === 'ENOENT' && opts.create === false) return undefined;
    throw new StoreError('io', `cannot create ${source} (${code ?? 'error'})`);
  }
  const key = randomBytes(kKeyBytes);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, key.toString('hex') + '\n');
  } catch (err) {
    throw new StoreError('io', `cannot write ${source} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    closeSync(fd);
  }
  return { key, source, path, created: true, warnings: [] };
}
