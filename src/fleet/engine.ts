/**
 * FleetEngine: what runs a fleet query on one thread. It reads the cluster index itself (copy-out
 * under the read lock, released before any I/O: src/index/reader.ts) and owns that thread's
 * keep-alive agents, one per (cluster id, entry generation), retired when clusters change or
 * vanish. A pool thread has one; inline mode has one on the HTTP worker.
 */
import { UpstreamClientCache } from '../upstream/client-cache.js';
import type { ClusterDirectory } from '../http/deps.js';
import type { UpstreamCacheStats } from '../upstream/index.js';
import { runOverview } from './overview.js';
import { runSearch } from './search.js';
import type { FleetAccess, OverviewResult, QueryLimits, SearchQuery, SearchResult } from './types.js';

export const kDefaultLimits: Readonly<QueryLimits> = Object.freeze({ timeoutMs: 10_000, concurrency: 8 });

export class FleetEngine {
  private readonly cache: UpstreamClientCache;

  constructor(
    private readonly directory: ClusterDirectory,
    private readonly limits: QueryLimits = kDefaultLimits,
  ) {
    this.cache = new UpstreamClientCache({ entries: () => directory.list() });
  }

  search(access: FleetAccess, query: SearchQuery): Promise<SearchResult> {
    return runSearch(this.directory.list(), access, query, this.cache, this.limits);
  }

  overview(access: FleetAccess): Promise<OverviewResult> {
    return runOverview(this.directory.list(), access, this.cache, this.limits);
  }

  cacheStats(): UpstreamCacheStats {
    return this.cache.stats();
  }

  close(): Promise<void> {
    return this.cache.close();
  }
}
