/**
 * The long-lived exchanges an HTTP worker holds open for callers (watches and log follows
 * through /k8s, upgraded exec/attach/port-forward sessions), grouped by token, so that
 *  - a revoked token loses its open streams too, on every worker: while a worker holds streams
 *    it asks the store every recheckMs (default 250 ms) whether their tokens still verify, so a
 *    token deleted on any worker (or by another replica) is cut off within that time plus one
 *    store query, well inside a second; the worker that deleted it cuts them at once (revoke);
 *    a token past its expiresAt is cut the same way, by the same recheck;
 *  - one token cannot take a cluster's sockets: at most maxPerToken streams per token on this
 *    worker (`--max-streams-per-token`); one more is refused with 429.
 * Short requests are not tracked: they end on their own, and new ones are authenticated afresh.
 */
import { isExpired, type Caller } from './auth.js';
import type { TokenRecord, TokenStoreLike } from './deps.js';
import { HttpError } from '../util/http-error.js';

export interface StreamRegistryOptions {
  /** Streams one token may hold open on this worker. */
  maxPerToken: number;
  /** How often tokens with open streams are verified again, ms. */
  recheckMs?: number;
}

export const kDefaultMaxStreamsPerToken = 100;
const kRecheckMs = 250;

interface TokenStreams {
  secret: string;
  name: string;
  closers: Set<() => void>;
}

export class StreamRegistry {
  private readonly byToken = new Map<string, TokenStreams>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly tokens: Pick<TokenStoreLike, 'verify'>,
    private readonly opts: StreamRegistryOptions,
  ) {}

  /**
   * Admits one stream of `caller`; `close` ends it (destroys its sockets). Returns the function to
   * call once the stream has ended by itself. Throws HttpError 429 when the token is at its cap.
   */
  open(caller: Caller, close: () => void): () => void {
    const id = String(caller.record.id);
    let group = this.byToken.get(id);
    if (group && group.closers.size >= this.opts.maxPerToken) {
      throw new HttpError(429, `token "${caller.record.name}" already holds ${group.closers.size} open streams (watches, log follows, exec sessions) on this worker; the limit is ${this.opts.maxPerToken}`);
    }
    if (!group) {
      group = { secret: caller.token, name: caller.record.name, closers: new Set() };
      this.byToken.set(id, group);
    }
    // A fresh function per stream: the same close twice is still two streams.
    const entry = () => close();
    group.closers.add(entry);
    this.startTimer();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      group.closers.delete(entry);
      if (group.closers.size === 0 && this.byToken.get(id) === group) this.byToken.delete(id);
      if (this.byToken.size === 0) this.stopTimer();
    };
  }

  /** Streams open for each token id (diagnostics, tests). */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.byToken].map(([id, g]) => [id, g.closers.size]));
  }

  /** Ends every stream of token `id` now (this worker deleted it). */
  revoke(id: TokenRecord['id']): void {
    const group = this.byToken.get(String(id));
    if (!group) return;
    this.byToken.delete(String(id));
    for (const close of group.closers) close();
    if (this.byToken.size === 0) this.stopTimer();
  }

  /** Ends every stream (shutdown). */
  closeAll(): void {
    for (const id of [...this.byToken.keys()]) this.revoke(id);
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.recheck(), this.opts.recheckMs ?? kRecheckMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async recheck(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      for (const [id, group] of [...this.byToken]) {
        let record: TokenRecord | undefined;
        try {
          record = await this.tokens.verify(group.secret);
        } catch {
          continue; // the store is unreachable: keep streams rather than cut everyone off
        }
        if (!record || String(record.id) !== id || isExpired(record, Date.now())) this.revoke(id);
      }
    } finally {
      this.checking = false;
    }
  }
}
