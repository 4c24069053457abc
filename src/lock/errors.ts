/**
 * Named lock errors. Misuse messages are fixed strings (tests and operators match on them); the
 * timeout message carries the operation and the timeout.
 */

/** Base class: anything the lock throws on purpose. Also thrown when no reader slot is free. */
export class LockError extends Error {
  override name = 'LockError';
}

/** An acquisition did not succeed within its timeout; the lock state was left unchanged. */
export class LockTimeoutError extends LockError {
  override name = 'LockTimeoutError';
  constructor(
    readonly operation: 'readLock' | 'writeLock',
    readonly timeoutMs: number,
  ) {
    super(`rwlock: ${operation} timed out after ${timeoutMs} ms`);
  }
}

/** The caller broke the lock's rules; the message is one of kMisuse. */
export class LockMisuseError extends LockError {
  override name = 'LockMisuseError';
}

/** The fixed misuse messages. */
export const kMisuse = {
  readUnlockWithoutLock: 'rwlock: readUnlock without readLock',
  writeUnlockWithoutLock: 'rwlock: writeUnlock without writeLock',
  recursiveReadLock: 'rwlock: recursive readLock (this thread already holds a read lock)',
  recursiveWriteLock: 'rwlock: recursive writeLock (this thread already holds the write lock)',
  writeWhileReading: 'rwlock: writeLock while holding a read lock (would deadlock)',
  readWhileWriting: 'rwlock: readLock while holding the write lock',
  released: 'rwlock: lock handle used after release (thread not registered)',
  releaseWhileHeld: 'rwlock: release while holding the lock',
  badTimeout: 'rwlock: timeout must be a number >= 0',
} as const;
