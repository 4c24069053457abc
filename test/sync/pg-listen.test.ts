/**
 * The PostgreSQL sync worker's two sessions, in process against a throwaway server: the LISTEN
 * connection (notifications, loss, reconnect with a resync request) and the prober lease (one
 * holder; the next takes over when the holder's session ends).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgStore, type PgStore } from '../../src/store/index.js';
import { ChangeListener, type ChangeReason } from '../../src/sync/listen.js';
import { ProberLease } from '../../src/sync/prober-lease.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { kubeconfig } from '../k8s/helpers.js';
import { tempDir } from '../store/helpers.js';
import { eventually } from '../helpers/server.js';

/** Records events and resolves waits for the next one that matches. */
class Events<T> {
  readonly seen: T[] = [];
  private waiters: Array<{ match: (e: T) => boolean; resolve: (e: T) => void }> = [];
  push(e: T): void {
    this.seen.push(e);
    this.waiters = this.waiters.filter((w) => (w.match(e) ? (w.resolve(e), false) : true));
  }
  next(match: (e: T) => boolean): Promise<T> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

let server: PgServer;
let url: string;
let store: PgStore;

beforeAll(async () => {
  server = await startPostgres();
  url = server.createDatabase('fg_listen');
  store = await openPgStore({ url, dataDir: tempDir(), env: { FLEETGATE_ENCRYPTION_KEY: 'e'.repeat(64) } });
});
afterAll(async () => {
  await store?.close();
  server?.stop();
});

describe('ChangeListener', () => {
  it('hears writes; when the server goes away it reports down, and after it returns asks for a resync', async () => {
    const changes = new Events<ChangeReason>();
    const states = new Events<{ up: boolean; since: number }>();
    const l = new ChangeListener(url, { onChange: (r) => changes.push(r), onState: (up, since) => states.push({ up, since }) });
    const first = changes.next((r) => r === 'reconnect');
    l.start();
    await first;
    expect(l.isUp()).toBe(true);

    const heard = changes.next((r) => r === 'clusters');
    await store.clusters.create({ name: 'one', config: kubeconfig() });
    await heard;

    const down = states.next((s) => !s.up);
    const t0 = Date.now();
    server.stopServer();
    const d = await down;
    expect(d.since).toBeGreaterThanOrEqual(t0);
    expect(l.isUp()).toBe(false);

    const up = states.next((s) => s.up);
    const resync = changes.next((r) => r === 'reconnect');
    server.startServer();
    await Promise.all([up, resync]);
    expect(changes.seen.filter((r) => r === 'reconnect').length).toBe(2);
    await l.stop();
  });
});

describe('ProberLease', () => {
  it('one of two replicas holds it; when the holder stops the other takes over', async () => {
    const events = new Events<{ who: string; holder: boolean }>();
    const a = new ProberLease(url, 50, (h) => events.push({ who: 'a', holder: h }));
    const b = new ProberLease(url, 50, (h) => events.push({ who: 'b', holder: h }));
    const firstHolder = events.next((e) => e.holder);
    a.start();
    b.start();
    const got = await firstHolder;
    const [holder, other] = got.who === 'a' ? [a, b] : [b, a];
    // The other keeps trying every 50 ms and must keep failing while the holder lives.
    const since = other.attempts();
    await eventually(async () => other.attempts() >= since + 3, 10_000);
    expect(events.seen.filter((e) => e.holder)).toEqual([got]);
    expect(holder.isProber()).toBe(true);
    expect(other.isProber()).toBe(false);

    const takeover = events.next((e) => e.holder && e.who !== got.who);
    await holder.stop();
    await takeover;
    expect(other.isProber()).toBe(true);
    expect(holder.isProber()).toBe(false);
    await other.stop();
  });
});
