/**
 * Anchors for the passthrough ratio of the HTTP benchmark: how fast can any Node.js proxy in
 * front of the simulator go on this machine? Two node:cluster processes (as many as fleetgate's
 * HTTP workers in the benchmark), in one of two modes:
 *
 *   http    the least a node:http reverse proxy does: http.createServer, one keep-alive
 *           https.Agent, https.request with the cluster's token, pipe the answer back. No
 *           authentication, no lookup, no metrics, no timeouts.
 *   tunnel  no HTTP at all: each accepted connection gets its own TLS connection to the
 *           simulator and bytes are copied both ways. The caller must send the cluster's own
 *           token. Every Node proxy that reads requests does at least this much work (a read and
 *           a write on each side, TLS to upstream), so its ratio bounds fleetgate's from above.
 *
 * Loopback and benchmark only: the simulator's certificate is not verified.
 * Usage: node proxy-anchor.js http|tunnel PORT UPSTREAM_URL TOKEN
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { runTwoProcesses } from './two-process.js';

const [mode, portArg, upstreamArg, token] = process.argv.slice(2);
if (mode !== 'http' && mode !== 'tunnel') throw new Error('usage: proxy-anchor.js http|tunnel PORT UPSTREAM_URL TOKEN');
const upstream = new URL(upstreamArg!);
const port = Number(portArg);

function serveHttp(): void {
  const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
  http
    .createServer((req, res) => {
      const up = https.request(
        {
          hostname: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          agent,
          headers: { authorization: `Bearer ${token}`, accept: req.headers.accept ?? '*/*' },
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end();
    })
    .listen(port, '127.0.0.1');
}

function serveTunnel(): void {
  net
    .createServer((down) => {
      down.setNoDelay(true);
      const up = tls.connect({ host: upstream.hostname, port: Number(upstream.port), rejectUnauthorized: false });
      up.setNoDelay(true);
      // Plain writes rather than pipe(): the cheapest copy Node offers, which is the point here.
      down.on('data', (d: Buffer) => up.write(d));
      up.on('data', (d: Buffer) => down.write(d));
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
      down.on('error', () => {});
      up.on('error', () => {});
    })
    .listen(port, '127.0.0.1');
}

runTwoProcesses(port, mode === 'http' ? serveHttp : serveTunnel);
