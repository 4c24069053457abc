/** Named index errors. */

/**
 * An entry (or the index header) failed its checksum or bounds checks while read under the lock.
 * In `rw` and `mutex` modes this is a bug (the lock failed to exclude a writer); in `none` mode
 * it is the expected evidence of the race and is only counted, not thrown.
 */
export class TornReadError extends Error {
  override name = 'TornReadError';
  constructor(readonly torn: number) {
    super(`index: torn read (checksum or bounds mismatch in ${torn} place${torn === 1 ? '' : 's'}) under the read lock`);
  }
}

/** The input to IndexWriter.publish is not a valid index. */
export class IndexInputError extends Error {
  override name = 'IndexInputError';
}
