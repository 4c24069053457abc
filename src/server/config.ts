/**
 * `fleetgate serve` settings: flags, then FLEETGATE_* environment variables, then defaults.
 * Parsing is pure (argv and env in, options or a ConfigError out) so it is tested without a server.
 */
import { argErrorMessage } from '../util/args.js';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { LockMode } from '../shm/layout.js';
import { parseDuration } from '../util/duration.js';

export interface ServeOptions {
  port: number;
  /** HTTPS port for kubectl and other clients that send credentials only over TLS; -1 = off. */
  tlsPort: number;
  /** PEM files of the serving certificate; when absent one is generated in the data directory. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  host: string;
  dataDir: string;
  /** postgres://… to share the registry between replicas; undefined = SQLite in dataDir. Secret (may hold a password). */
  database: string | undefined;
  workers: number;
  lock: LockMode;
  syncIntervalMs: number;
  probeTimeoutMs: number;
  probeConcurrency: number;
  upstreamTimeoutMs: number;
  kubeconfig: string | undefined;
  sim: number;
  simPods: number;
  allowExec: boolean;
  drainMs: number;
  fleetThreads: number;
  fleetQueue: number;
  /** Decoded index entries each HTTP worker keeps per generation (IndexReaderOptions.cacheEntries). */
  readCache: number;
  maxStreamsPerToken: number;
  /** How clients reach this server (https://fleetgate.example.com); kubeconfigs point there. */
  externalUrl: string | undefined;
  /** Extra host names / IPs of the generated serving certificate. */
  tlsSan: string[];
  /** When set, /metrics needs `Authorization: Bearer` this. */
  metricsToken: string | undefined;
  /** Where the audit log goes besides the store: 'store' (only there) or 'stdout' (also JSON lines on stdout). */
  auditLog: 'store' | 'stdout';
  /** Audit records older than this are deleted. */
  auditRetentionMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

interface Setting {
  flag: string;
  env: string;
  type: 'string' | 'int' | 'bool' | 'duration' | 'port-or-off';
  help: string;
}

const settings: Record<keyof ServeOptions, Setting> = {
  port: { flag: 'port', env: 'FLEETGATE_PORT', type: 'int', help: 'port to listen on (default 8080)' },
  tlsPort: {
    flag: 'tls-port',
    env: 'FLEETGATE_TLS_PORT',
    type: 'port-or-off',
    help: 'HTTPS port, or off (default 8443; kubectl sends tokens only over TLS)',
  },
  tlsCert: { flag: 'tls-cert', env: 'FLEETGATE_TLS_CERT', type: 'string', help: 'PEM certificate for HTTPS (default: generated in the data dir)' },
  tlsKey: { flag: 'tls-key', env: 'FLEETGATE_TLS_KEY', type: 'string', help: 'PEM private key for --tls-cert' },
  host: { flag: 'host', env: 'FLEETGATE_HOST', type: 'string', help: 'address to listen on (default 127.0.0.1)' },
  dataDir: { flag: 'data-dir', env: 'FLEETGATE_DATA_DIR', type: 'string', help: 'SQLite database and key files (default ./data)' },
  database: {
    flag: 'database',
    env: 'FLEETGATE_DATABASE_URL',
    type: 'string',
    help: 'postgres://… shared by several replicas (default: SQLite in the data dir)',
  },
  workers: { flag: 'workers', env: 'FLEETGATE_WORKERS', type: 'int', help: 'HTTP worker threads (default: available parallelism)' },
  lock: { flag: 'lock', env: 'FLEETGATE_LOCK', type: 'string', help: 'rw | mutex | none (none shows the race; never in production)' },
  syncIntervalMs: { flag: 'sync-interval', env: 'FLEETGATE_SYNC_INTERVAL', type: 'duration', help: 'periodic resync and re-probe (default 60s)' },
  probeTimeoutMs: { flag: 'probe-timeout', env: 'FLEETGATE_PROBE_TIMEOUT', type: 'duration', help: 'per-cluster /version probe timeout (default 5s)' },
  probeConcurrency: { flag: 'probe-concurrency', env: 'FLEETGATE_PROBE_CONCURRENCY', type: 'int', help: 'probes in flight at once (default 16)' },
  upstreamTimeoutMs: { flag: 'upstream-timeout', env: 'FLEETGATE_UPSTREAM_TIMEOUT', type: 'duration', help: 'timeout of each call to a cluster (default 30s)' },
  kubeconfig: { flag: 'kubeconfig', env: 'FLEETGATE_KUBECONFIG', type: 'string', help: 'kubeconfig imported at first start (else $KUBECONFIG, else ~/.kube/config)' },
  sim: { flag: 'sim', env: 'FLEETGATE_SIM', type: 'int', help: 'also start N simulated clusters in-process and register them' },
  simPods: { flag: 'sim-pods', env: 'FLEETGATE_SIM_PODS', type: 'int', help: 'pods per simulated cluster (default 20)' },
  allowExec: { flag: 'allow-exec', env: 'FLEETGATE_ALLOW_EXEC', type: 'bool', help: 'accept kubeconfigs whose users run exec plugins (runs commands on this server: every admin token becomes a shell on it)' },
  drainMs: { flag: 'drain-timeout', env: 'FLEETGATE_DRAIN_TIMEOUT', type: 'duration', help: 'how long shutdown waits for in-flight requests (default 10s)' },
  fleetThreads: { flag: 'fleet-threads', env: 'FLEETGATE_FLEET_THREADS', type: 'int', help: 'fleet query pool threads per HTTP worker (default 1)' },
  fleetQueue: { flag: 'fleet-queue', env: 'FLEETGATE_FLEET_QUEUE', type: 'int', help: 'queued fleet queries before 503 (default 64)' },
  readCache: {
    flag: 'read-cache',
    env: 'FLEETGATE_READ_CACHE',
    type: 'int',
    help: 'decoded index entries each HTTP worker keeps per generation (default 256; 0 = off, so every read decodes, as --lock none always does)',
  },
  externalUrl: {
    flag: 'external-url',
    env: 'FLEETGATE_EXTERNAL_URL',
    type: 'string',
    help: 'URL clients use to reach fleetgate (kubeconfig downloads point there; default: the request\'s Host)',
  },
  tlsSan: { flag: 'tls-san', env: 'FLEETGATE_TLS_SAN', type: 'string', help: 'extra names or IPs, comma-separated, for the generated HTTPS certificate' },
  metricsToken: { flag: 'metrics-token', env: 'FLEETGATE_METRICS_TOKEN', type: 'string', help: '/metrics requires Authorization: Bearer TOKEN (default: open)' },
  maxStreamsPerToken: {
    flag: 'max-streams-per-token',
    env: 'FLEETGATE_MAX_STREAMS_PER_TOKEN',
    type: 'int',
    help: 'open watches, log follows and exec sessions per token and HTTP worker; one more is 429 (default 100)',
  },
  auditLog: { flag: 'audit-log', env: 'FLEETGATE_AUDIT_LOG', type: 'string', help: 'store | stdout: the audit log is kept in the store; stdout also prints it as JSON lines (default store)' },
  auditRetentionMs: { flag: 'audit-retention', env: 'FLEETGATE_AUDIT_RETENTION', type: 'duration', help: 'how long audit records are kept (default 30d)' },
};

export function defaultServeOptions(): ServeOptions {
  return {
    port: 8080,
    tlsPort: 8443,
    tlsCert: undefined,
    tlsKey: undefined,
    host: '127.0.0.1',
    dataDir: './data',
    database: undefined,
    workers: Math.max(1, availableParallelism()),
    lock: 'rw',
    syncIntervalMs: 60_000,
    probeTimeoutMs: 5000,
    probeConcurrency: 16,
    upstreamTimeoutMs: 30_000,
    kubeconfig: undefined,
    sim: 0,
    simPods: 20,
    allowExec: false,
    drainMs: 10_000,
    fleetThreads: 1,
    fleetQueue: 64,
    readCache: 256,
    maxStreamsPerToken: 100,
    externalUrl: undefined,
    tlsSan: [],
    metricsToken: undefined,
    auditLog: 'store',
    auditRetentionMs: 30 * 86_400_000,
  };
}

function convert(s: Setting, raw: string | boolean, source: string): unknown {
  if (s.type === 'bool') {
    if (typeof raw === 'boolean') return raw;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off|)$/i.test(raw)) return false;
    throw new ConfigError(`${source}: expected true or false, got "${raw}"`);
  }
  const text = String(raw);
  if (s.type === 'port-or-off') {
    if (/^(off|no|false|none)$/i.test(text)) return -1;
    if (!/^\d+$/.test(text) || Number(text) > 65535) throw new ConfigError(`${source}: expected a port number or off, got "${text}"`);
    return Number(text);
  }
  if (s.type === 'int') {
    if (!/^\d+$/.test(text)) throw new ConfigError(`${source}: expected a whole number, got "${text}"`);
    return Number(text);
  }
  if (s.type === 'duration') {
    try {
      return parseDuration(text);
    } catch (e) {
      throw new ConfigError(`${source}: ${(e as Error).message}`);
    }
  }
  return text;
}

