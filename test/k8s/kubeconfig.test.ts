import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  K8sConfigError,
  checkAuthPlugins,
  normaliseClientConfig,
  parseKubeconfig,
  splitContexts,
  validateClusterKubeconfig,
} from '../../src/k8s/index.js';
import { fixture, kToken, kubeconfig, refDir, threeContexts, toYaml } from './helpers.js';
import { thrown } from '../helpers/thrown.js';

const tmp = mkdtempSync(join(tmpdir(), 'fg-kc-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const errorOf = (fn: () => unknown) => thrown(fn, K8sConfigError);

describe('parseKubeconfig', () => {
  it('reads clusters, users, contexts and current-context', () => {
    const p = parseKubeconfig(threeContexts());
    expect(p.currentContext).toBe('beta');
    expect(p.contexts.map((c) => c.name)).toEqual(['alpha', 'beta', 'gamma']);
    expect(p.clusters[2]).toMatchObject({ name: 'cc', insecure: true });
    expect(p.users[0]).toMatchObject({ name: 'ua', token: kToken + 'A', execCommand: '', authProvider: '' });
  });

  it('a fleet-sized kubeconfig parses (its node count grows with its size); an alias bomb does not', () => {
    const n = 12_000;
    const lines = ['apiVersion: v1', 'kind: Config', 'clusters:'];
    for (let i = 0; i < n; i++) lines.push(`- name: c${i}`, '  cluster:', `    server: https://10.0.${i >> 8}.${i & 255}:6443`);
    lines.push('users:');
    for (let i = 0; i < n; i++) lines.push(`- name: u${i}`, '  user:', `    token: t${i}`);
    lines.push('contexts:');
    for (let i = 0; i < n; i++) lines.push(`- name: x${i}`, '  context:', `    cluster: c${i}`, `    user: u${i}`);
    const p = parseKubeconfig(lines.join('\n'));
    expect(p.contexts.length).toBe(n);
    expect(p.clusters[n - 1]!.server).toBe(`https://10.0.${(n - 1) >> 8}.${(n - 1) & 255}:6443`);

    let bomb = 'a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]\n';
    for (let i = 1; i < 9; i++) bomb += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]\n`;
    bomb += 'kind: Config\nclusters:\n- name: c\n  cluster: {server: "https://127.0.0.1:1", extensions: *a8}\n';
    expect(errorOf(() => parseKubeconfig(bomb)).message).toMatch(/more than 100000 YAML nodes \(too many aliases\)/);
  });

  it('inspect output of a parse does not show secrets', () => {
    expect(inspect(parseKubeconfig(threeContexts()), { depth: 10 })).not.toContain(kToken);
  });

  const malformed: Array<[string, string, RegExp]> = [
    ['empty', '   \n', /kubeconfig is empty/],
    ['not yaml', `users:\n  - name: u\n    user: {token: "${kToken}"\n  bad`, /not valid YAML: .*\(line \d+, column \d+\)/],
    ['scalar', 'just text', /must be a YAML mapping/],
    ['wrong kind', 'apiVersion: v1\nkind: Pod\n', /kind must be Config/],
    ['clusters not a list', 'clusters: 3\n', /clusters must be a list/],
    ['server missing', toYaml({ clusters: [{ name: 'c', cluster: {} }] }), /clusters\[0\]\.cluster\.server is missing/],
    ['server not a url', toYaml({ clusters: [{ name: 'c', cluster: { server: 'not a url' } }] }), /server is not a URL/],
    ['ftp server', toYaml({ clusters: [{ name: 'c', cluster: { server: 'ftp://x' } }] }), /http or https URL/],
    ['token not a string', toYaml({ users: [{ name: 'u', user: { token: 12345 } }] }), /users\[0\]\.user\.token must be a string/],
    ['context without cluster', toYaml({ contexts: [{ name: 'x', context: { user: 'u' } }] }), /contexts\[0\]\.context\.cluster is missing/],
  ];
  for (const [label, text, re] of malformed) {
    it(`rejects a malformed kubeconfig clearly: ${label}`, () => {
      const e = errorOf(() => parseKubeconfig(text));
      expect(e.message).toMatch(re);
      expect(e.message).not.toContain(kToken);
      expect(e.message).not.toContain('SUPERSECRET');
    });
  }
});

describe('validateClusterKubeconfig', () => {
  it('accepts one usable context, with or without current-context', () => {
    expect(() => validateClusterKubeconfig(kubeconfig())).not.toThrow();
    expect(() => validateClusterKubeconfig(kubeconfig({ current: null }))).not.toThrow();
    expect(() => validateClusterKubeconfig(kubeconfig({ user: null }))).not.toThrow();
  });
  it('refuses several contexts, none, and dangling references', () => {
    expect(errorOf(() => validateClusterKubeconfig(threeContexts())).message).toMatch(/3 contexts; a cluster needs exactly one/);
    expect(errorOf(() => validateClusterKubeconfig('apiVersion: v1\nkind: Config\n')).message).toMatch(/no contexts/);
    const dangling = toYaml({ clusters: [], contexts: [{ name: 'x', context: { cluster: 'nope' } }] });
    expect(errorOf(() => validateClusterKubeconfig(dangling)).message).toMatch(/refers to cluster "nope", which is not defined/);
    const wrongCurrent = kubeconfig({ current: 'other' });
    expect(errorOf(() => validateClusterKubeconfig(wrongCurrent)).message).toMatch(/current-context "other" is not defined/);
  });
  it('stores exec users by default but refuses them with allowExec: false', () => {
    const text = kubeconfig({ user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws' } } });
    expect(() => validateClusterKubeconfig(text)).not.toThrow();
    expect(errorOf(() => validateClusterKubeconfig(text, { allowExec: false })).message).toMatch(/runs an exec plugin/);
  });
});

describe('checkAuthPlugins and exec refusal', () => {
  const marker = join(tmp, 'exec-ran');
  const script = join(tmp, 'plugin.sh');
  writeFileSync(script, `#!/bin/sh\ntouch ${marker}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"x"}}'\n`, {
    mode: 0o755,
  });
  const execKc = kubeconfig({
    user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: script, args: ['--touch', marker] } },
  });
  const providerKc = kubeconfig({ user: { 'auth-provider': { name: 'oidc', config: { 'id-token': kToken } } } });

  it('reports exec and auth-provider users, nothing else', () => {
    expect(checkAuthPlugins(execKc)).toBe('user "u1" runs an exec plugin; fleetgate refuses kubeconfigs that run commands on the server');
    expect(checkAuthPlugins(providerKc)).toMatch(/user "u1" uses the auth-provider "oidc"/);
    expect(checkAuthPlugins(kubeconfig())).toBeUndefined();
    expect(checkAuthPlugins(kubeconfig({ user: null }))).toBeUndefined();
  });

  it('normaliseClientConfig refuses them and runs nothing unless the operator allows exec', () => {
    const e = errorOf(() => normaliseClientConfig(execKc));
    expect(e.message).toMatch(/runs an exec plugin; fleetgate refuses kubeconfigs that run commands on the server/);
    expect(existsSync(marker)).toBe(false);
    for (const allowExec of [false, true]) {
      const p = errorOf(() => normaliseClientConfig(providerKc, { allowExec }));
      expect(p.message).toMatch(/auth-provider "oidc"/);
      expect(p.message).not.toContain(kToken);
    }
    expect(existsSync(marker)).toBe(false);
  });
});

