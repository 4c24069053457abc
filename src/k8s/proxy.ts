/**
 * A kubeconfig cluster's `proxy-url` (http:// or https://; socks is refused when the kubeconfig is
 * normalised). One parser and one CONNECT tunnel serve both the version probe and the upstream
 * client cache, so a cluster that probes through its proxy is also served through it.
 *
 * https API servers are reached with TLS inside a CONNECT tunnel; plain-http ones with
 * absolute-form requests to the proxy. Proxy credentials (user:password in the URL) become a
 * Proxy-Authorization header; no text made here quotes the URL.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

export interface ProxyTarget {
  host: string;
  port: number;
  /** The proxy itself is reached over TLS (an https:// proxy-url). */
  tls: boolean;
  /** `Basic …` from the URL's user and password, when it has them. */
  authorization?: string;
}

/** Parses a proxy-url; throws with a message that does not quote it. */
export function parseProxyUrl(proxyUrl: string): ProxyTarget {
  let u: URL;
  try {
    u = new URL(proxyUrl);
  } catch {
    throw new Error('invalid proxy URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('invalid proxy URL (only http and https proxies are supported)');
  const target: ProxyTarget = {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
    tls: u.protocol === 'https:',
  };
  if (u.username !== '') {
    const cred = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    target.authorization = `Basic ${Buffer.from(cred).toString('base64')}`;
  }
  return target;
}

/** host:port as a request target or Host header (IPv6 in brackets). */
export function authorityOf(host: string, port: number | string): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/**
 * Asks the proxy for a tunnel to `authority`; `done` gets the raw tunnel (speak TLS inside it) or
 * an error: "proxy CONNECT answered HTTP 407", or "proxy: " and the socket error. Returns the
 * CONNECT request, for the caller to destroy if it gives up first.
 */
export function connectTunnel(proxy: ProxyTarget, authority: string, done: (err: Error | null, socket?: Duplex) => void): http.ClientRequest {
  const headers: http.OutgoingHttpHeaders = { host: authority };
  if (proxy.authorization) headers['proxy-authorization'] = proxy.authorization;
  const req = (proxy.tls ? https : http).request({ host: proxy.host, port: proxy.port, method: 'CONNECT', path: authority, headers, agent: false });
  let settled = false;
  req.once('connect', (res: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    settled = true;
    if (res.statusCode !== 200) {
      socket.destroy();
      return done(new Error(`proxy CONNECT answered HTTP ${res.statusCode ?? 0}`));
    }
    // Bytes the proxy sent after its answer belong to the tunnelled connection.
    if (head.length) socket.unshift(head);
    done(null, socket);
  });
  req.on('error', (err: Error) => {
    if (settled) return;
    settled = true;
    done(new Error(`proxy: ${err.message}`));
  });
  req.end();
  return req;
}

/**
 * An https.Agent whose connections are TLS inside a CONNECT tunnel through `proxy`: keep-alive,
 * pooling and the TLS options (CA, client certificate, servername) work as for a direct agent.
 */
export class TunnelingAgent extends https.Agent {
  constructor(
    options: https.AgentOptions,
    private readonly proxy: ProxyTarget,
  ) {
    super(options);
  }

  // node:http's Agent accepts the socket through the callback when this returns nothing.
  override createConnection(options: tls.ConnectionOptions, callback: (err: Error | null, socket?: Duplex) => void): undefined {
    connectTunnel(this.proxy, authorityOf(String(options.host ?? 'localhost'), options.port ?? 443), (err, raw) => {
      if (err) return callback(err);
      callback(null, tls.connect({ ...options, socket: raw as Socket }));
    });
    return undefined;
  }
}
