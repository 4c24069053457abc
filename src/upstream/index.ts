/**
 * How fleetgate talks to clusters: one pooled client per cluster generation (client-cache.ts) and
 * calls over it with timeouts and header rules (call.ts). Used by the HTTP routes and by fleet
 * queries alike, so neither owns it.
 */
export * from './client-cache.js';
export * from './call.js';
export { usable } from './usable.js';