describe('exec plugins with allowExec (--allow-exec)', () => {
  const plugin = (name: string, body: string) => {
    const path = join(tmp, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return path;
  };
  const kc = (command: string, extra: Record<string, unknown> = {}) =>
    kubeconfig({ user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command, ...extra } } });

  it('runs the plugin with its args, env and KUBERNETES_EXEC_INFO, and uses its token', () => {
    const cmd = plugin(
      'token.sh',
      `case "$KUBERNETES_EXEC_INFO" in *'"interactive":false'*) ;; *) exit 3;; esac
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-%s-%s"}}' "$1" "$PLUGIN_SUFFIX"`,
    );
    const c = normaliseClientConfig(kc(cmd, { args: ['arg1'], env: [{ name: 'PLUGIN_SUFFIX', value: 'envval' }] }), { allowExec: true });
    expect(c.token).toBe('tok-arg1-envval');
  });

  it('takes a client certificate and key from the plugin', () => {
    const cert = Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString();
    const json = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { clientCertificateData: cert, clientKeyData: 'KEYDATA' } });
    const cmd = plugin('cert.sh', `cat <<'EOF'\n${json}\nEOF`);
    const c = normaliseClientConfig(kc(cmd), { allowExec: true });
    expect(c.certData).toBe(cert);
    expect(c.keyData).toBe('KEYDATA');
  });

  it('turns plugin failures into clear errors that never quote its output', () => {
    const secret = 'sk-very-secret-token-value-1234567890';
    const failing = plugin('fail.sh', `echo '${secret}'; echo 'credentials expired' >&2; exit 4`);
    const e1 = errorOf(() => normaliseClientConfig(kc(failing), { allowExec: true }));
    expect(e1.message).toMatch(/exec plugin failed \(exit 4\): credentials expired/);
    expect(e1.message).not.toContain(secret);
    const garbage = plugin('garbage.sh', `echo 'not json ${secret}'`);
    const e2 = errorOf(() => normaliseClientConfig(kc(garbage), { allowExec: true }));
    expect(e2.message).toMatch(/did not print an ExecCredential/);
    expect(e2.message).not.toContain(secret);
    const empty = plugin('empty.sh', `echo '{"status":{}}'`);
    expect(errorOf(() => normaliseClientConfig(kc(empty), { allowExec: true })).message).toMatch(/without a token/);
    expect(errorOf(() => normaliseClientConfig(kc(join(tmp, 'missing-plugin')), { allowExec: true })).message).toMatch(/was not found/);
  });
});

