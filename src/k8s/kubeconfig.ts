/**
 * Kubeconfig parsing, validation and splitting. YAML is read with js-yaml, the parser behind
 * @kubernetes/client-node's `loadYaml`, imported directly: importing @kubernetes/client-node
 * loads its thousands of generated API models, about 80 MB of resident memory in every thread
 * that reaches this module (each HTTP worker, the sync worker, the supervisor). The structure is checked here field by field so that errors name
 * the field ("users[0].user.token must be a string") and never echo the file's text (js-yaml's
 * own messages quote the offending lines, which may hold a token).
 *
 * Field names and precedence follow kubectl / client-go: `*-data` beats the file reference,
 * `token` beats `tokenFile`, an empty `current-context` with exactly one context means that one.
 * File references are read once when the operator's own kubeconfig is imported (splitContexts
 * with `baseDir`) and stored inline; kubeconfigs sent over the API may not carry any
 * (fileReferences). normaliseClientConfig still reads those of rows stored before, safely.
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { inspect } from 'node:util';
import { load as loadYaml } from 'js-yaml';
import { K8sConfigError } from './errors.js';
import { readRefFile } from './read-ref.js';

type Raw = Record<string, unknown>;

export interface KubeCluster {
  name: string;
  server: string;
  caData: string;
  caFile: string;
  tlsServerName: string;
  insecure: boolean;
  proxyUrl: string;
}

export interface KubeUser {
  name: string;
  token: string;
  tokenFile: string;
  certData: string;
  certFile: string;
  keyData: string;
  keyFile: string;
  username: string;
  password: string;
  /** The exec plugin's command, '' when the user has none. */
  execCommand: string;
  /** The exec plugin's arguments, environment and ExecCredential apiVersion (when execCommand is set). */
  execArgs: string[];
  execEnv: Array<{ name: string; value: string }>;
  execApiVersion: string;
  /** The auth-provider's name, '' when the user has none. */
  authProvider: string;
}

export interface KubeContext {
  name: string;
  cluster: string;
  /** '' for a context without a user (anonymous). */
  user: string;
  namespace: string;
}

export interface ParsedKubeconfig {
  /** As written in the file ('' when absent). */
  currentContext: string;
  clusters: KubeCluster[];
  users: KubeUser[];
  contexts: KubeContext[];
}

/** The current context resolved to its cluster and user. */
export interface ResolvedContext {
  context: KubeContext;
  cluster: KubeCluster;
  /** undefined for a context without a user. */
  user: KubeUser | undefined;
}

interface Loaded {
  parsed: ParsedKubeconfig;
  raw: { clusters: Raw[]; users: Raw[]; contexts: Raw[] };
}

