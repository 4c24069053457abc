/**
 * autocannon concatenates body chunks as strings, which breaks a multi-byte character split
 * between two socket reads; the scenario keeps bytes and decodes once, so a large non-ASCII body
 * is never reported corrupt.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FindingLog } from '../../load/corruption.js';
import { WriteRegistry } from '../../load/registry.js';
import { instrumentClient, newLiveCounts, runLoad } from '../../load/scenario.js';
import { createRequire } from 'node:module';
import type autocannon from 'autocannon';

describe('body decoding', () => {
  it('keeps a character split across chunks whole', () => {
    const require = createRequire(import.meta.url);
    const Queue = require('autocannon/lib/pipelinedRequestsQueue.js') as new () => {
      insertRequest(r: unknown): void;
      addBody(d: Buffer): void;
      terminateRequest(): { body: string };
    };
    const text = 'a€b';
    const bytes = Buffer.from(text);
    const split = (q: InstanceType<typeof Queue>) => {
      q.insertRequest({});
      q.addBody(bytes.subarray(0, 2)); // inside the 3-byte €
      q.addBody(bytes.subarray(2));
      return q.terminateRequest().body;
    };
    expect(split(new Queue())).not.toBe(text); // autocannon on its own
    const client = { pipelinedRequests: new Queue() };
    instrumentClient(client as unknown as autocannon.Client);
    expect(split(client.pipelinedRequests)).toBe(text);
  });

  it('verifies large multi-byte bodies without false corruption', async () => {
    const app = express();
    // 3-byte characters, odd prefix: chunk boundaries land inside characters.
    const body = JSON.stringify({ kind: 'List', items: [{ metadata: { name: 'x' + '€'.repeat(60_000), annotations: { 'fleetgate.dev/cluster': 'c' } } }] });
    app.get('/api/v1/namespaces', (_req, res) => res.type('application/json').send(body));
    const server = await new Promise<import('node:http').Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const findings = new FindingLog();
      const live = newLiveCounts();
      const r = await runLoad({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        token: 't',
        // Stops on a count of answers (each crosses several TCP chunks), not on a clock.
        durationSec: 0,
        maxDurationSec: 50,
        live,
        enough: () => live.responses > 20,
        connections: 2,
        mix: [{ kind: 'resource', path: '/api/v1/namespaces', asked: 'c', headers: { 'x-cluster-name': 'c' } }],
        registry: new WriteRegistry('churn'),
        verify: { requireAnnotation: true },
        findings,
      });
      expect(r.requests).toBeGreaterThan(20);
      expect(r.requests).toBe(r.autocannonResponses);
      expect(findings.samples.map((s) => s.reason)).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
