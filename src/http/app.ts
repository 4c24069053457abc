/**
 * The Express 5 application one HTTP worker serves. createApp wires the routes to their
 * dependencies (the cluster directory, the store, the sync barrier) and owns this worker's
 * upstream client cache and request metrics; the worker listens with `handle.app` and calls
 * `handle.close()` after its server has drained.
 *
 * Route map (auth: B = bearer token, A = admin token):
 *   GET  /healthz /readyz /metrics                          no auth
 *   GET  /api/v1/clusters                                   B  Kite list, filtered by the token's clusters
 *   GET  /api/v1/clusters/:name/kubeconfig                  B  kubeconfig pointing kubectl at /k8s/NAME
 *   GET|POST /api/v1/admin/clusters, PUT|DELETE .../:id     A  read-your-writes
 *   POST /api/v1/admin/clusters/import                      A
 *   GET|POST /api/v1/admin/tokens, DELETE .../:id           A
 *   POST /api/v1/admin/sync[?wait=true]                     A  request a sync (Kite's syncNow)
 *   deps.mounts (e.g. /api/v1/fleet)                        B  mounted before the resource routes
 *   GET  /api/v1/overview, /api/v1/:resource[/:ns[/:name]]  B  cluster by header, query, cookie, default
 *   ALL  /k8s/:cluster/*                                    B  streamed passthrough; viewers read only
 *   upgrades under /k8s/:cluster/ (exec, attach, port-forward) A  the 'upgrade' event: handle.upgrade
 * Watches, log follows and upgraded sessions are held in a StreamRegistry (streams.ts): capped
 * per token and cut when their token is revoked.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import { AuditLog } from '../audit/log.js';
import { auditAdminWrites, auditRefusal } from './audit.js';
import { bearerToken, requireAuth, sameSecret, TokenVerifier, type Caller } from './auth.js';
import { UpstreamClientCache } from '../upstream/client-cache.js';
import type { AppDeps } from './deps.js';
import { errorHandler, mapError } from './errors.js';
import { HttpError } from '../util/http-error.js';
import { HttpMetrics, renderHttpMetrics, type HttpMetricsSnapshot } from './metrics.js';
import { k8sFastPath, splitK8sUrl } from './k8s-fast-path.js';
import { passthrough } from './passthrough.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerAccessRoutes } from './routes/access.js';
import { requestedClusterName } from './select.js';
import { registerClusterRoutes, SummarySnapshot } from './routes/clusters.js';
import { registerResourceRoutes } from './routes/resources.js';
import { kDefaultMaxStreamsPerToken, StreamRegistry } from './streams.js';
import { k8sUpgrades, takesUpgrade, type UpgradeListener } from './upgrade.js';

export interface FleetgateApp {
  /** The Express app: `http.createServer(handle.app)` or `handle.app.listen(...)`. */
  app: express.Express;
  /** This worker's request metrics and upstream cache counters, plain and serialisable. */
  metricsSnapshot(): HttpMetricsSnapshot;
  /** This worker's upstream client cache (for diagnostics and tests). */
  clientCache: UpstreamClientCache;
  /** This worker's audit log (records are written in batches; flush() writes what is queued). */
  audit: AuditLog;
  /**
   * The listener for the HTTP server's 'upgrade' event (kubectl exec, attach, port-forward
   * through /k8s): `server.on('upgrade', handle.upgrade)`. Without it node:http drops upgrades.
   */
  upgrade: UpgradeListener;
  /** The servers' shouldUpgradeCallback: which upgrade requests go to `upgrade`. */
  shouldUpgrade: (req: IncomingMessage) => boolean;
  /** Ends upgraded sessions and closes every upstream agent. Call after the HTTP server stopped and drained. */
  close(): Promise<void>;
}

type ExpressHandle = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

export const kDefaults = {
  upstreamTimeoutMs: 30_000,
  bodyLimit: '2mb',
  syncWaitMs: 15_000,
  authCacheMs: 1_000,
} as const;

