import { describe, expect, it } from 'vitest';
import type { ClientConfig } from '../../src/index/types.js';
import { configHash, normaliseClientConfig } from '../../src/k8s/index.js';
import { b64, fixture, fixtureDir, kubeconfig } from './helpers.js';
import { join } from 'node:path';

const base: ClientConfig = {
  server: 'https://127.0.0.1:6443',
  caData: 'CA\n',
  certData: '',
  keyData: '',
  token: 't1',
  tlsServerName: '',
  insecure: false,
  proxyUrl: '',
};
const h = (config: ClientConfig, prometheusUrl = '', enabled = true): string => configHash({ config, prometheusUrl, enabled });

describe('configHash (pairwise: configs that must share a key do, others do not)', () => {
  it('is stable lowercase hex sha256', () => {
    expect(h(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(h(base)).toBe(h({ ...base }));
  });

  it('configs that must share a hash do', () => {
    // Same cluster written differently in the kubeconfig: trailing slash, CA as data vs file,
    // token with a trailing newline, field order — all normalise to one ClientConfig.
    const a = normaliseClientConfig(
      kubeconfig({ server: 'https://127.0.0.1:6443/', cluster: { 'certificate-authority-data': b64(fixture('ca.crt')) } }),
    );
    const b = normaliseClientConfig(
      kubeconfig({ server: 'https://127.0.0.1:6443', cluster: { 'certificate-authority': join(fixtureDir, 'ca.crt') } }),
    );
    expect(h(a)).toBe(h(b));
    // Object identity and key order do not matter.
    const reordered: ClientConfig = {
      proxyUrl: '',
      insecure: false,
      tlsServerName: '',
      token: 't1',
      keyData: '',
      certData: '',
      caData: 'CA\n',
      server: 'https://127.0.0.1:6443',
    };
    expect(h(reordered)).toBe(h(base));
  });

  it('configs that must not share a hash do not, pairwise', () => {
    const variants: Array<[string, ClientConfig, string, boolean]> = [
      ['base', base, '', true],
      ['server', { ...base, server: 'https://127.0.0.1:6444' }, '', true],
      ['caData', { ...base, caData: 'CA2\n' }, '', true],
      ['certData', { ...base, certData: 'C' }, '', true],
      ['keyData', { ...base, keyData: 'K' }, '', true],
      ['token', { ...base, token: 't2' }, '', true],
      ['tlsServerName', { ...base, tlsServerName: 'x' }, '', true],
      ['insecure', { ...base, insecure: true }, '', true],
      ['proxyUrl', { ...base, proxyUrl: 'http://p:1' }, '', true],
      ['prometheusUrl', base, 'http://prom:9090', true],
      ['enabled', base, '', false],
      // Field boundaries: moving text between adjacent fields must change the hash.
      ['shift', { ...base, caData: 'CA\nt', token: '1' }, '', true],
      ['token→cert', { ...base, token: '', certData: 't1' }, '', true],
    ];
    const hashes = variants.map(([, c, p, e]) => h(c, p, e));
    for (let i = 0; i < variants.length; i++) {
      for (let j = i + 1; j < variants.length; j++) {
        expect(hashes[i], `${variants[i]![0]} vs ${variants[j]![0]}`).not.toBe(hashes[j]);
      }
    }
  });
});

describe('buildClientConfig', () => {
  it('kubeconfig rows and in-cluster rows; hash follows enabled and prometheusUrl', async () => {
    const { buildClientConfig, K8sConfigError } = await import('../../src/k8s/index.js');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const row = { config: kubeconfig(), inCluster: false, prometheusUrl: '', enabled: true };
    const a = buildClientConfig(row);
    expect(a.client.server).toBe('https://127.0.0.1:6443');
    expect(a.configHash).toBe(configHash({ config: a.client, prometheusUrl: '', enabled: true }));
    expect(buildClientConfig({ ...row, enabled: false }).configHash).not.toBe(a.configHash);
    expect(buildClientConfig({ ...row, prometheusUrl: 'http://p' }).configHash).not.toBe(a.configHash);
    const exec = { ...row, config: kubeconfig({ user: { exec: { command: 'x' } } }) };
    expect(() => buildClientConfig(exec)).toThrow(K8sConfigError);

    const sa = mkdtempSync(join(tmpdir(), 'fg-sa-'));
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), fixture('ca.crt'));
    const ic = buildClientConfig(
      { config: '', inCluster: true, prometheusUrl: '', enabled: true },
      { saDir: sa, env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' } },
    );
    expect(ic.client).toMatchObject({ server: 'https://10.0.0.1:443', token: 'sa-token' });
    rmSync(sa, { recursive: true, force: true });
  });
});
