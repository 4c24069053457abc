/**
 * /readyz for fleetgate's own threads: ready once the first sync committed, and as long as the
 * index keeps being committed. The sync worker commits at least once per sync interval (the
 * periodic resync), so no commit for three intervals, or a sync worker that exited and is being
 * restarted, means the index is going stale: the server still answers, but a load balancer
 * should prefer a replica that is keeping up.
 */
import { checkCanaries, headInt32, kReadyWord, kSyncStatsRegionBytes, kSyncStatsOffset } from '../shm/layout.js';
import { SyncStats } from './stats.js';

/** Missed resyncs before the server calls itself not ready. */
export const kStaleIntervals = 3;

/**
 * Why this server is not ready, or undefined when it is. `databaseDown`: the PostgreSQL backend
 * cannot reach its database, so no commit can happen; /readyz then says "degraded" (reads are
 * served from the index) rather than calling a stale index not ready.
 */
export function notReadyReason(sab: SharedArrayBuffer, syncIntervalMs: number, now = Date.now(), databaseDown = false): string | undefined {
  // The canaries sit at the two ends of the fixed head: a thread that wrote past its own region
  // (a bug) has corrupted what the lock and the index rely on, so stop taking traffic.
  if (!checkCanaries(sab)) return 'not ready: the shared memory region is corrupt (a canary word was overwritten); restart this server';
  if (Atomics.load(headInt32(sab), kReadyWord) === 0) return 'not ready: the first cluster sync has not committed yet';
  const s = new SyncStats(sab, kSyncStatsOffset, kSyncStatsRegionBytes).read();
  if (s.syncDownSince !== 0) {
    return `not ready: the sync worker exited ${Math.round((now - s.syncDownSince) / 1000)} s ago and is restarting; the cluster index is not being updated`;
  }
  const age = now - s.lastCommitAt;
  if (!databaseDown && s.lastCommitAt !== 0 && age > kStaleIntervals * syncIntervalMs) {
    return `not ready: no cluster sync has committed for ${Math.round(age / 1000)} s (more than ${kStaleIntervals} sync intervals of ${Math.round(syncIntervalMs / 1000)} s)`;
  }
  return undefined;
}
