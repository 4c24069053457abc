/** Piscina entry of a fleet pool thread: the logic lives in src/threads/fleet-pool.ts. */
export { runFleetTask as default } from '../src/threads/fleet-pool.js';
