/**
 * The sync worker's one LISTEN connection (PostgreSQL backend). Every write on any replica bumps
 * the revision and NOTIFYs in its transaction (src/store/postgres/db.ts); this connection hears
 * it and calls onChange. NOTIFY is not replayed to a listener that was disconnected, so after
 * every (re)connect onChange('reconnect') asks for a full resync, which also covers whatever was
 * written while this replica was not listening.
 *
 * It also tells the replica whether the database is reachable (onState): the connection drops as
 * soon as the server goes away, and reconnects with backoff (kRetryMinMs doubling to kRetryMaxMs).
 */
import type pg from 'pg';
import { createClient, kChangeChannel, type ChangeKind } from '../store/postgres/db.js';

export const kRetryMinMs = 200;
export const kRetryMaxMs = 2000;

export type ChangeReason = ChangeKind | 'reconnect' | 'unknown';

export interface ListenerEvents {
  onChange(reason: ChangeReason): void;
  /** up: connected and listening; down: since (epoch ms) the connection was lost or first failed. */
  onState(up: boolean, downSince: number): void;
}

export class ChangeListener {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryMs = kRetryMinMs;
  private stopped = false;
  private downSince = 0;
  private up = false;

  constructor(
    private readonly url: string,
    private readonly events: ListenerEvents,
  ) {}

  start(): void {
    void this.connect();
  }

  isUp(): boolean {
    return this.up;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = createClient(this.url);
    this.client = client;
    // One handler for every way the session ends: 'error' (reset, server shutdown) or 'end'.
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      void client.end().catch(() => undefined);
      if (this.client === client) this.client = undefined;
      this.markDown();
      this.schedule();
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (n) => {
      const kind = (n.payload ?? '').split(':')[0];
      this.events.onChange(kind === 'clusters' || kind === 'tokens' || kind === 'probes' ? kind : 'unknown');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${kChangeChannel}`);
    } catch {
      onLost();
      return;
    }
    if (this.stopped) return void client.end().catch(() => undefined);
    this.retryMs = kRetryMinMs;
    this.up = true;
    this.downSince = 0;
    this.events.onState(true, 0);
    this.events.onChange('reconnect');
  }

  private markDown(): void {
    if (this.stopped) return;
    if (this.up || this.downSince === 0) {
      this.up = false;
      this.downSince = Date.now();
      this.events.onState(false, this.downSince);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(kRetryMaxMs, this.retryMs * 2);
  }
}
