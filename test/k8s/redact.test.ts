import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { redact } from '../../src/k8s/index.js';
import { fixture, kToken } from './helpers.js';

// Deterministic stand-in for random key material (mixes digits and both cases, as base64 does).
const blob = createHash('sha512').update('fleetgate').digest('base64');

describe('redact', () => {
  it('masks bearer tokens, PEM blocks, secret fields, fleetgate tokens and long base64', () => {
    const key = fixture('client.key');
    const text = [
      `Authorization: Bearer ${kToken}`,
      key,
      `token: ${kToken}`,
      `"client-key-data": "${Buffer.from(key).toString('base64')}"`,
      'fg_' + 'A'.repeat(43),
      'blob ' + blob,
    ].join('\n');
    const r = redact(text);
    expect(r).not.toContain('SUPERSECRET');
    expect(r).not.toContain('PRIVATE KEY-----\nM');
    expect(r).not.toContain('AAAAAAAAAAAA');
    expect(r).not.toContain(blob);
    expect(r).toContain('Bearer [redacted]');
    expect(r).toContain('[redacted PEM]');
  });
  it('leaves ordinary error texts alone and is idempotent', () => {
    for (const t of ['connect ECONNREFUSED 127.0.0.1:4321', 'timed out after 5000 ms', 'HTTP 401 Unauthorized', 'cluster "prod-1" file /etc/kube/ca.crt',
      'file /home/someone/projects/fleetgate-deployment-configs/clusters/ca.crt cannot be read (ENOENT)',
    ]) {
      expect(redact(t)).toBe(t);
    }
    const once = redact(`Bearer ${kToken}`);
    expect(redact(once)).toBe(once);
  });
});
