/**
 * The sync worker's loop on the PostgreSQL backend (sync.ts runs the SQLite one). The same
 * SyncEngine builds and commits the index; what differs is how a pass learns of work and where
 * version probes come from:
 *  - triggers: a sync request (the shared counter, as on SQLite: read-your-writes on this
 *    replica), a NOTIFY heard on the one LISTEN connection (a write on any replica), a
 *    reconnect of that connection (full resync: NOTIFY is not replayed), a change of prober, and
 *    the periodic resync;
 *  - probes: the replica holding the prober lease probes and records each result in the
 *    database; the others take the recorded result for the exact config they built.
 * When the database is unreachable a pass fails before it commits: the last committed index stays
 * served, the ticket stays unserved, and the reconnect's resync catches up.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ClientConfig } from '../index/types.js';
import type { IndexWriter } from '../index/index.js';
import { ExecCredentialCache } from '../k8s/exec-plugin.js';
import { configHash, inClusterClientConfig, normaliseClientConfig, probeVersion } from '../k8s/index.js';
import type { SyncWorkerData, WorkerToMain } from './messages.js';
import { markSyncServed, requestSync, syncRequested, waitSyncRequestAsync } from '../shm/sync-signal.js';
import { StoreError } from '../store/errors.js';
import { loadProbeResults, recordProbe, type ProbeRecord } from '../store/postgres/probes.js';
import { openPgStore } from '../store/postgres/store.js';
import { SyncEngine, type ProbeResult, type SyncRow } from '../sync/engine.js';
import { ChangeListener, type ChangeReason } from '../sync/listen.js';
import { ProberLease } from '../sync/prober-lease.js';
import type { SyncStats } from '../sync/stats.js';

export interface PgSyncContext {
  data: SyncWorkerData & { databaseUrl: string };
  post: (m: WorkerToMain) => void;
  port: MessagePort;
  writer: IndexWriter;
  stats: SyncStats;
}

/** A waiting non-prober's probe: resolved when a recorded result for its config arrives. */
interface RemoteWait {
  hash: string;
  client: ClientConfig;
  resolve: (r: ProbeResult | Promise<ProbeResult>) => void;
  timer: NodeJS.Timeout;
}

function toResult(p: ProbeRecord): ProbeResult {
  return p.ok ? { ok: true, gitVersion: p.version } : { ok: false, error: p.error };
}

