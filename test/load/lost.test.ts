/**
 * Requests the server never answers are counted, and never shift the verifier's attribution:
 * autocannon reconnects after the server closes a connection mid-answer and would otherwise judge
 * the next answer against the lost request (and resume its parser mid-message).
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { FindingLog } from '../../load/corruption.js';
import { WriteRegistry } from '../../load/registry.js';
import { kClosedError, newLiveCounts, runLoad } from '../../load/scenario.js';

describe('answers that never come', () => {
  it('counts requests lost to a closed connection and judges the rest against their own requests', async () => {
    const app = express();
    let lists = 0;
    app.get('/api/v1/namespaces', (_req, res) => {
      // Every third list: headers and half a body, then the connection closes.
      if (++lists % 3 === 0) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"kind":"List","items":[', () => res.socket?.destroy());
        return;
      }
      res.json({ kind: 'List', items: [{ metadata: { name: 'ns', annotations: { 'fleetgate.dev/cluster': 'c' } } }] });
    });
    app.get('/api/v1/overview', (_req, res) => {
      res.json({ cluster: 'c', version: '', totalNodes: 1, readyNodes: 1, totalPods: 1, runningPods: 1, totalNamespaces: 1, totalServices: 1 });
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const findings = new FindingLog();
      const h = { 'x-cluster-name': 'c' };
      const live = newLiveCounts();
      const r = await runLoad({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        token: 't',
        durationSec: 0,
        maxDurationSec: 60,
        enough: () => live.responses >= 600,
        live,
        connections: 2,
        mix: [
          { kind: 'resource', path: '/api/v1/namespaces', asked: 'c', headers: h },
          { kind: 'overview', path: '/api/v1/overview', asked: 'c', headers: h },
        ],
        registry: new WriteRegistry('churn'),
        verify: { requireAnnotation: true },
        findings,
      });
      expect(r.requests).toBeGreaterThanOrEqual(600);
      expect(r.requests).toBe(r.autocannonResponses);
      expect(r.errors[kClosedError]).toBeGreaterThan(50);
      expect(findings.samples.map((s) => `${s.request}: ${s.reason}`)).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 90_000);
});
