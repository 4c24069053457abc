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

describe('configHash (pairwise, STYLE 13)', () => {
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
