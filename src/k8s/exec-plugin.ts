/**
 * client-go credential (exec) plugins, run only when the operator allows them (--allow-exec):
 * such a kubeconfig runs a command on the fleetgate host, so by default it is refused.
 *
 * The plugin gets what kubectl would need and nothing of fleetgate's own environment (which holds
 * FLEETGATE_ENCRYPTION_KEY and FLEETGATE_ADMIN_TOKEN): PATH and HOME, the kubeconfig's env, and
 * KUBERNETES_EXEC_INFO (a non-interactive ExecCredential request). It runs with a hard timeout and no stdin, and must
 * print an ExecCredential whose status carries a token or a client certificate and key. The sync
 * worker re-runs it on every resync, which renews short-lived tokens. Its output is a secret: no
 * error text ever quotes it; stderr is only summarised after redaction.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { K8sConfigError } from './errors.js';
import type { KubeUser } from './kubeconfig.js';
import { redact, shorten } from './redact.js';

export interface ExecCredentials {
  token: string;
  certData: string;
  keyData: string;
}

/** How long a plugin may run before it is killed and the cluster goes to the error state. */
export const kExecTimeoutMs = 10_000;

/** The variables of fleetgate's environment a plugin inherits. */
export const kExecInheritedEnv: readonly string[] = ['PATH', 'HOME'];

/** A plugin's whole environment: kExecInheritedEnv from `base`, the kubeconfig's env, KUBERNETES_EXEC_INFO. */
export function execPluginEnv(user: KubeUser, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const apiVersion = user.execApiVersion || 'client.authentication.k8s.io/v1';
  const env: NodeJS.ProcessEnv = {};
  for (const k of kExecInheritedEnv) if (base[k] !== undefined) env[k] = base[k];
  for (const v of user.execEnv) env[v.name] = v.value;
  env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } });
  return env;
}

interface ExecFailure extends NodeJS.ErrnoException {
  status?: number | null;
  signal?: string | null;
  stderr?: string | Buffer;
  killed?: boolean;
}

/** The secret-free reason a plugin run failed. */
function failureReason(user: KubeUser, e: ExecFailure, timeoutMs: number): string {
  const who = `user "${user.name}" exec plugin`;
  if (e.code === 'ENOENT') return `${who} "${user.execCommand}" was not found`;
  if (e.code === 'ETIMEDOUT' || e.signal === 'SIGTERM' || e.killed) return `${who} timed out after ${timeoutMs} ms`;
  const stderr = e.stderr === undefined ? '' : String(e.stderr);
  const detail = stderr.trim() !== '' ? `: ${shorten(redact(stderr.trim().split('\n')[0]!), 160)}` : '';
  return `${who} failed (exit ${e.status ?? (typeof e.code === 'number' ? e.code : undefined) ?? e.signal ?? 'unknown'})${detail}`;
}

/** The credentials in a plugin's output; throws K8sConfigError (never quoting the output). */
function parseCredential(user: KubeUser, stdout: string): ExecCredentials & { expiresAt: number } {
  const who = `user "${user.name}" exec plugin`;
  let cred: unknown;
  try {
    cred = JSON.parse(stdout);
  } catch {
    throw new K8sConfigError(`${who} did not print an ExecCredential (invalid JSON)`);
  }
  const status = (cred as { status?: Record<string, unknown> } | null)?.status;
  const str = (k: string) => (status && typeof status[k] === 'string' ? (status[k] as string) : '');
  const out = { token: str('token').trim(), certData: str('clientCertificateData'), keyData: str('clientKeyData'), expiresAt: Date.parse(str('expirationTimestamp')) || Infinity };
  if (out.token === '' && (out.certData === '' || out.keyData === '')) {
    throw new K8sConfigError(`${who} printed an ExecCredential without a token or a client certificate and key`);
  }
  return out;
}

const execOptions = (user: KubeUser, timeoutMs: number) =>
  ({
    env: execPluginEnv(user),
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 1 << 20,
    windowsHide: true,
  }) as const;

/** Runs the plugin and waits for it (blocks the thread: tests and one-off tools only). */
export function runExecPlugin(user: KubeUser, opts: { timeoutMs?: number } = {}): ExecCredentials {
  const timeoutMs = opts.timeoutMs ?? kExecTimeoutMs;
  let stdout: string;
  try {
    stdout = execFileSync(user.execCommand, user.execArgs, { ...execOptions(user, timeoutMs), stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new K8sConfigError(failureReason(user, err as ExecFailure, timeoutMs));
  }
  const { token, certData, keyData } = parseCredential(user, stdout);
  return { token, certData, keyData };
}

/** Thrown while a plugin's first credential is still being fetched: the cluster is building, not broken. */
export class ExecPendingError extends K8sConfigError {
  readonly pending = true;
}

interface CacheSlot {
  cred?: ExecCredentials & { expiresAt: number };
  error?: string;
  at: number;
  running: boolean;
}

/**
 * Exec plugin credentials for the sync worker, fetched without blocking it: the first request for
 * a plugin starts it in the background and answers ExecPendingError (the cluster commits as
 * building); `onSettled` is called when a run ends, so a sync pass can pick the result up. A
 * credential is served until it expires and refreshed in the background once it is older than
 * `refreshAfterMs` (the resync interval: as often as the blocking version ran the plugin).
 * Credentials live only in this worker's memory.
 */
export class ExecCredentialCache {
  private readonly slots = new Map<string, CacheSlot>();

  constructor(
    private readonly onSettled: () => void,
    private readonly opts: { refreshAfterMs: number; timeoutMs?: number; now?: () => number },
  ) {}

  get(user: KubeUser): ExecCredentials {
    const now = (this.opts.now ?? Date.now)();
    const key = createHash('sha256').update(JSON.stringify([user.name, user.execCommand, user.execArgs, user.execEnv, user.execApiVersion])).digest('base64');
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { at: now, running: false };
      this.slots.set(key, slot);
      this.start(slot, user);
      throw new ExecPendingError(`user "${user.name}" exec plugin is running`);
    }
    const stale = now - slot.at >= this.opts.refreshAfterMs;
    if (stale && !slot.running) this.start(slot, user);
    if (slot.cred && slot.cred.expiresAt > now) return slot.cred;
    if (slot.error !== undefined && !slot.running) throw new K8sConfigError(slot.error);
    throw new ExecPendingError(`user "${user.name}" exec plugin is running`);
  }

  private start(slot: CacheSlot, user: KubeUser): void {
    slot.running = true;
    const timeoutMs = this.opts.timeoutMs ?? kExecTimeoutMs;
    const child = execFile(user.execCommand, user.execArgs, execOptions(user, timeoutMs), (err, stdout) => {
      slot.running = false;
      slot.at = (this.opts.now ?? Date.now)();
      try {
        if (err) throw new K8sConfigError(failureReason(user, err as ExecFailure, timeoutMs));
        slot.cred = parseCredential(user, stdout);
        slot.error = undefined;
      } catch (e) {
        slot.error = (e as Error).message;
        slot.cred = undefined;
      }
      this.onSettled();
    });
    child.stdin?.end();
  }
}
