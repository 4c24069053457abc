// A first start with no kubeconfig anywhere: the server still starts, says how to add a cluster,
// and cluster-scoped routes answer 404 with the same advice instead of failing obscurely.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../helpers/server.js';

describe('fleetgate serve with no clusters', () => {
  let server: ServerHandle;
  beforeAll(async () => {
    server = await startServer(['--workers', '1'], { env: { HOME: '/nonexistent-home' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('prints how to add a cluster', () => {
    expect(server.output()).toMatch(/no clusters registered/);
    expect(server.output()).toMatch(/--kubeconfig FILE/);
  });

  it('answers cluster-scoped routes with 404 and the advice', async () => {
    const r = await server.get('/api/v1/pods');
    expect(r.status).toBe(404);
    expect(r.json().error).toMatch(/no clusters registered/);
    expect((await server.get('/api/v1/clusters')).json()).toEqual([]);
  });

  it('refuses a malformed kubeconfig import with a clear 400 and keeps nothing', async () => {
    const r = await server.send('POST', '/api/v1/admin/clusters/import', 'apiVersion: v1\nkind: Config\nclusters: [oops');
    expect(r.status).toBe(400);
    expect(r.json().error).toBeTruthy();
    expect((await server.get('/api/v1/admin/clusters')).json()).toEqual([]);
  });
});
