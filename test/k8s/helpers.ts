import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const fixture = (name: string): string => readFileSync(join(fixtureDir, name), 'utf8');
export const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A folder holding rel/ca.crt (the fixture CA), the file threeContexts() names relatively. */
export function refDir(into = mkdtempSync(join(tmpdir(), 'fleetgate-refs-'))): string {
  mkdirSync(join(into, 'rel'), { recursive: true });
  copyFileSync(join(fixtureDir, 'ca.crt'), join(into, 'rel', 'ca.crt'));
  return into;
}

/** A secret-looking token that must never show up in messages. */
export const kToken = 'tok-SUPERSECRET-abcdefghijklmnopqrstuvwxyz0123456789';

export interface KcOpts {
  cluster?: Record<string, unknown>;
  user?: Record<string, unknown> | null;
  contextName?: string;
  current?: string | null;
  server?: string;
}

/** A one-context kubeconfig as YAML text (hand-written, like users' files). */
export function kubeconfig(o: KcOpts = {}): string {
  const cluster = { server: o.server ?? 'https://127.0.0.1:6443', ...(o.cluster ?? {}) };
  const user = o.user === undefined ? { token: kToken } : o.user;
  const ctx = o.contextName ?? 'dev';
  const doc: Record<string, unknown> = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c1', cluster }],
    users: user === null ? [] : [{ name: 'u1', user }],
    contexts: [{ name: ctx, context: { cluster: 'c1', ...(user === null ? {} : { user: 'u1' }) } }],
  };
  if (o.current !== null) doc['current-context'] = o.current ?? ctx;
  return toYaml(doc);
}

/** Minimal YAML emitter for the shapes above (block style, strings JSON-quoted). */
export function toYaml(v: unknown, indent = ''): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return v
      .map((e) => {
        const inner = toYaml(e, indent + '  ');
        return `\n${indent}- ${inner.replace(/^\n\s*/, '')}`;
      })
      .join('');
  }
  if (v && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    return entries
      .map(([k, val]) => {
        const inner = toYaml(val, indent + '  ');
        return `\n${indent}${k}:${inner.startsWith('\n') ? '' : ' '}${inner}`;
      })
      .join('');
  }
  return JSON.stringify(v);
}

/** Three-context kubeconfig; current-context is "beta". */
export function threeContexts(): string {
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'beta',
    clusters: [
      { name: 'ca', cluster: { server: 'https://127.0.0.1:7001' } },
      { name: 'cb', cluster: { server: 'https://127.0.0.1:7002', 'certificate-authority': 'rel/ca.crt' } },
      { name: 'cc', cluster: { server: 'https://127.0.0.1:7003', 'insecure-skip-tls-verify': true } },
    ],
    users: [
      { name: 'ua', user: { token: kToken + 'A' } },
      { name: 'ub', user: { token: kToken + 'B' } },
      { name: 'uc', user: { token: kToken + 'C' } },
    ],
    contexts: [
      { name: 'alpha', context: { cluster: 'ca', user: 'ua' } },
      { name: 'beta', context: { cluster: 'cb', user: 'ub', namespace: 'ns' } },
      { name: 'gamma', context: { cluster: 'cc', user: 'uc' } },
    ],
  }).trimStart() + '\n';
}