export function createApp(deps: AppDeps): FleetgateApp {
  const o = deps.options ?? {};
  const timeoutMs = o.upstreamTimeoutMs ?? kDefaults.upstreamTimeoutMs;
  const bodyLimit = o.bodyLimit ?? kDefaults.bodyLimit;
  const prefix = o.workerId !== undefined ? `fleetgate http[${o.workerId}]: ` : 'fleetgate http: ';
  const sink = o.log ?? ((line: string) => console.error(line));
  const log = (line: string) => sink(prefix + line);
  const directory = deps.directory;

  const metrics = new HttpMetrics();
  const cache = new UpstreamClientCache({ entries: () => directory.listSummary(), fullEntry: (name) => directory.lookup(name) });
  const verifier = new TokenVerifier(deps.store.tokens, o.authCacheMs ?? kDefaults.authCacheMs, log, deps.recordTokenUse);
  const audit =
    deps.audit ??
    new AuditLog({
      store: deps.store.audit,
      stdout: o.auditStdout ? (text) => process.stdout.write(text) : undefined,
      retentionMs: o.auditRetentionMs,
      log,
    });
  const metricsSnapshot = () => metrics.snapshot(cache.stats(), audit.stats());
  const metricsText = deps.metricsText ?? (async () => renderHttpMetrics(metricsSnapshot()));
  const ready = deps.readyz ?? (() => directory.isReady());

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // /k8s/NAME/... skips Express (k8s-fast-path.ts); everything else, and /k8s spellings the fast
  // path does not take, goes through the routes below. Wrapping app.handle (what the app function
  // calls) rather than adding a middleware keeps `handle.app` the one listener for every caller.
  const streams = new StreamRegistry(deps.store.tokens, { maxPerToken: o.maxStreamsPerToken ?? kDefaultMaxStreamsPerToken });
  const k8sDeps = { directory, cache, metrics, timeoutMs, verifier, log, streams, audit };
  const fastK8s = k8sFastPath(k8sDeps);
  const upgrades = k8sUpgrades(k8sDeps, (req, res) => app(req, res));
  const viaExpress = (app as unknown as { handle: ExpressHandle }).handle.bind(app);
  (app as unknown as { handle: ExpressHandle }).handle = (req, res, next) => {
    if (!fastK8s(req, res)) viaExpress(req, res, next);
  };
  app.use(metrics.middleware());

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const notReady = deps.notReadyReason ?? (() => (ready() ? undefined : 'not ready: the first cluster sync has not committed yet'));
  app.get('/readyz', (_req, res) => {
    const reason = notReady();
    const degraded = reason === undefined ? deps.degraded?.() : undefined;
    if (reason !== undefined) res.status(503).json({ error: reason });
    else if (degraded) res.json({ status: 'degraded', message: degraded });
    else res.json({ status: 'ready' });
  });
  app.get('/metrics', async (req, res) => {
    if (o.metricsToken !== undefined && !sameSecret(bearerToken(req), o.metricsToken)) {
      throw new HttpError(401, 'GET /metrics needs Authorization: Bearer <the --metrics-token>', { 'WWW-Authenticate': 'Bearer' });
    }
    const text = await metricsText();
    res.type('text/plain; version=0.0.4; charset=utf-8').send(text);
  });

  const auth = requireAuth(verifier);
  app.use('/k8s', (_req, res, next) => {
    res.locals.k8sStatus = true;
    next();
  });
  app.use('/k8s', auth);
  app.use('/k8s/:cluster', passthrough({ directory, cache, metrics, timeoutMs, streams }));
  app.use('/api', auth);
  app.use(
    '/api',
    express.json({ limit: bodyLimit }),
    express.text({ limit: bodyLimit, type: ['text/*', 'application/yaml', 'application/x-yaml'] }),
  );

  app.use('/api/v1/admin', auditAdminWrites(audit));
  registerClusterRoutes(app, directory, o.publicTls, new SummarySnapshot(directory, o.snapshotSummaries ?? false), o.externalUrl);
  registerAdminRoutes(app, {
    directory,
    store: deps.store,
    syncBarrier: deps.syncBarrier,
    requestSync: deps.requestSync ?? (() => void deps.syncBarrier(0)),
    syncWaitMs: o.syncWaitMs ?? kDefaults.syncWaitMs,
    verifier,
    streams,
    allowExec: o.allowExec ?? false,
  });
  registerAccessRoutes(app, {
    store: deps.store,
    syncBarrier: deps.syncBarrier,
    syncWaitMs: o.syncWaitMs ?? kDefaults.syncWaitMs,
    audit,
  });
  for (const m of deps.mounts ?? []) {
    app.use(
      m.path,
      (_req, res, next) => {
        res.locals.mount = m.path;
        next();
      },
      m.handler,
    );
  }
  registerResourceRoutes(app, { directory, cache, metrics, timeoutMs });

  app.use((req, _res, next) => {
    next(new HttpError(404, `no route for ${req.method} ${req.path}`));
  });
  // Refusals (401/403) go to the audit log; every error's message is kept for the admin-write record.
  const auditErrors: ErrorRequestHandler = (err, req, res, next) => {
    const m = mapError(err);
    res.locals.errorMessage = m.message;
    const cluster = requestedClusterName(req) || (splitK8sUrl(req.originalUrl)?.name ?? '');
    auditRefusal(audit, req, m.status, m.message, res.locals.caller as Caller | undefined, err, cluster);
    next(err);
  };
  app.use(auditErrors);
  app.use(errorHandler(log));

  return {
    app,
    metricsSnapshot,
    clientCache: cache,
    audit,
    upgrade: upgrades.listener,
    shouldUpgrade: takesUpgrade,
    close: async () => {
      streams.closeAll();
      upgrades.closeAll();
      verifier.flushUses();
      await audit.flush();
      return cache.close();
    },
  };
}
