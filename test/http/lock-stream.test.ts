/**
 * GET /api/v1/admin/lock/stream on a real server (child process, simulated clusters): admins get
 * Server-Sent Events sampling the lock's shared memory; everyone else is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startServer, type ServerHandle } from '../helpers/server.js';

/** Reads SSE `lock` events from a fetch body until `want` of them arrived; then aborts. */
async function lockEvents(url: string, token: string, want: number): Promise<Record<string, any>[]> {
  const abort = new AbortController();
  const res = await fetch(url + '/api/v1/admin/lock/stream', { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: Record<string, any>[] = [];
  let buf = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      expect(block).toMatch(/^event: lock\ndata: /);
      events.push(JSON.parse(block.slice(block.indexOf('data: ') + 6)));
    }
    if (events.length >= want) break;
  }
  abort.abort();
  return events;
}

describe('admin lock stream', () => {
  let server: ServerHandle;
  beforeAll(async () => {
    server = await startServer(['--sim', '2', '--workers', '1']);
    await eventually(async () => (await server.get('/readyz')).status === 200, 30_000);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('streams samples of the lock: slots, writer words, commits, and rates between samples', async () => {
    // Reads between the samples, so the rate has something to count.
    for (let i = 0; i < 20; i++) expect((await server.get('/api/v1/clusters')).status).toBe(200);
    const [first, second] = await lockEvents(server.url, server.token, 2);
    expect(first!.mode).toBe('rw');
    expect(first!.commits).toBeGreaterThan(0);
    expect(first!.generation).toBeGreaterThan(0);
    expect(first!.writeLocks).toBeGreaterThan(0);
    expect(first!.tornReads).toBe(0);
    expect(first!.slots.length).toBeGreaterThanOrEqual(2); // the HTTP worker and the sync worker
    for (const s of first!.slots) expect(s.reads).toBeGreaterThanOrEqual(0);
    expect(second!.at).toBeGreaterThan(first!.at);
    expect(second!.acquisitions).toBeGreaterThanOrEqual(first!.acquisitions);
    expect(typeof second!.readsPerSec).toBe('number');
  });

  it('refuses callers without a token (401) and viewers (403), and leaks no secret', async () => {
    const none = await fetch(server.url + '/api/v1/admin/lock/stream');
    expect(none.status).toBe(401);
    const created = await server.send('POST', '/api/v1/admin/tokens', { name: 'stream-viewer', role: 'viewer' });
    expect(created.status).toBe(201);
    const viewer = created.json().token as string;
    const res = await fetch(server.url + '/api/v1/admin/lock/stream', { headers: { authorization: `Bearer ${viewer}` } });
    expect(res.status).toBe(403);
    const body = await res.text();
    expect(body).toContain('admin token required');
    expect(body).not.toContain(viewer);
  });
});
