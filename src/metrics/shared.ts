/**
 * Prometheus text for what lives in shared memory and is therefore already summed over every
 * thread: lock acquisitions, waits and hold times per role, torn reads, the index generation, and
 * the sync worker's counters (passes, phases, commit hold histogram, clusters by state, probes).
 */
import { readLockStats } from '../lock/index.js';
import { headInt32, kGenerationWord, kLockModes, kReadyWord, kSyncStatsRegionBytes, kSyncStatsOffset, readMode } from '../shm/layout.js';
import { HOLD_BUCKETS_US, PHASES, STATES, SyncStats } from '../sync/stats.js';
import { labels, PromText } from './prom.js';

export function renderSharedMetrics(sab: SharedArrayBuffer): string {
  const prom = new PromText();
  const i32 = headInt32(sab);
  const lock = readLockStats(sab).totals;
  const sync = new SyncStats(sab, kSyncStatsOffset, kSyncStatsRegionBytes).read();

  const mode = readMode(sab);
  prom.metric('fleetgate_lock_mode', 'The lock mode this server runs (1 for the active one).', 'gauge', kLockModes.map((m) => [labels({ mode: m }), m === mode ? 1 : 0]));
  prom.metric('fleetgate_index_generation', 'Generation of the active cluster index.', 'gauge', [['', Atomics.load(i32, kGenerationWord)]]);
  prom.metric('fleetgate_index_ready', '1 once the first sync committed.', 'gauge', [['', Atomics.load(i32, kReadyWord)]]);
  prom.metric('fleetgate_lock_acquisitions_total', 'Read and write lock acquisitions, all threads.', 'counter', [['', lock.acquisitions]]);
  prom.metric('fleetgate_lock_contended_total', 'Lock acquisitions that had to wait.', 'counter', [['', lock.contended]]);
  prom.metric('fleetgate_lock_wait_seconds_total', 'Time spent waiting for the lock.', 'counter', [['', lock.waitNs / 1e9]]);
  prom.metric('fleetgate_lock_write_acquisitions_total', 'Write-lock acquisitions (commits).', 'counter', [['', lock.writeLocks]]);
  prom.metric('fleetgate_lock_write_hold_seconds_total', 'Total write-lock hold time.', 'counter', [['', lock.writeHoldTotalNs / 1e9]]);
  prom.metric('fleetgate_lock_write_hold_max_seconds', 'Longest write-lock hold.', 'gauge', [['', lock.writeHoldMaxNs / 1e9]]);
  prom.metric('fleetgate_torn_reads_total', 'Index entries whose checksum did not match when read (a bug in rw/mutex mode; the expected evidence in none mode).', 'counter', [['', lock.tornReads]]);

  prom.metric('fleetgate_sync_passes_total', 'Completed sync passes.', 'counter', [['', sync.syncs]]);
  prom.metric('fleetgate_index_commits_total', 'Index commits by the sync worker.', 'counter', [['', sync.commits]]);
  prom.metric('fleetgate_index_content_commits_total', 'Index commits whose entries differ from the previous commit (the others re-committed the same content).', 'counter', [['', sync.contentCommits]]);
  prom.metric('fleetgate_sync_phase_seconds_total', 'Time spent in each sync phase.', 'counter', PHASES.map((ph) => [labels({ phase: ph }), sync.phaseTotalUs[ph] / 1e6]));
  prom.metric('fleetgate_sync_phase_last_seconds', 'Duration of each phase in the latest sync.', 'gauge', PHASES.map((ph) => [labels({ phase: ph }), sync.phaseLastUs[ph] / 1e6]));
  prom.metric('fleetgate_probes_total', 'Cluster /version probes.', 'counter', [['', sync.probes]]);
  prom.metric('fleetgate_probe_failures_total', 'Probes that failed or timed out.', 'counter', [['', sync.probeFailures]]);
  prom.metric('fleetgate_clusters', 'Clusters by state at the last commit.', 'gauge', STATES.map((s) => [labels({ state: s }), sync.clustersByState[s]]));
  prom.metric('fleetgate_sync_last_commit_timestamp_seconds', 'Unix time of the latest index commit (0 = none yet).', 'gauge', [['', sync.lastCommitAt / 1e3]]);
  prom.metric('fleetgate_sync_worker_up', '1 while the sync worker runs, 0 while it is being restarted.', 'gauge', [['', sync.syncDownSince === 0 ? 1 : 0]]);

  const hold = 'fleetgate_commit_hold_microseconds';
  prom.family(hold, 'Write-lock hold time of each index commit.', 'histogram');
  prom.histogram(hold, {}, HOLD_BUCKETS_US, sync.holdBuckets, sync.holdTotalNs / 1000);
  return prom.text();
}