describe('splitContexts', () => {
  it('returns one self-contained kubeconfig per context, current marked, referenced files stored inline', () => {
    const parts = splitContexts(threeContexts(), { baseDir: refDir() });
    expect(parts.map((p) => [p.name, p.isCurrent])).toEqual([
      ['alpha', false],
      ['beta', true],
      ['gamma', false],
    ]);
    for (const part of parts) {
      expect(part.error).toBeUndefined();
      const p = validateClusterKubeconfig(part.kubeconfig);
      expect(p.currentContext).toBe(part.name);
      expect(p.clusters).toHaveLength(1);
      expect(p.users).toHaveLength(1);
    }
    const beta = parseKubeconfig(parts[1]!.kubeconfig);
    expect(beta.clusters[0]!.caFile).toBe('');
    expect(Buffer.from(beta.clusters[0]!.caData, 'base64').toString()).toBe(fixture('ca.crt'));
    expect(beta.contexts[0]!.namespace).toBe('ns');
    expect(beta.users[0]!.token).toBe(kToken + 'B');
  });

  it('keeps relative paths without baseDir and keeps exec settings verbatim', () => {
    expect(parseKubeconfig(splitContexts(threeContexts())[1]!.kubeconfig).clusters[0]!.caFile).toBe('rel/ca.crt');
    const text = kubeconfig({ user: { exec: { command: 'gcloud', args: ['x'] } } });
    const [one] = splitContexts(text);
    expect(checkAuthPlugins(one!.kubeconfig)).toMatch(/exec plugin/);
  });

  it('marks contexts with dangling references instead of failing the file', () => {
    const text = toYaml({
      clusters: [{ name: 'c', cluster: { server: 'https://x' } }],
      contexts: [
        { name: 'good', context: { cluster: 'c' } },
        { name: 'bad', context: { cluster: 'c', user: 'ghost' } },
      ],
    });
    const parts = splitContexts(text);
    expect(parts[0]!.error).toBeUndefined();
    expect(parts[1]!.error).toMatch(/refers to user "ghost"/);
    expect(parts[1]!.kubeconfig).toBe('');
  });
});
