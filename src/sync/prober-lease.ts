/**
 * Who probes (PostgreSQL backend): one replica at a time holds a session-level advisory lock on a
 * dedicated connection and runs the version probes, writing each result to `probe_results`; the
 * others read those results instead of probing, so probes per cluster do not grow with replicas.
 *
 * The lock lives as long as the session: when the prober dies (or loses the database), PostgreSQL
 * releases it, and the next replica's try, every checkEveryMs, takes it. With checkEveryMs at most
 * half the probe interval, a new prober is probing within two probe intervals.
 */
import type pg from 'pg';
import { createClient } from '../store/postgres/db.js';

/** 'fgpr': the advisory lock key of the prober lease. */
export const kProberLockKey = 0x66_67_70_72;

export class ProberLease {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private holder = false;
  private stopped = false;
  private busy = false;
  private tried = 0;

  constructor(
    private readonly url: string,
    private readonly checkEveryMs: number,
    /** Called when this replica becomes (true) or stops being (false) the prober. */
    private readonly onChange: (isProber: boolean) => void,
  ) {}

  isProber(): boolean {
    return this.holder;
  }

  /** Lock attempts made so far (tests; a replica that keeps trying while another holds it). */
  attempts(): number {
    return this.tried;
  }

  start(): void {
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    this.setHolder(false);
    // Ending the session releases the lock at once, so a replica shutting down hands over early.
    await c?.end().catch(() => undefined);
  }

  private setHolder(v: boolean): void {
    if (this.holder === v) return;
    this.holder = v;
    this.onChange(v);
  }

  private dropClient(): void {
    const c = this.client;
    this.client = undefined;
    void c?.end().catch(() => undefined);
    this.setHolder(false);
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.busy) return;
    this.busy = true;
    try {
      if (!this.client) {
        const c = createClient(this.url);
        c.on('error', () => {
          if (this.client === c) this.dropClient();
        });
        this.client = c;
        await c.connect();
      }
      if (this.holder) {
        await this.client.query('SELECT 1'); // still our session, so still our lock
      } else {
        this.tried++;
        const r = await this.client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [kProberLockKey]);
        if (!this.stopped) this.setHolder(r.rows[0]!.got === true);
      }
    } catch {
      this.dropClient();
    } finally {
      this.busy = false;
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.tick(), this.checkEveryMs);
        this.timer.unref?.();
      }
    }
  }
}
