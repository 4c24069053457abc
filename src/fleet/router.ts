/**
 * The fleet routes, an Express router the HTTP app mounts at /api/v1/fleet behind requireAuth
 * (it reads the caller from res.locals via callerOf):
 *   GET /search?q=TEXT&kinds=pods,deployments&limit=N   → SearchResult
 *   GET /overview                                        → OverviewResult
 * Errors answer `{ "error": ... }` (the app's error handler, repeated here so the router also
 * stands alone); 503 + Retry-After when the query queue is full.
 */
import { Router } from 'express';
import { callerOf } from '../http/auth.js';
import { errorHandler } from '../http/errors.js';
import { accessOf } from './access.js';
import { parseSearchQuery } from './query.js';
import type { FleetAccess, OverviewResult, SearchQuery, SearchResult } from './types.js';

interface FleetQueries {
  search(access: FleetAccess, query: SearchQuery): Promise<SearchResult>;
  overview(access: FleetAccess): Promise<OverviewResult>;
}

export function fleetRouter(fleet: FleetQueries, log: (line: string) => void): Router {
  const router = Router();
  router.get('/search', async (req, res) => {
    const caller = callerOf(res);
    const query = parseSearchQuery(req.query as Record<string, unknown>, caller.record.role);
    res.json(await fleet.search(accessOf(caller), query));
  });
  router.get('/overview', async (_req, res) => {
    res.json(await fleet.overview(accessOf(callerOf(res))));
  });
  router.use(errorHandler(log));
  return router;
}