function isObj(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(obj: Raw, key: string, where: string): string {
  const v = obj[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new K8sConfigError(`kubeconfig: ${where}.${key} must be a string`);
  return v;
}

function yamlReason(err: unknown): string {
  // js-yaml's YAMLException carries `reason` and `mark` (0-based); its message quotes the
  // surrounding lines of the file, which may contain secrets, so it is never used as is.
  const e = err as { reason?: unknown; mark?: { line?: number; column?: number } };
  if (typeof e?.reason === 'string') {
    const at = e.mark && typeof e.mark.line === 'number' ? ` (line ${e.mark.line + 1}, column ${(e.mark.column ?? 0) + 1})` : '';
    return `${e.reason}${at}`;
  }
  return 'cannot be parsed';
}

/**
 * The YAML nodes a kubeconfig may expand to, counting every alias use as a copy: at least
 * kMinYamlNodeBudget, else one per character of its text. Without aliases every node takes at
 * least one character (a 10,000-cluster kubeconfig has some 300,000 nodes in 3 MB), while a
 * "billion laughs" document has few bytes and explodes only when something walks or serialises
 * it (JSON.stringify in splitContexts would), so it is refused here, in time linear in its size.
 */
export const kMinYamlNodeBudget = 100_000;

/** Throws once walking `doc` with aliases expanded would visit more nodes than its budget. */
function refuseAliasBomb(doc: unknown, textLength: number): void {
  const limit = Math.max(kMinYamlNodeBudget, textLength);
  let budget = limit;
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const v = stack.pop();
    if (--budget < 0) throw new K8sConfigError(`kubeconfig expands to more than ${limit} YAML nodes (too many aliases)`);
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (isObj(v)) for (const k in v) stack.push(v[k]);
  }
}

function load(text: string): Loaded {
  if (typeof text !== 'string') throw new K8sConfigError('kubeconfig must be a string');
  if (text.trim() === '') throw new K8sConfigError('kubeconfig is empty');
  let doc: unknown;
  try {
    doc = loadYaml(text);
    // As client-node's loadYaml: a document that is empty or null is no kubeconfig.
    if (!doc) throw new Error('Failed to load YAML');
  } catch (err) {
    throw new K8sConfigError(`kubeconfig is not valid YAML: ${yamlReason(err)}`);
  }
  if (!isObj(doc)) throw new K8sConfigError('kubeconfig must be a YAML mapping (apiVersion, kind: Config, clusters, users, contexts)');
  refuseAliasBomb(doc, text.length);
  if (doc.kind !== undefined && doc.kind !== 'Config') {
    throw new K8sConfigError(`kubeconfig: kind must be Config, not ${JSON.stringify(String(doc.kind)).slice(0, 60)}`);
  }
  const list = (key: string): Raw[] => {
    const v = doc[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new K8sConfigError(`kubeconfig: ${key} must be a list`);
    return v.map((e, i) => {
      if (!isObj(e)) throw new K8sConfigError(`kubeconfig: ${key}[${i}] must be a mapping`);
      return e;
    });
  };
  const rawClusters = list('clusters');
  const rawUsers = list('users');
  const rawContexts = list('contexts');

  const named = (e: Raw, where: string): string => {
    const n = str(e, 'name', where);
    if (n === '') throw new K8sConfigError(`kubeconfig: ${where}.name is missing`);
    return n;
  };
  const inner = (e: Raw, key: string, where: string): Raw => {
    const v = e[key];
    if (v === undefined || v === null) return {};
    if (!isObj(v)) throw new K8sConfigError(`kubeconfig: ${where}.${key} must be a mapping`);
    return v;
  };

  const clusters = rawClusters.map((e, i): KubeCluster => {
    const where = `clusters[${i}]`;
    const name = named(e, where);
    if (!isObj(e.cluster)) throw new K8sConfigError(`kubeconfig: ${where}.cluster is missing`);
    const c = e.cluster;
    const w = `${where}.cluster`;
    const server = str(c, 'server', w);
    if (server === '') throw new K8sConfigError(`kubeconfig: ${w}.server is missing (cluster "${name}")`);
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new K8sConfigError(`kubeconfig: ${w}.server is not a URL (cluster "${name}")`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new K8sConfigError(`kubeconfig: ${w}.server must be an http or https URL (cluster "${name}")`);
    }
    const insecureRaw = c['insecure-skip-tls-verify'];
    if (insecureRaw !== undefined && insecureRaw !== null && typeof insecureRaw !== 'boolean') {
      throw new K8sConfigError(`kubeconfig: ${w}.insecure-skip-tls-verify must be true or false`);
    }
    return {
      name,
      server,
      caData: str(c, 'certificate-authority-data', w),
      caFile: str(c, 'certificate-authority', w),
      tlsServerName: str(c, 'tls-server-name', w),
      insecure: insecureRaw === true,
      proxyUrl: str(c, 'proxy-url', w),
    };
  });

  const users = rawUsers.map((e, i): KubeUser => {
    const where = `users[${i}]`;
    const name = named(e, where);
    const u = inner(e, 'user', where);
    const w = `${where}.user`;
    let execCommand = '';
    let execArgs: string[] = [];
    let execEnv: Array<{ name: string; value: string }> = [];
    let execApiVersion = '';
    if (u.exec !== undefined && u.exec !== null) {
      const x = u.exec;
      execCommand = isObj(x) && typeof x.command === 'string' && x.command !== '' ? x.command : '(unnamed)';
      if (isObj(x)) {
        if (Array.isArray(x.args)) execArgs = x.args.filter((a): a is string => typeof a === 'string');
        if (Array.isArray(x.env)) {
          execEnv = x.env
            .filter((v): v is Record<string, unknown> => isObj(v) && typeof v.name === 'string')
            .map((v) => ({ name: v.name as string, value: typeof v.value === 'string' ? v.value : '' }));
        }
        if (typeof x.apiVersion === 'string') execApiVersion = x.apiVersion;
      }
    }
    let authProvider = '';
    if (u['auth-provider'] !== undefined && u['auth-provider'] !== null) {
      const ap = u['auth-provider'];
      authProvider = isObj(ap) && typeof ap.name === 'string' && ap.name !== '' ? ap.name : '(unnamed)';
    }
    return {
      name,
      token: str(u, 'token', w),
      tokenFile: str(u, 'tokenFile', w),
      certData: str(u, 'client-certificate-data', w),
      certFile: str(u, 'client-certificate', w),
      keyData: str(u, 'client-key-data', w),
      keyFile: str(u, 'client-key', w),
      username: str(u, 'username', w),
      password: str(u, 'password', w),
      execCommand,
      execArgs,
      execEnv,
      execApiVersion,
      authProvider,
    };
  });

  const contexts = rawContexts.map((e, i): KubeContext => {
    const where = `contexts[${i}]`;
    const name = named(e, where);
    if (!isObj(e.context)) throw new K8sConfigError(`kubeconfig: ${where}.context is missing`);
    const c = e.context;
    const w = `${where}.context`;
    const cluster = str(c, 'cluster', w);
    if (cluster === '') throw new K8sConfigError(`kubeconfig: ${w}.cluster is missing (context "${name}")`);
    return { name, cluster, user: str(c, 'user', w), namespace: str(c, 'namespace', w) };
  });

  const cur = doc['current-context'];
  if (cur !== undefined && cur !== null && typeof cur !== 'string') {
    throw new K8sConfigError('kubeconfig: current-context must be a string');
  }
  const parsed: ParsedKubeconfig = { currentContext: cur ?? '', clusters, users, contexts };
  Object.defineProperty(parsed, inspect.custom, {
    enumerable: false,
    value: () =>
      `ParsedKubeconfig { currentContext: ${JSON.stringify(parsed.currentContext)}, contexts: [${contexts
        .map((c) => JSON.stringify(c.name))
        .join(', ')}], secrets redacted }`,
  });
  return { parsed, raw: { clusters: rawClusters, users: rawUsers, contexts: rawContexts } };
}

/** Parses and structurally validates a kubeconfig. Throws K8sConfigError with a secret-free reason. */
export function parseKubeconfig(text: string): ParsedKubeconfig {
  return load(text).parsed;
}

function resolveContextIn(p: ParsedKubeconfig, ctx: KubeContext): ResolvedContext {
  const cluster = p.clusters.find((c) => c.name === ctx.cluster);
  if (!cluster) throw new K8sConfigError(`kubeconfig: context "${ctx.name}" refers to cluster "${ctx.cluster}", which is not defined`);
  let user: KubeUser | undefined;
  if (ctx.user !== '') {
    user = p.users.find((u) => u.name === ctx.user);
    if (!user) throw new K8sConfigError(`kubeconfig: context "${ctx.name}" refers to user "${ctx.user}", which is not defined`);
  }
  return { context: ctx, cluster, user };
}

/** The context `current-context` names, or the only context when it is empty. */
export function currentContextName(p: ParsedKubeconfig): string {
  if (p.currentContext !== '') return p.currentContext;
  if (p.contexts.length === 1) return p.contexts[0]!.name;
  if (p.contexts.length === 0) throw new K8sConfigError('kubeconfig has no contexts');
  throw new K8sConfigError(`kubeconfig has ${p.contexts.length} contexts and no current-context`);
}

/** Resolves the current context to its cluster and user; throws K8sConfigError if it cannot. */
export function resolveCurrentContext(p: ParsedKubeconfig): ResolvedContext {
  const name = currentContextName(p);
  const ctx = p.contexts.find((c) => c.name === name);
  if (!ctx) throw new K8sConfigError(`kubeconfig: current-context "${name}" is not defined in contexts`);
  return resolveContextIn(p, ctx);
}

function pluginReason(user: KubeUser | undefined): string | undefined {
  if (!user) return undefined;
  if (user.execCommand !== '') {
    return `user "${user.name}" runs an exec plugin; fleetgate refuses kubeconfigs that run commands on the server`;
  }
  if (user.authProvider !== '') {
    return `user "${user.name}" uses the auth-provider "${user.authProvider}"; fleetgate refuses kubeconfigs whose users need an auth-provider plugin`;
  }
  return undefined;
}

/**
 * The reason the current context's user cannot be used without running a plugin (exec or
 * auth-provider), or undefined. Nothing is executed. Throws K8sConfigError if `text` is not a
 * usable kubeconfig at all.
 */
export function checkAuthPlugins(text: string | ParsedKubeconfig): string | undefined {
  const p = typeof text === 'string' ? parseKubeconfig(text) : text;
  return pluginReason(resolveCurrentContext(p).user);
}

/**
 * Validates a kubeconfig for one stored cluster: it parses, has exactly one context, and that
 * context resolves to a cluster with a server (and to its user when it names one). With
 * `allowExec: false`, exec and auth-provider users are refused too. Returns the parse.
 */
export function validateClusterKubeconfig(text: string, opts: { allowExec?: boolean } = {}): ParsedKubeconfig {
  const p = parseKubeconfig(text);
  if (p.contexts.length !== 1) {
    throw new K8sConfigError(
      p.contexts.length === 0
        ? 'kubeconfig has no contexts'
        : `kubeconfig has ${p.contexts.length} contexts; a cluster needs exactly one (import a multi-context kubeconfig instead)`,
    );
  }
  const r = resolveCurrentContext(p);
  if (opts.allowExec === false) {
    const reason = pluginReason(r.user);
    if (reason) throw new K8sConfigError(reason);
  }
  return p;
}

export interface SplitContext {
  /** The context's name in the source file. */
  name: string;
  /** A self-contained one-context kubeconfig (JSON, which is valid YAML), '' when `error` is set. */
  kubeconfig: string;
  isCurrent: boolean;
  /** Why this context cannot be used on its own (undefined when it can). */
  error?: string;
}

/** Fields that name a file on the host, and the inline field that carries the same data. */
export const kPathFields: Array<[section: 'cluster' | 'user', key: string, inline: string]> = [
  ['cluster', 'certificate-authority', 'certificate-authority-data'],
  ['user', 'client-certificate', 'client-certificate-data'],
  ['user', 'client-key', 'client-key-data'],
  ['user', 'tokenFile', 'token'],
];

/**
 * Every file reference in a kubeconfig, as `clusters[0].cluster.certificate-authority`. A
 * kubeconfig sent over the API must have none: fleetgate would read those files on its own host
 * (its encryption key, /dev/zero, a FIFO) and send them to a server of the sender's choosing.
 */
export function fileReferences(text: string): string[] {
  const { raw } = load(text);
  const out: string[] = [];
  for (const [list, name] of [[raw.clusters, 'clusters'], [raw.users, 'users']] as const) {
    const section = name === 'clusters' ? 'cluster' : 'user';
    list.forEach((e, i) => {
      const inner = e[section];
      if (!isObj(inner)) return;
      for (const [s, key] of kPathFields) {
        if (s === section && inner[key] !== undefined && inner[key] !== null && inner[key] !== '') out.push(`${name}[${i}].${section}.${key}`);
      }
    });
  }
  return out;
}

/**
 * A copy of a cluster or user entry with its file references replaced by the data they name
 * (read now, through readRefFile: regular files only, capped), relative paths resolved against
 * `baseDir`. A data field already present wins over the file, as in kubectl, and the file is not
 * read. Throws K8sConfigError naming the field when a file cannot be read.
 */
function inlineRefs(entry: Raw, section: 'cluster' | 'user', baseDir: string): Raw {
  const copy: Raw = structuredClone(entry);
  const inner = copy[section];
  if (!isObj(inner)) return copy;
  for (const [s, key, inline] of kPathFields) {
    if (s !== section) continue;
    const v = inner[key];
    delete inner[key];
    if (typeof v !== 'string' || v === '') continue;
    const have = inner[inline];
    if (typeof have === 'string' && have !== '') continue;
    const text = readRefFile(isAbsolute(v) ? v : resolvePath(baseDir, v), `${section} "${String(entry.name)}" ${key}`);
    inner[inline] = key === 'tokenFile' ? text.trim() : Buffer.from(text, 'utf8').toString('base64');
  }
  return copy;
}

/**
 * Splits a kubeconfig into one self-contained kubeconfig per context (its cluster, its user, the
 * context, current-context set to it), in file order. Entries are copied verbatim, so exec and
 * auth-provider settings survive (and are refused later). With `baseDir` (the kubeconfig came
 * from a file in that folder: the operator's, at first start) file references are read once, now,
 * and stored inline; without it they are kept as written (the admin API refuses them first, see
 * fileReferences). A context whose cluster or user is missing, or whose file cannot be read, gets
 * `error` instead of a kubeconfig.
 * Throws K8sConfigError when the file as a whole is malformed.
 */
export function splitContexts(text: string, opts: { baseDir?: string } = {}): SplitContext[] {
  const { parsed, raw } = load(text);
  const current = parsed.currentContext;
  return parsed.contexts.map((ctx, i) => {
    const isCurrent = current !== '' ? ctx.name === current : parsed.contexts.length === 1;
    try {
      resolveContextIn(parsed, ctx);
    } catch (err) {
      return { name: ctx.name, kubeconfig: '', isCurrent, error: (err as Error).message };
    }
    const ci = parsed.clusters.findIndex((c) => c.name === ctx.cluster);
    const ui = ctx.user === '' ? -1 : parsed.users.findIndex((u) => u.name === ctx.user);
    const entry = (e: Raw, section: 'cluster' | 'user') => (opts.baseDir ? inlineRefs(e, section, opts.baseDir) : structuredClone(e));
    let clusters: Raw[];
    let users: Raw[];
    try {
      clusters = [entry(raw.clusters[ci]!, 'cluster')];
      users = ui >= 0 ? [entry(raw.users[ui]!, 'user')] : [];
    } catch (err) {
      if (!(err instanceof K8sConfigError)) throw err;
      return { name: ctx.name, kubeconfig: '', isCurrent, error: err.message };
    }
    const doc = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters,
      users,
      contexts: [structuredClone(raw.contexts[i]!)],
      'current-context': ctx.name,
      preferences: {},
    };
    return { name: ctx.name, kubeconfig: JSON.stringify(doc, null, 2) + '\n', isCurrent };
  });
}
