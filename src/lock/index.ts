/** The Atomics reader-writer lock: see rwlock.ts for the algorithm, contract and policy. */
export { RwLock, type AttachOptions } from './rwlock.js';
export { LockError, LockMisuseError, LockTimeoutError, kMisuse } from './errors.js';
export { recoverThread, type RecoverResult } from './recovery.js';
export { readLockStats, tornReads, type LockStats, type LockThreadStats, type LockCounters } from './stats.js';
