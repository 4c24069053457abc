/** Shared memory: the region layout and factory, and the sync-request signals. */
export * from './layout.js';
export * from './sync-signal.js';
