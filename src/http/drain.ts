/**
 * Graceful drain of one listener, bounded. Stop accepting, let in-flight requests finish, and at
 * the bound answer what is still open as well as HTTP allows: a request whose answer has not
 * started gets 503 with Retry-After (a client or load balancer may retry it on another replica
 * or after the restart), one whose answer is already streaming (a watch, a log follow) is cut,
 * because a half-sent body cannot be turned into an error.
 */
import type { Server, ServerResponse } from 'node:http';

export interface DrainResult {
  /** Requests that finished on their own within the bound. */
  finished: boolean;
  /** Requests answered 503 at the bound. */
  refused: number;
  /** Streaming answers cut at the bound. */
  cut: number;
}

/** How long answers written at the bound may take to flush before their sockets are destroyed. */
const kFlushMs = 250;

export const kDrainRefusal = 'server is shutting down: the request did not finish within the drain timeout; retry it';

export class Drainer {
  private readonly open = new Set<ServerResponse>();

  constructor(private readonly server: Server) {
    server.on('request', (_req, res: ServerResponse) => {
      this.open.add(res);
      res.once('close', () => this.open.delete(res));
    });
  }

  drain(timeoutMs: number): Promise<DrainResult> {
    const server = this.server;
    return new Promise((resolve) => {
      // Keep-alive connections that finish their last request become idle after close() was
      // called; sweep them so the drain ends when the work does, not at the keep-alive timeout.
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      const timer = setTimeout(() => {
        clearInterval(sweep);
        void this.answerTheRest().then(resolve);
      }, timeoutMs);
      server.close(() => {
        clearTimeout(timer);
        clearInterval(sweep);
        resolve({ finished: true, refused: 0, cut: 0 });
      });
      server.closeIdleConnections();
    });
  }

  private async answerTheRest(): Promise<DrainResult> {
    let refused = 0;
    let cut = 0;
    const flushed: Promise<void>[] = [];
    for (const res of this.open) {
      if (res.headersSent) {
        res.destroy();
        cut++;
        continue;
      }
      refused++;
      const body = JSON.stringify({ error: kDrainRefusal });
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', connection: 'close', 'content-length': Buffer.byteLength(body) });
      flushed.push(new Promise<void>((r) => res.end(body, () => r())));
    }
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(flushed), new Promise((r) => (bound = setTimeout(r, kFlushMs)))]);
    clearTimeout(bound);
    this.server.closeAllConnections();
    return { finished: false, refused, cut };
  }
}