export function serveUsage(): string {
  const lines = ['usage: fleetgate serve [options]', ''];
  for (const s of Object.values(settings)) {
    const flag = `--${s.flag}${s.type === 'bool' ? '' : ' VALUE'}`;
    lines.push(`  ${flag.padEnd(28)} ${s.help} [${s.env}]`);
  }
  lines.push(
    '',
    'environment only:',
    `  ${'FLEETGATE_ADMIN_TOKEN'.padEnd(28)} admin token to register (at least 32 characters); unset it to retire it`,
    `  ${'FLEETGATE_ENCRYPTION_KEY'.padEnd(28)} key of the stored kubeconfigs (default: DATA/encryption.key, created 0600)`,
    `  ${'FLEETGATE_V8_POOL_SIZE'.padEnd(28)} V8 helper threads (GC, compiles) for the whole process: N, or "node" for`,
    `  ${''.padEnd(28)} Node's default (default: half the cores, at least 1; see src/server/v8-pool.ts)`,
  );
  return lines.join('\n');
}

export function parseServeOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeOptions | 'help' {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const s of Object.values(settings)) options[s.flag] = { type: s.type === 'bool' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }) as {
      values: Record<string, string | boolean | undefined>;
    });
  } catch (e) {
    throw new ConfigError(argErrorMessage(e, Object.keys(options)));
  }
  if (values.help) return 'help';
  const out = defaultServeOptions() as unknown as Record<string, unknown>;
  for (const [key, s] of Object.entries(settings)) {
    const fromFlag = values[s.flag];
    const fromEnv = env[s.env];
    if (fromFlag !== undefined) out[key] = convert(s, fromFlag, `--${s.flag}`);
    else if (fromEnv !== undefined && fromEnv !== '') out[key] = convert(s, fromEnv, s.env);
  }
  const o = out as unknown as ServeOptions;
  // An ephemeral HTTP port (tests, side-by-side runs) gets an ephemeral HTTPS port too, unless one
  // was asked for: two such servers must not collide on the default 8443.
  if (o.port === 0 && values['tls-port'] === undefined && !env.FLEETGATE_TLS_PORT) o.tlsPort = 0;
  if (o.port > 65535) throw new ConfigError(`--port: expected a port number from 0 to 65535, got ${o.port}`);
  if (!['rw', 'mutex', 'none'].includes(o.lock)) throw new ConfigError(`--lock must be rw, mutex or none, got "${o.lock}"`);
  if (o.port > 65535) throw new ConfigError(`--port must be at most 65535, got ${o.port}`);
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new ConfigError('--tls-cert and --tls-key go together');
  if (o.workers < 1) throw new ConfigError('--workers must be at least 1');
  if (o.probeConcurrency < 1) throw new ConfigError('--probe-concurrency must be at least 1');
  if (o.fleetThreads < 1) throw new ConfigError('--fleet-threads must be at least 1');
  if (typeof o.tlsSan === 'string') o.tlsSan = (o.tlsSan as string).split(',').map((h) => h.trim()).filter((h) => h !== '');
  if (o.externalUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(o.externalUrl);
    } catch {
      throw new ConfigError(`--external-url must be a URL, got "${o.externalUrl}"`);
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError('--external-url must be an http or https URL');
    o.externalUrl = u.href.replace(/\/+$/, '');
  }
  if (o.maxStreamsPerToken < 1) throw new ConfigError('--max-streams-per-token must be at least 1');
  if (o.auditLog !== 'store' && o.auditLog !== 'stdout') throw new ConfigError(`--audit-log must be store or stdout, got "${String(o.auditLog)}"`);
  if (o.auditRetentionMs < 60_000) throw new ConfigError('--audit-retention must be at least 1m');
  return o;
}

/** Whether this Node can share one port between threads (`reusePort`, Node >= 22.12). */
export function supportsReusePort(version = process.versions.node): boolean {
  const [major, minor] = version.split('.').map(Number) as [number, number];
  return major > 22 || (major === 22 && minor >= 12);
}
