/**
 * `probe_results`: what the elected prober (src/sync/prober-lease.ts) found for each cluster, keyed
 * by the config hash it probed, so a replica never applies a result to a config it does not have.
 * A write bumps the revision and NOTIFYs 'probes', which makes the other replicas pick it up.
 */
import type pg from 'pg';
import { inTransaction, query } from './db.js';

export interface ProbeRecord {
  clusterId: number;
  configHash: string;
  ok: boolean;
  version: string;
  error: string;
  probedAt: number;
}

export async function loadProbeResults(pool: pg.Pool): Promise<Map<number, ProbeRecord>> {
  const rows = await query<{ cluster_id: number; config_hash: string; ok: boolean; version: string; error: string; probed_at: number }>(
    pool,
    'reading probe results',
    'SELECT * FROM probe_results',
  );
  return new Map(
    rows.map((r) => [r.cluster_id, { clusterId: r.cluster_id, configHash: r.config_hash, ok: r.ok, version: r.version, error: r.error, probedAt: r.probed_at }]),
  );
}

/** Records a result; a cluster deleted meanwhile is skipped (no row to refer to). */
export async function recordProbe(pool: pg.Pool, p: ProbeRecord): Promise<void> {
  await inTransaction(pool, 'recording a probe result', 'probes', async (c) => {
    await c.query(
      `INSERT INTO probe_results (cluster_id, config_hash, ok, version, error, probed_at)
       SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM clusters WHERE id = $1)
       ON CONFLICT (cluster_id) DO UPDATE SET config_hash = excluded.config_hash, ok = excluded.ok,
         version = excluded.version, error = excluded.error, probed_at = excluded.probed_at`,
      [p.clusterId, p.configHash, p.ok, p.version, p.error, p.probedAt],
    );
  });
}
