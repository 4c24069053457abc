/**
 * The version probe: GET {server}/version with a cluster's ClientConfig. One hard deadline covers
 * proxy CONNECT, TCP connect, TLS handshake, response headers and body; the promise never rejects
 * and every error text is short, single-line and secret-free ("connect ECONNREFUSED
 * 127.0.0.1:4321", "timed out after 5000 ms", "HTTP 401 Unauthorized", "invalid /version
 * response"), so it can go straight into the index's per-cluster error.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { isIP, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import type { ClientConfig } from '../index/types.js';
import { authorityOf, connectTunnel, parseProxyUrl, type ProxyTarget } from './proxy.js';
import { redact, shorten } from './redact.js';

export type ProbeResult = { ok: true; gitVersion: string; ms: number } | { ok: false; error: string; ms: number };

export interface ProbeOptions {
  /** Deadline for the whole exchange, in milliseconds. */
  timeoutMs: number;
  /** Agent to reuse (its protocol must match the server's); default: a fresh connection. */
  agent?: http.Agent | https.Agent;
  /** Cancels the probe; it then resolves with error "aborted". */
  signal?: AbortSignal;
}

/**
 * TLS contexts by credentials. Building one parses the CA bundle and the key (about 0.2 ms for a
 * small CA), which a probe would otherwise pay on every connection: fleets often share a CA, and
 * every resync re-probes the same clusters. Bounded; cleared whole when full (cheap to rebuild).
 */
const kContextCacheMax = 1024;
const contexts = new Map<string, tls.SecureContext>();

function secureContextOf(config: ClientConfig): tls.SecureContext {
  const key = createHash('sha256').update(config.caData).update('\0').update(config.certData).update('\0').update(config.keyData).digest('base64');
  let ctx = contexts.get(key);
  if (!ctx) {
    const o: tls.SecureContextOptions = {};
    if (config.caData !== '') o.ca = config.caData;
    if (config.certData !== '') o.cert = config.certData;
    if (config.keyData !== '') o.key = config.keyData;
    ctx = tls.createSecureContext(o);
    if (contexts.size >= kContextCacheMax) contexts.clear();
    contexts.set(key, ctx);
  }
  return ctx;
}

/** Largest /version body accepted; a real one is about 400 bytes. */
const kMaxBody = 1 << 20;

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const msg = e && typeof e.message === 'string' && e.message !== '' ? e.message : String(e?.code ?? err);
  return shorten(redact(msg));
}

/** TLS options of a ClientConfig, as node:tls / node:https take them. */
export function tlsOptionsOf(config: ClientConfig, host: string): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { rejectUnauthorized: !config.insecure };
  if (config.caData !== '') o.ca = config.caData;
  if (config.certData !== '') o.cert = config.certData;
  if (config.keyData !== '') o.key = config.keyData;
  if (config.tlsServerName !== '') o.servername = config.tlsServerName;
  else if (isIP(host) === 0) o.servername = host;
  return o;
}

/** GETs /version; resolves with the gitVersion or a short error. Never rejects. */
export function probeVersion(config: ClientConfig, opts: ProbeOptions): Promise<ProbeResult> {
  const t0 = performance.now();
  const elapsed = (): number => Math.round((performance.now() - t0) * 10) / 10;
  return new Promise<ProbeResult>((resolve) => {
    const cleanups: Array<() => void> = [];
    let settled = false;
    const finish = (r: { ok: true; gitVersion: string } | { ok: false; error: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const c of cleanups) {
        try {
          c();
        } catch {
          /* already closed: nothing to release */
        }
      }
      resolve({ ...r, ms: elapsed() });
    };
    const fail = (error: string): void => finish({ ok: false, error });
    const timer = setTimeout(() => fail(`timed out after ${opts.timeoutMs} ms`), Math.max(0, opts.timeoutMs));

    if (opts.signal) {
      if (opts.signal.aborted) return fail('aborted');
      const onAbort = (): void => fail('aborted');
      opts.signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => opts.signal!.removeEventListener('abort', onAbort));
    }

    let target: URL;
    try {
      target = new URL(config.server);
      if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new Error('protocol');
    } catch {
      return fail('invalid server URL');
    }
    const isHttps = target.protocol === 'https:';
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(target.port || (isHttps ? 443 : 80));
    const path = target.pathname.replace(/\/+$/, '') + '/version';
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json', 'user-agent': 'fleetgate' };
    if (config.token !== '') headers.authorization = `Bearer ${config.token}`;
    let tlsOpts: tls.ConnectionOptions = {};
    if (isHttps) {
      try {
        const { ca: _ca, cert: _cert, key: _key, ...rest } = tlsOptionsOf(config, host);
        tlsOpts = { ...rest, secureContext: secureContextOf(config) };
      } catch (err) {
        return fail(`invalid TLS credentials: ${errorText(err)}`);
      }
    }

    const onResponse = (res: http.IncomingMessage): void => {
      cleanups.push(() => res.destroy());
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        return fail(`HTTP ${status} ${http.STATUS_CODES[status] ?? ''}`.trim());
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > kMaxBody) return fail('invalid /version response (too large)');
        chunks.push(c);
      });
      res.on('error', (err) => fail(errorText(err)));
      res.on('aborted', () => fail('connection closed while reading /version'));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return fail('invalid /version response');
        }
        const gv = (body as { gitVersion?: unknown } | null)?.gitVersion;
        if (typeof gv !== 'string' || gv === '' || gv.length > 100) return fail('invalid /version response');
        finish({ ok: true, gitVersion: gv });
      });
    };

    const send = (reqOpts: http.RequestOptions, viaHttps: boolean): void => {
      const req = (viaHttps ? https : http).request(reqOpts, onResponse);
      cleanups.push(() => req.destroy());
      req.on('error', (err) => fail(errorText(err)));
      req.end();
    };

    if (config.proxyUrl === '') {
      send({ host, port, path, method: 'GET', headers, agent: opts.agent ?? false, ...tlsOpts }, isHttps);
      return;
    }

    let proxy: ProxyTarget;
    try {
      proxy = parseProxyUrl(config.proxyUrl);
    } catch (err) {
      return fail((err as Error).message);
    }
    const authority = authorityOf(host, port);
    if (!isHttps) {
      // Plain http through an http proxy: absolute-form request line.
      const viaProxy: http.OutgoingHttpHeaders = { ...headers, host: authority };
      if (proxy.authorization) viaProxy['proxy-authorization'] = proxy.authorization;
      send({ host: proxy.host, port: proxy.port, path: `http://${authority}${path}`, method: 'GET', headers: viaProxy, agent: false }, proxy.tls);
      return;
    }
    // https through a proxy: CONNECT tunnel, then TLS to the API server inside it.
    const connectReq = connectTunnel(proxy, authority, (err, socket) => {
      if (err) return fail(errorText(err));
      cleanups.push(() => socket!.destroy());
      send({ host, port, path, method: 'GET', headers, createConnection: () => tls.connect({ ...tlsOpts, socket: socket as Socket }) }, true);
    });
    cleanups.push(() => connectReq.destroy());
  });
}