export async function runPgSyncWorker(ctx: PgSyncContext): Promise<void> {
  const { data, post, writer, stats } = ctx;
  const log = (line: string) => post({ type: 'log', line: `fleetgate: sync: ${line}` });
  let stopping = false;
  ctx.port.on('message', (msg: { type: string }) => {
    if (msg.type === 'drain') {
      stopping = true;
      wakeUp?.();
    }
  });
  let wakeUp: (() => void) | undefined;
  const wake = () => wakeUp?.();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });

  // A replacement sync worker may start while the database is down (the previous one died in the
  // outage): the supervisor checked the key at start-up, so wait for the database rather than
  // failing, while the HTTP workers keep serving the committed index.
  let store: Awaited<ReturnType<typeof openPgStore>> | undefined;
  let downAtStart = 0;
  for (let waitMs = 250; !store && !stopping; waitMs = Math.min(2000, waitMs * 2)) {
    try {
      store = await openPgStore({ url: data.databaseUrl, dataDir: data.dataDir, key: Buffer.from(data.key), poolMax: 3 });
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 'unavailable')) throw err;
      if (!downAtStart) {
        downAtStart = Date.now();
        post({ type: 'db-state', downSince: downAtStart });
      }
      await pause(waitMs);
    }
  }
  if (!store) return;
  const pgStore = store;

  // Which cluster and config hash each built client belongs to, so a probe (which gets only the
  // client) can be recorded, or matched to a recorded result, under the right key.
  const clientId = new WeakMap<ClientConfig, number>();
  const clientHash = new WeakMap<ClientConfig, string>();
  let rows: SyncRow[] = [];
  let results = new Map<number, ProbeRecord>();
  const waits = new Map<number, RemoteWait[]>();

  let changed = false; // a NOTIFY or reconnect since the last pass
  let forceResync = false;

  const lease = new ProberLease(data.databaseUrl, Math.max(100, Math.floor(data.syncIntervalMs / 2)), (isProber) => {
    log(isProber ? 'this replica is now the prober' : 'this replica is no longer the prober');
    if (isProber) {
      // Probes still waiting for the old prober's result would hold their clusters until they
      // time out (the engine does not start a second probe of the same config): run them here.
      for (const list of waits.values()) {
        for (const w of list) {
          clearTimeout(w.timer);
          w.resolve(probeAndRecord(w.client, data.probeTimeoutMs));
        }
      }
      waits.clear();
    }
    forceResync = true; // a new prober probes everything now; a former one reads results again
    changed = true;
    wake();
  });

  const remoteProbe = (client: ClientConfig): Promise<ProbeResult> => {
    const id = clientId.get(client);
    const hash = clientHash.get(client);
    const have = id === undefined ? undefined : results.get(id);
    if (have && have.configHash === hash) return Promise.resolve(toResult(have));
    if (id === undefined || hash === undefined) return Promise.resolve({ ok: false, error: 'internal: probe of an unknown client' });
    return new Promise((resolve) => {
      // Two probe intervals: by then a live prober (or its successor) has recorded a result.
      const timer = setTimeout(() => {
        const list = waits.get(id);
        if (list) waits.set(id, list.filter((w) => w.timer !== timer));
        resolve({ ok: false, error: 'no version probe result from the prober replica yet' });
      }, 2 * data.syncIntervalMs + data.probeTimeoutMs);
      timer.unref?.();
      const list = waits.get(id) ?? [];
      list.push({ hash, client, resolve, timer });
      waits.set(id, list);
    });
  };

  const settleWaits = () => {
    for (const [id, list] of waits) {
      const have = results.get(id);
      if (!have) continue;
      const left = list.filter((w) => {
        if (w.hash !== have.configHash) return true;
        clearTimeout(w.timer);
        w.resolve(toResult(have));
        return false;
      });
      if (left.length) waits.set(id, left);
      else waits.delete(id);
    }
  };

  /** The prober's probe: ask the cluster, then record the result for every replica. */
  async function probeAndRecord(client: ClientConfig, timeoutMs: number): Promise<ProbeResult> {
    const result: ProbeResult = await probeVersion(client, { timeoutMs });
    const id = clientId.get(client);
    const hash = clientHash.get(client);
    if (id !== undefined && hash !== undefined) {
      const rec: ProbeRecord = {
        clusterId: id,
        configHash: hash,
        ok: result.ok,
        version: result.ok ? result.gitVersion : '',
        error: result.ok ? '' : result.error,
        probedAt: Date.now(),
      };
      results.set(id, rec);
      await recordProbe(pgStore.pool, rec).catch((err: unknown) => {
        if (!(err instanceof StoreError && err.code === 'unavailable')) log(`cannot record a probe result: ${(err as Error).message}`);
      });
    }
    return result;
  }

  // Exec plugins run in the background; when one ends, a pass picks its credential up.
  const execCredentials = new ExecCredentialCache(() => void requestSync(data.sab), { refreshAfterMs: data.syncIntervalMs });
  const engine = new SyncEngine(
    {
      listRows: () => rows,
      log,
      publish: (entries) => writer.publish(entries),
      initialSnapshot: () => writer.snapshot(),
      buildClient: (row) => {
        const client = row.inCluster ? inClusterClientConfig() : normaliseClientConfig(row.config, { allowExec: data.allowExec, execCredentials: (u) => execCredentials.get(u) });
        clientId.set(client, row.id);
        return client;
      },
      hashConfig: (input) => {
        const h = configHash(input);
        clientHash.set(input.config, h);
        return h;
      },
      probe: (client, timeoutMs) => (lease.isProber() ? probeAndRecord(client, timeoutMs) : remoteProbe(client)),
      stats,
    },
    { probeConcurrency: data.probeConcurrency, probeTimeoutMs: data.probeTimeoutMs, resyncIntervalMs: data.syncIntervalMs },
  );

  let dbDownSince = downAtStart;
  const setDb = (up: boolean, since: number) => {
    const next = up ? 0 : dbDownSince || since;
    if (next === dbDownSince) return;
    dbDownSince = next;
    post({ type: 'db-state', downSince: dbDownSince });
    log(up ? 'database reachable again; resyncing' : `database unreachable since ${new Date(dbDownSince).toISOString()}; serving the last committed index`);
  };

  const listener = new ChangeListener(data.databaseUrl, {
    onChange: (reason: ChangeReason) => {
      changed = true;
      if (reason === 'reconnect') forceResync = true;
      wake();
    },
    onState: (up, since) => setDb(up, since),
  });

  /** One pass; false when the database could not be read (nothing committed, ticket unserved). */
  const runPass = async (resync: boolean): Promise<boolean> => {
    // As on SQLite: every ticket up to this one was taken after its write committed, so the
    // rows read below include those writes.
    const ticket = syncRequested(data.sab);
    let fresh: number[] = [];
    try {
      // listForSync: a row that cannot be decrypted errors its own cluster, not the pass.
      const [r, p, groups] = await Promise.all([pgStore.clusters.listForSync(), loadProbeResults(pgStore.pool), pgStore.groups.membership()]);
      // Object.assign keeps the row's redaction (its non-enumerable toJSON and inspect).
      rows = r.map((row) => Object.assign(row, { groups: groups.get(row.id) ?? [] }));
      // Results the prober recorded since the last pass: a non-prober applies them by
      // "probing" those clusters again (the engine takes the recorded result at once).
      fresh = [...p.values()].filter((x) => {
        const before = results.get(x.clusterId);
        return !before || before.probedAt !== x.probedAt || before.configHash !== x.configHash;
      }).map((x) => x.clusterId);
      results = p;
    } catch (err) {
      if (err instanceof StoreError && err.code === 'unavailable') {
        setDb(false, Date.now());
        return false;
      }
      log(`pass failed: ${(err as Error).message}`);
      return false;
    }
    settleWaits();
    engine.pass({ resync });
    if (!lease.isProber() && fresh.length > 0) engine.reprobe(fresh);
    markSyncServed(data.sab, ticket);
    served = ticket;
    return true;
  };

  let served = syncRequested(data.sab);
  let lastResync = Date.now();
  lease.start();
  // The first pass must commit before the replica reports ready (readyz); the database was
  // reachable a moment ago (openPgStore), so a failure here is retried, not fatal.
  while (!(await runPass(true)) && !stopping) await pause(250);
  listener.start();
  post({ type: 'ready', role: 'sync' });

  while (!stopping) {
    const requested = syncRequested(data.sab) !== served;
    if (!requested && !changed && !forceResync) {
      const untilResync = Math.max(0, lastResync + data.syncIntervalMs - Date.now());
      // Sleeps only while the counter still equals the ticket last served; wakes on requestSync's
      // Atomics.notify (pairing argued in src/shm/sync-signal.ts), on a NOTIFY, reconnect, lease
      // change or drain (wake), or at the periodic resync.
      await Promise.race([
        waitSyncRequestAsync(data.sab, served, untilResync),
        new Promise<void>((resolve) => (wakeUp = resolve)),
      ]);
      wakeUp = undefined;
    }
    if (stopping) break;
    const due = Date.now() - lastResync >= data.syncIntervalMs;
    const resync = due || forceResync;
    if (!(syncRequested(data.sab) !== served || changed || resync)) continue;
    changed = false;
    forceResync = false;
    if (due) lastResync = Date.now();
    const ok = await runPass(resync);
    if (!ok) {
      // Retry once the listener reconnects (it sets changed and forceResync), or at the next
      // resync; not in a loop. Pending tickets are skipped here without being marked served: a
      // writer waiting on one times out with a note rather than being told a pass that never
      // read its row has committed it. The next good pass serves every ticket up to its own.
      lastResync = Date.now();
      served = syncRequested(data.sab);
    } else if (dbDownSince && listener.isUp()) setDb(true, 0);
  }
  engine.stop();
  for (const list of waits.values()) for (const w of list) clearTimeout(w.timer);
  await Promise.all([listener.stop(), lease.stop()]);
  await pgStore.close();
}
