/**
 * Kubeconfig → ClientConfig: everything an HTTP worker needs to reach one API server, with file
 * references read now (the sync worker calls this on every rebuild, so rotated files are picked
 * up). Nothing is ever executed: exec and auth-provider users are refused.
 */
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import type { ClientConfig } from '../index/types.js';
import { K8sConfigError } from './errors.js';
import { runExecPlugin, type ExecCredentials } from './exec-plugin.js';
import { checkAuthPlugins, parseKubeconfig, resolveCurrentContext, type KubeUser } from './kubeconfig.js';
import { readRefFile } from './read-ref.js';
import { hideOnInspect } from './redact.js';

/** Fields of ClientConfig masked by util.inspect / console.log. */
const kSecretFields = ['token', 'keyData', 'certData'] as const;

const readRef = (path: string, what: string): string => readRefFile(path, what);

/** Trims and ends with one newline, CRLF → LF: the same certificate always compares equal. */
function normalisePem(pem: string): string {
  const t = pem.replace(/\r\n/g, '\n').trim();
  return t === '' ? '' : t + '\n';
}

function pemFromData(data: string, what: string): string {
  const compact = data.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) throw new K8sConfigError(`${what} is not valid base64`);
  const text = Buffer.from(compact, 'base64').toString('utf8');
  if (!text.includes('-----BEGIN ')) throw new K8sConfigError(`${what} does not decode to PEM`);
  return normalisePem(text);
}

function pemFromFile(path: string, what: string): string {
  const text = readRef(path, what);
  if (!text.includes('-----BEGIN ')) throw new K8sConfigError(`${what} file ${path} does not contain PEM`);
  return normalisePem(text);
}

function stripSlash(server: string): string {
  return server.replace(/\/+$/, '');
}

/** Marks a ClientConfig so inspect/console.log mask its secrets; JSON and clones are unchanged. */
export function protectClientConfig(config: ClientConfig): ClientConfig {
  return hideOnInspect(config, kSecretFields);
}

/**
 * Resolves the current context → cluster + user into a ClientConfig. Data fields win over file
 * references (as kubectl), `token` over `tokenFile`; files are read now; tokens are trimmed.
 * Throws K8sConfigError for malformed kubeconfigs, missing files (naming field and path), exec or
 * auth-provider users, basic auth, and a client certificate without its key (or vice versa).
 *
 * With `allowExec` (the operator's --allow-exec), an exec user's plugin is run now and its
 * ExecCredential supplies the token or client certificate (exec-plugin.ts); auth-provider users
 * are refused either way (client-go retired those plugins; use exec).
 */
export function normaliseClientConfig(
  kubeconfigText: string,
  opts: { allowExec?: boolean; execCredentials?: (user: KubeUser) => ExecCredentials } = {},
): ClientConfig {
  const parsed = parseKubeconfig(kubeconfigText);
  const reason = checkAuthPlugins(parsed);
  const current = resolveCurrentContext(parsed);
  const runsExec = current.user !== undefined && current.user.execCommand !== '' && current.user.authProvider === '';
  if (reason && !(opts.allowExec && runsExec)) {
    throw new K8sConfigError(reason);
  }
  const { cluster, user } = current;
  const cw = `cluster "${cluster.name}"`;
  const uw = user ? `user "${user.name}"` : '';

  let caData = '';
  if (cluster.caData !== '') caData = pemFromData(cluster.caData, `${cw} certificate-authority-data`);
  else if (cluster.caFile !== '') caData = pemFromFile(cluster.caFile, `${cw} certificate-authority`);

  let certData = '';
  let keyData = '';
  let token = '';
  if (user) {
    if (user.certData !== '') certData = pemFromData(user.certData, `${uw} client-certificate-data`);
    else if (user.certFile !== '') certData = pemFromFile(user.certFile, `${uw} client-certificate`);
    if (user.keyData !== '') keyData = pemFromData(user.keyData, `${uw} client-key-data`);
    else if (user.keyFile !== '') keyData = pemFromFile(user.keyFile, `${uw} client-key`);
    if ((certData === '') !== (keyData === '')) {
      throw new K8sConfigError(`${uw} has a client certificate without a client key (or a key without a certificate)`);
    }
    if (user.token !== '') token = user.token.trim();
    else if (user.tokenFile !== '') token = readRef(user.tokenFile, `${uw} tokenFile`).trim();
    if (runsExec) {
      // Only reached with allowExec: the plugin's credentials take the place of static ones.
      // The sync worker passes its ExecCredentialCache here, so no plugin ever blocks its thread.
      const cred = (opts.execCredentials ?? runExecPlugin)(user);
      token = cred.token;
      if (cred.certData !== '') {
        certData = cred.certData;
        keyData = cred.keyData;
      }
    }
    if (token === '' && (user.username !== '' || user.password !== '')) {
      throw new K8sConfigError(`${uw} uses basic authentication (username/password), which fleetgate does not support`);
    }
  }

  if (cluster.proxyUrl !== '') {
    let p: URL;
    try {
      p = new URL(cluster.proxyUrl);
    } catch {
      throw new K8sConfigError(`${cw} proxy-url is not a URL`);
    }
    if (p.protocol !== 'http:' && p.protocol !== 'https:') {
      throw new K8sConfigError(`${cw} proxy-url must be an http or https URL (socks is not supported)`);
    }
  }

  return protectClientConfig({
    server: stripSlash(cluster.server),
    caData,
    certData,
    keyData,
    token,
    tlsServerName: cluster.tlsServerName,
    insecure: cluster.insecure,
    proxyUrl: cluster.proxyUrl,
  });
}

/** Default service-account mount inside a pod. */
export const kServiceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The ClientConfig of the cluster fleetgate runs in: KUBERNETES_SERVICE_HOST/PORT, the
 * service-account token and CA from `saDir` (read now). Ports 80/8080/8001 mean http, as
 * client-node's loadFromCluster.
 */
export function inClusterClientConfig(opts: { saDir?: string; env?: NodeJS.ProcessEnv } = {}): ClientConfig {
  const env = opts.env ?? process.env;
  const saDir = opts.saDir ?? kServiceAccountDir;
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '';
  if (host === '' || port === '') {
    throw new K8sConfigError('in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?)');
  }
  if (!/^\d{1,5}$/.test(port)) throw new K8sConfigError('in-cluster config: KUBERNETES_SERVICE_PORT is not a port number');
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const h = isIPv6(host) ? `[${host}]` : host;
  const token = readRef(join(saDir, 'token'), 'in-cluster service-account token').trim();
  const caData = scheme === 'https' ? pemFromFile(join(saDir, 'ca.crt'), 'in-cluster service-account ca.crt') : '';
  return protectClientConfig({
    server: `${scheme}://${h}:${port}`,
    caData,
    certData: '',
    keyData: '',
    token,
    tlsServerName: '',
    insecure: false,
    proxyUrl: '',
  });
}
