/**
 * The teaching demo's web server (Node). It serves the page (src/demo/web), the compiled lock,
 * shared-memory, index and demo modules the page's Web Workers import (dist/src/{lock,shm,index,
 * demo}: the very files the server runs), and the sources the page links to. Every response
 * carries Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp,
 * which is what makes the page crossOriginIsolated and gives it SharedArrayBuffer.
 *
 * For the running-server panel it relays one route, a fleetgate server's admin lock stream, so
 * the page needs no CORS from that server; and it runs a short `load --compare` on request.
 * It listens on loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { packageRoot } from '../util/paths.js';
import { tsLineMap } from './source-map.js';

const kIsolation = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
} as const;

const kTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Folders served as they are: the page, and the modules its workers import. */
const kServedDirs = ['src/demo/web', 'dist/src/lock', 'dist/src/shm', 'dist/src/index', 'dist/src/demo'];
/** Sources the page may show (code pane and the per-panel links). */
const kSourceDirs = ['src/lock', 'src/shm', 'src/index', 'src/demo', 'src/http/routes'];

/** The lock stream's path on a fleetgate server (src/http/routes/lock-stream.ts). */
export const kLockStreamPath = '/api/v1/admin/lock/stream';

export interface ManagedServer {
  url: string;
  token: string;
}

export interface DemoServerOptions {
  port?: number;
  host?: string;
  /** A fleetgate server the demo started: the relay uses its token when the page sends none. */
  managed?: ManagedServer;
  /**
   * Send the cross-origin isolation headers (default true). false serves the same page without
   * them, to show (and test) what a learner sees then: no SharedArrayBuffer, a plain warning.
   */
  isolation?: boolean;
  /** Seconds of load per lock mode for the compare button (default 2). */
  compareSeconds?: number;
  log?: (line: string) => void;
}

export interface DemoServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}


