/** The double-buffered cluster index: writer (sync worker), reader (everyone), layout, errors. */
export { IndexWriter, type PublishResult } from './writer.js';
export { IndexReader, type IndexReaderOptions } from './reader.js';
export { TornReadError, IndexInputError } from './errors.js';
export { IndexCapacityError } from './buffers.js';
export type { ClusterState, ClientConfig, IndexEntry, IndexEntryInput, IndexHead, IndexSummary } from './types.js';
