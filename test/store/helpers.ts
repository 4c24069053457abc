import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { thrown } from '../helpers/thrown.js';
import { StoreError, openStore, type Store, type StoreOptions } from '../../src/store/index.js';

/** A fresh temporary data dir per call; all removed after the file's tests. */
const dirs: string[] = [];
const opened: Store[] = [];
afterAll(() => {
  for (const s of opened) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fg-store-'));
  dirs.push(d);
  return d;
}

/** Opens a store with an empty env (no FLEETGATE_ENCRYPTION_KEY from the outside). */
export function open(opts: Partial<StoreOptions> & { dataDir?: string } = {}): Store {
  const s = openStore({ env: {}, ...opts, dataDir: opts.dataDir ?? tempDir() });
  opened.push(s);
  return s;
}

/** Runs fn, which must throw a StoreError, and returns it. */
export const storeError = (fn: () => unknown): StoreError => thrown(fn, StoreError);
