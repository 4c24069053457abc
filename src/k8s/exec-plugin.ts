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
import { execFileSync } from 'node:child_process';
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

export function runExecPlugin(user: KubeUser, opts: { timeoutMs?: number } = {}): ExecCredentials {
  const who = `user "${user.name}" exec plugin`;
  const env = execPluginEnv(user);
  let stdout: string;
  try {
    stdout = execFileSync(user.execCommand, user.execArgs, {
      env,
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? kExecTimeoutMs,
      maxBuffer: 1 << 20,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { status?: number | null; signal?: string | null; stderr?: string };
    if (e.code === 'ENOENT') throw new K8sConfigError(`${who} "${user.execCommand}" was not found`);
    if (e.code === 'ETIMEDOUT' || e.signal === 'SIGTERM') throw new K8sConfigError(`${who} timed out after ${opts.timeoutMs ?? kExecTimeoutMs} ms`);
    const detail = typeof e.stderr === 'string' && e.stderr.trim() !== '' ? `: ${shorten(redact(e.stderr.trim().split('\n')[0]!), 160)}` : '';
    throw new K8sConfigError(`${who} failed (exit ${e.status ?? e.signal ?? 'unknown'})${detail}`);
  }
  let cred: unknown;
  try {
    cred = JSON.parse(stdout);
  } catch {
    throw new K8sConfigError(`${who} did not print an ExecCredential (invalid JSON)`);
  }
  const status = (cred as { status?: Record<string, unknown> } | null)?.status;
  const str = (k: string) => (status && typeof status[k] === 'string' ? (status[k] as string) : '');
  const out: ExecCredentials = { token: str('token').trim(), certData: str('clientCertificateData'), keyData: str('clientKeyData') };
  if (out.token === '' && (out.certData === '' || out.keyData === '')) {
    throw new K8sConfigError(`${who} printed an ExecCredential without a token or a client certificate and key`);
  }
  return out;
}