/** Absolute path of `rel` if it lies inside one of `dirs` (no traversal), else undefined. */
function inside(rel: string, dirs: readonly string[]): string | undefined {
  const clean = normalize(rel).replace(/^([/\\])+/, '');
  if (clean.split(sep).includes('..')) return undefined;
  if (!dirs.some((d) => clean === d || clean.startsWith(d + sep) || clean.startsWith(d + '/'))) return undefined;
  const abs = join(packageRoot, clean);
  return existsSync(abs) && statSync(abs).isFile() ? abs : undefined;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A source file as a page with numbered, linkable lines (#L42). */
function sourcePage(rel: string, text: string): string {
  const rows = text
    .split('\n')
    .map((l, i) => `<tr id="L${i + 1}"><td class="n"><a href="#L${i + 1}">${i + 1}</a></td><td><pre>${escapeHtml(l)}</pre></td></tr>`)
    .join('');
  return `<!doctype html><meta charset="utf-8"><title>${escapeHtml(rel)}</title><link rel="stylesheet" href="/src/demo/web/style.css"><body class="source"><h1>${escapeHtml(rel)}</h1><table>${rows}</table></body>`;
}

export async function startDemoServer(opts: DemoServerOptions = {}): Promise<DemoServer> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const compareSeconds = opts.compareSeconds ?? 2;
  let comparing: ChildProcess | undefined;
  const isolation = opts.isolation === false ? {} : kIsolation;
  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer): void => {
    res.writeHead(status, { ...isolation, 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  const sendJson = (res: ServerResponse, status: number, value: unknown): void => {
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://demo.invalid');
    const path = decodeURIComponent(url.pathname);
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      return send(res, 200, kTypes['.html']!, readFileSync(join(packageRoot, 'src/demo/web/index.html')));
    }
    if (req.method === 'GET' && path === '/favicon.ico') {
      res.writeHead(204, isolation);
      return void res.end();
    }
    if (req.method === 'GET' && path === '/api/config') {
      // The managed server's URL only; its token never leaves this process (the relay adds it).
      return sendJson(res, 200, { managedServer: opts.managed ? opts.managed.url : null, compareSeconds });
    }
    if (req.method === 'GET' && path === '/api/source') {
      const rel = url.searchParams.get('file') ?? '';
      const abs = inside(rel, kSourceDirs);
      if (!abs || !abs.endsWith('.ts')) return sendJson(res, 404, { error: `no such source: ${rel}` });
      const js = join(packageRoot, 'dist', rel.replace(/\.ts$/, '.js'));
      const map = existsSync(js + '.map') ? tsLineMap(readFileSync(js + '.map', 'utf8')) : [];
      return sendJson(res, 200, { file: rel, text: readFileSync(abs, 'utf8'), jsToTs: map });
    }
    if (req.method === 'GET' && path.startsWith('/code/')) {
      const rel = path.slice('/code/'.length);
      const abs = inside(rel, kSourceDirs);
      if (!abs) return send(res, 404, 'text/plain; charset=utf-8', `no such source: ${rel}\n`);
      return send(res, 200, kTypes['.html']!, sourcePage(rel, readFileSync(abs, 'utf8')));
    }
    if (req.method === 'GET' && path === '/api/relay/lock-stream') return relay(req, res, url.searchParams.get('server') ?? '');
    if (req.method === 'POST' && path === '/api/compare') return compare(res);
    if (req.method === 'GET') {
      const abs = inside(path, kServedDirs);
      if (abs) return send(res, 200, kTypes[extname(abs)] ?? 'application/octet-stream', readFileSync(abs));
    }
    send(res, 404, 'text/plain; charset=utf-8', `not found: ${req.method} ${path}\n`);
  };

  /** Streams a fleetgate server's lock stream back to the page, until either side leaves. */
  const relay = async (req: IncomingMessage, res: ServerResponse, server: string): Promise<void> => {
    let base: URL;
    try {
      base = new URL(server);
      if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('scheme');
    } catch {
      return sendJson(res, 400, { error: 'server must be an http(s) URL, e.g. http://127.0.0.1:8080' });
    }
    let auth = req.headers.authorization ?? '';
    if (!auth && opts.managed && new URL(opts.managed.url).origin === base.origin) auth = `Bearer ${opts.managed.token}`;
    if (!auth) return sendJson(res, 401, { error: 'an admin token is required' });
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    let upstream: Response;
    try {
      upstream = await fetch(new URL(kLockStreamPath, base), { headers: { authorization: auth, accept: 'text/event-stream' }, signal: abort.signal });
    } catch (err) {
      return sendJson(res, 502, { error: `cannot reach ${base.origin}: ${(err as Error).message}` });
    }
    if (!upstream.ok || !upstream.body) {
      const text = await upstream.text().catch(() => '');
      let msg = `HTTP ${upstream.status}`;
      try {
        msg += `: ${(JSON.parse(text) as { error?: string }).error ?? ''}`;
      } catch {
        /* not JSON: the status says enough */
      }
      return sendJson(res, upstream.status === 401 || upstream.status === 403 ? upstream.status : 502, { error: `${base.origin} answered ${msg}` });
    }
    res.writeHead(200, { ...isolation, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' });
    try {
      for await (const chunk of upstream.body) res.write(chunk);
    } catch {
      /* either side went away */
    }
    res.end();
  };

  /** Runs `load --compare` for a few seconds per mode and answers with its table. */
  const compare = (res: ServerResponse): void => {
    if (comparing) return sendJson(res, 409, { error: 'a comparison is already running' });
    const args = [join(packageRoot, 'dist/load/run.js'), '--compare', '--duration', String(compareSeconds), '--connections', '8', '--clusters', '4', '--results', join(packageRoot, 'load', 'results', 'demo')];
    const child = spawn(process.execPath, args, { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    comparing = child;
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-8000)));
    // Bounded: three runs of compareSeconds plus start-up; a stuck run is killed, by its pid.
    const limit = setTimeout(() => child.kill('SIGTERM'), (compareSeconds * 3 + 90) * 1000);
    child.once('exit', (code, signal) => {
      clearTimeout(limit);
      comparing = undefined;
      if (out.trim()) sendJson(res, 200, { table: out, exitCode: code });
      else sendJson(res, 500, { error: `load --compare ended with ${signal ?? code}`, detail: err.slice(-2000) });
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: err.message });
      else res.destroy(err);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8090, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address}:${addr.port}/`;
  log(`fleetgate demo: serving the teaching page at ${url}`);
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        comparing?.kill('SIGTERM');
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
