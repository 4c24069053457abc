/** Piscina entry of a fleet pool thread: the logic lives in src/fleet/pool-thread.ts. */
export { runFleetTask as default } from '../src/fleet/pool-thread.js';
