/** Fleet-wide queries (search, overview) on a piscina pool: see service.ts. */
export { createFleetService, type FleetService, type FleetServiceOptions, type FleetServiceStats } from './service.js';
export { fleetRouter } from './router.js';
export { FleetEngine, kDefaultLimits } from './engine.js';
export { accessOf, mayUse } from './access.js';
export { parseSearchQuery, kSearchKinds, kDefaultLimit, kMaxLimit } from './query.js';
export type * from './types.js';
