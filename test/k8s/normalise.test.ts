import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { K8sConfigError, inClusterClientConfig, normaliseClientConfig } from '../../src/k8s/index.js';
import { b64, fixture, fixtureDir, kToken, kubeconfig } from './helpers.js';
import { thrown } from '../helpers/thrown.js';

const tmp = mkdtempSync(join(tmpdir(), 'fg-norm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ca = fixture('ca.crt');
const cert = fixture('client.crt');
const key = fixture('client.key');

const errorOf = (fn: () => unknown) => thrown(fn, K8sConfigError);

describe('normaliseClientConfig', () => {
  it('token user with CA data; trailing slash stripped', () => {
    const c = normaliseClientConfig(
      kubeconfig({ server: 'https://127.0.0.1:6443/', cluster: { 'certificate-authority-data': b64(ca) } }),
    );
    expect({ ...c }).toEqual({
      server: 'https://127.0.0.1:6443',
      caData: ca.trim() + '\n',
      certData: '',
      keyData: '',
      token: kToken,
      tlsServerName: '',
      insecure: false,
      proxyUrl: '',
    });
  });

  it('client certificate and key as data', () => {
    const c = normaliseClientConfig(kubeconfig({ user: { 'client-certificate-data': b64(cert), 'client-key-data': b64(key) } }));
    expect(c.certData).toBe(cert.trim() + '\n');
    expect(c.keyData).toBe(key.trim() + '\n');
    expect(c.token).toBe('');
  });

  it('file references are read now (CA, cert, key, tokenFile); token file trimmed', () => {
    const tokenFile = join(tmp, 'token');
    writeFileSync(tokenFile, kToken + '\n');
    const c = normaliseClientConfig(
      kubeconfig({
        cluster: { 'certificate-authority': join(fixtureDir, 'ca.crt') },
        user: { 'client-certificate': join(fixtureDir, 'client.crt'), 'client-key': join(fixtureDir, 'client.key'), tokenFile },
      }),
    );
    expect(c.caData).toBe(ca.trim() + '\n');
    expect(c.certData).toBe(cert.trim() + '\n');
    expect(c.keyData).toBe(key.trim() + '\n');
    expect(c.token).toBe(kToken);
  });

  it('data wins over file, token over tokenFile (as kubectl)', () => {
    const c = normaliseClientConfig(
      kubeconfig({
        cluster: { 'certificate-authority-data': b64(ca), 'certificate-authority': '/does/not/exist' },
        user: { token: kToken, tokenFile: '/does/not/exist' },
      }),
    );
    expect(c.caData).toBe(ca.trim() + '\n');
    expect(c.token).toBe(kToken);
  });

  it('insecure, proxy-url and tls-server-name', () => {
    const c = normaliseClientConfig(
      kubeconfig({
        cluster: { 'insecure-skip-tls-verify': true, 'proxy-url': 'http://127.0.0.1:3128', 'tls-server-name': 'api.internal' },
      }),
    );
    expect(c.insecure).toBe(true);
    expect(c.proxyUrl).toBe('http://127.0.0.1:3128');
    expect(c.tlsServerName).toBe('api.internal');
  });

  it('anonymous context (no user) is allowed', () => {
    const c = normaliseClientConfig(kubeconfig({ user: null }));
    expect(c.token).toBe('');
  });

  it('missing files: error names the field and path, never the content', () => {
    const e = errorOf(() => normaliseClientConfig(kubeconfig({ user: { tokenFile: '/nope/token' } })));
    expect(e.message).toBe('user "u1" tokenFile file /nope/token cannot be read (ENOENT)');
    const e2 = errorOf(() => normaliseClientConfig(kubeconfig({ cluster: { 'certificate-authority': '/nope/ca.crt' } })));
    expect(e2.message).toMatch(/cluster "c1" certificate-authority file \/nope\/ca.crt cannot be read \(ENOENT\)/);
  });

  it('bad data fields, half a key pair, basic auth and socks proxies are refused without echoing secrets', () => {
    const cases: Array<[Record<string, unknown>, Record<string, unknown> | undefined, RegExp]> = [
      [{ 'certificate-authority-data': '%%%' + kToken }, undefined, /certificate-authority-data is not valid base64/],
      [{ 'certificate-authority-data': b64(kToken) }, undefined, /does not decode to PEM/],
      [{}, { 'client-certificate-data': b64(cert) }, /client certificate without a client key/],
      [{}, { username: 'admin', password: kToken }, /basic authentication/],
      [{ 'proxy-url': 'socks5://127.0.0.1:1080' }, undefined, /socks is not supported/],
    ];
    for (const [cluster, user, re] of cases) {
      const e = errorOf(() => normaliseClientConfig(kubeconfig({ cluster, ...(user ? { user } : {}) })));
      expect(e.message).toMatch(re);
      expect(e.message).not.toContain('SUPERSECRET');
      expect(e.message).not.toContain(b64(kToken));
    }
  });

  it('inspect/console output of a client config masks token, key and cert', () => {
    const c = normaliseClientConfig(kubeconfig({ user: { token: kToken, 'client-certificate-data': b64(cert), 'client-key-data': b64(key) } }));
    const shown = inspect(c);
    expect(shown).not.toContain(kToken);
    expect(shown).not.toContain('PRIVATE KEY');
    expect(shown).toContain('https://127.0.0.1:6443');
    // Plain data still: clones and JSON keep every field for the index writer.
    expect(structuredClone(c).token).toBe(kToken);
  });
});

describe('inClusterClientConfig', () => {
  it('reads host/port from env and token/CA from the service-account dir', () => {
    const sa = join(tmp, 'sa');
    rmSync(sa, { recursive: true, force: true });
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), kToken + '\n');
    writeFileSync(join(sa, 'ca.crt'), ca);
    const c = inClusterClientConfig({ saDir: sa, env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' } });
    expect({ ...c }).toMatchObject({ server: 'https://10.0.0.1:443', token: kToken, caData: ca.trim() + '\n', insecure: false });
    const v6 = inClusterClientConfig({ saDir: sa, env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' } });
    expect(v6.server).toBe('https://[fd00::1]:6443');
  });
  it('explains when not in a cluster or files are missing', () => {
    expect(errorOf(() => inClusterClientConfig({ env: {} })).message).toMatch(/KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set/);
    const e = errorOf(() =>
      inClusterClientConfig({ saDir: join(tmp, 'none'), env: { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '443' } }),
    );
    expect(e.message).toMatch(/service-account token file .*none\/token cannot be read \(ENOENT\)/);
  });
});
