/**
 * Runtime state of one simulated cluster: its credentials, version, fault, listener and
 * connections, and its object store, generated on first use.
 */
import type net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, X509Certificate } from 'node:crypto';
import { ClusterStore } from '../store.js';
import { generateCluster, hashString, rngFrom } from '../generate.js';

export interface Fault {
  /** Added to every answer, in milliseconds. */
  latencyMs?: number;
  /** Fraction (0..1) of requests answered with a 500 InternalError Status. */
  errorRate?: number;
  /** Listener closed: connections are refused. Coming back up reuses the same port. */
  down?: boolean;
  /** Connections are accepted (TLS completes) but requests are never answered while set. */
  hang?: boolean;
}

/** A request held unanswered while its cluster hangs. */
export interface Held {
  req: IncomingMessage;
  res: ServerResponse;
}

/** Runtime state of one simulated cluster. */
export class ClusterRuntime {
  port = 0;
  token: string;
  /** Read-only credential: list/get/watch everything but secrets; writes are 403. */
  viewerToken: string;
  version: string;
  versionBody!: Buffer;
  fault: Required<Fault> = { latencyMs: 0, errorRate: 0, down: false, hang: false };
  clientCertPem?: string;
  clientKeyPem?: string;
  clientFingerprint?: string;
  requests = 0;
  listener: net.Server | null = null;
  readonly sockets = new Set<net.Socket>();
  readonly held = new Set<Held>();
  private storeValue: ClusterStore | null = null;
  readonly errorRng: () => number;

  constructor(
    readonly name: string,
    readonly seed: number,
    readonly podCount: number,
    version: string,
  ) {
    this.token = newToken();
    this.viewerToken = newToken();
    this.version = version;
    this.setVersion(version);
    this.errorRng = rngFrom(hashString(`${seed}:${name}:errors`));
  }

  setVersion(gitVersion: string): void {
    const m = gitVersion.match(/^v?(\d+)\.(\d+)/);
    this.version = gitVersion;
    this.versionBody = Buffer.from(
      JSON.stringify({
        major: m ? m[1] : '1',
        minor: m ? m[2] : '0',
        gitVersion,
        gitCommit: hashString(gitVersion).toString(16).padStart(8, '0') + 'f1ee7ga7e',
        gitTreeState: 'clean',
        buildDate: '2025-01-01T00:00:00Z',
        goVersion: 'go1.22.8',
        compiler: 'gc',
        platform: 'linux/amd64',
      }),
    );
  }

  get generated(): boolean {
    return this.storeValue !== null;
  }

  /** Objects are generated on first use and then kept (with writes) until the simulator stops. */
  get store(): ClusterStore {
    if (!this.storeValue) {
      const s = new ClusterStore(this.name);
      s.loadGenerated(generateCluster(this.name, this.seed, this.podCount, this.version));
      this.storeValue = s;
    }
    return this.storeValue;
  }
}

export function newToken(): string {
  return 'sim-' + randomBytes(18).toString('base64url');
}

/** Fingerprint in Node's getPeerCertificate() format. */
export function fingerprint256(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}
