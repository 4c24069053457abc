/**
 * One plain TCP listener per cluster on its own loopback port, handing accepted sockets to the
 * shared TLS server; a request finds its cluster by the socket it came on. Faults that act on
 * connections live here: `down` closes the listener and drops its connections (coming back up
 * reuses the port), `hang` holds requests until lifted.
 */
import type https from 'node:https';
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { ClusterRuntime, Fault } from './runtime.js';

/** The kernel's ephemeral port range (Linux), or IANA's dynamic range elsewhere. */
const kEphemeralRange: [number, number] = (() => {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo > 1024 && hi > lo && hi < 65536) return [lo, hi];
  } catch {
    // not Linux
  }
  return [49152, 65535];
})();

export class Listeners {
  private readonly byPort = new Map<number, ClusterRuntime>();
  private portCursor = -1;
  private readonly socketCluster = new WeakMap<object, ClusterRuntime>();
  private stopped = false;

  /**
   * `release` answers a request that was held while its cluster hung, once hang is lifted.
   * `sequentialPorts`: choose ports in the ephemeral range instead of bind(0) (for many clusters).
   */
  constructor(
    private readonly tls: https.Server,
    private readonly sequentialPorts: boolean,
    private readonly release: (rt: ClusterRuntime, req: IncomingMessage, res: ServerResponse) => void,
  ) {}

  /** Opens the cluster's listener: on its known port when it has one, else on an ephemeral one. */
  async listen(rt: ClusterRuntime): Promise<void> {
    if (rt.listener) return;
    const server = net.createServer({ noDelay: true }, (sock) => {
      if (rt.fault.down || this.stopped) {
        sock.destroy();
        return;
      }
      rt.sockets.add(sock);
      sock.on('close', () => rt.sockets.delete(sock));
      sock.on('error', () => {});
      this.socketCluster.set(sock, rt);
      this.tls.emit('connection', sock);
    });
    server.on('error', () => {});
    const listenOn = (port: number) =>
      new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.once('error', onError);
        server.listen({ host: '127.0.0.1', port, backlog: 511 }, () => {
          server.off('error', onError);
          resolve();
        });
      });
    const chosen = !rt.port && this.sequentialPorts;
    let port = rt.port || (chosen ? this.nextPort() : 0);
    let attempt = 0;
    for (;;) {
      try {
        await listenOn(port);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        if (chosen && ++attempt <= 5000) {
          // Someone else holds this one: take the next.
          port = this.nextPort();
          continue;
        }
        // Coming back up on its old port, which can be briefly busy: retry a few times.
        if (rt.port && ++attempt <= 20) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        throw err;
      }
    }
    rt.port = (server.address() as net.AddressInfo).port;
    rt.listener = server;
    this.byPort.set(rt.port, rt);
  }

  /**
   * Next candidate port for sequentialPorts: walks the ephemeral range from a random start,
   * skipping our own. bind(0) slows to milliseconds per call once thousands of ports of the range
   * are taken (the kernel scans for a free one), so large simulators choose their ports.
   */
  private nextPort(): number {
    const [lo, hi] = kEphemeralRange;
    if (this.portCursor < 0) this.portCursor = lo + Math.floor(Math.random() * (hi - lo + 1));
    for (let i = 0; i <= hi - lo; i++) {
      this.portCursor = this.portCursor >= hi ? lo : this.portCursor + 1;
      if (!this.byPort.has(this.portCursor)) return this.portCursor;
    }
    throw new Error('simulator: no free port left in the ephemeral range');
  }

  /** Closes the listener and drops every connection: clients now get ECONNREFUSED. */
  async unlisten(rt: ClusterRuntime): Promise<void> {
    const server = rt.listener;
    rt.listener = null;
    for (const s of rt.sockets) s.destroy();
    rt.sockets.clear();
    rt.held.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async setFault(rt: ClusterRuntime, f: Partial<Fault>): Promise<void> {
    const next = { ...rt.fault };
    if (f.latencyMs !== undefined) next.latencyMs = Math.max(0, Number(f.latencyMs) || 0);
    if (f.errorRate !== undefined) next.errorRate = Math.min(1, Math.max(0, Number(f.errorRate) || 0));
    if (f.down !== undefined) next.down = !!f.down;
    if (f.hang !== undefined) next.hang = !!f.hang;
    const wasHanging = rt.fault.hang;
    rt.fault = next;
    if (next.down && rt.listener) await this.unlisten(rt);
    else if (!next.down && !rt.listener && !this.stopped) await this.listen(rt);
    if (wasHanging && !next.hang) {
      const held = [...rt.held];
      rt.held.clear();
      for (const h of held) if (!h.res.destroyed) this.release(rt, h.req, h.res);
    }
  }

  /** Closes every listener; connections that arrive later are dropped. */
  async stop(runtimes: Iterable<ClusterRuntime>): Promise<void> {
    this.stopped = true;
    await Promise.all([...runtimes].map((rt) => this.unlisten(rt)));
    this.tls.closeAllConnections?.();
  }

  /** The cluster a request came to, by the socket it arrived on. */
  clusterOf(req: IncomingMessage): ClusterRuntime | undefined {
    const sock = req.socket as TLSSocket & { _parent?: object };
    let rt = this.socketCluster.get(sock);
    if (!rt) {
      rt = (sock._parent && this.socketCluster.get(sock._parent)) || this.byPort.get(sock.localPort ?? -1);
      if (rt) this.socketCluster.set(sock, rt);
    }
    return rt;
  }
}
