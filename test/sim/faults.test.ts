import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import https from 'node:https';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { eventually } from '../helpers/server.js';
import { errorCode, req } from './helpers.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ clusters: 6, controlPort: 0, faults: { 'sim-0006': { down: true } } });
});
afterAll(async () => {
  await sim?.stop();
});

describe('faults', () => {
  it('down refuses connections, and coming back up reuses the port', async () => {
    const c = sim.cluster('sim-0001');
    const port = c.port;
    // A keep-alive connection open before the fault is dropped too.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await req(c, '/version', { agent })).status).toBe(200);
    await sim.setFault(c.name, { down: true });
    expect(await errorCode(req(c, '/version', { agent }))).toMatch(/ECONNREFUSED|ECONNRESET|EPIPE/);
    expect(await errorCode(req(c, '/version'))).toBe('ECONNREFUSED');
    await sim.setFault(c.name, { down: false });
    expect(sim.cluster(c.name).port).toBe(port);
    expect((await req(c, '/version')).json.gitVersion).toBe(c.version);
    agent.destroy();
  });

  it('a cluster can start down', async () => {
    const c = sim.cluster('sim-0006');
    expect(sim.fault(c.name).down).toBe(true);
    expect(await errorCode(req(c, '/version'))).toBe('ECONNREFUSED');
    await sim.setFault(c.name, { down: false });
    expect((await req(c, '/version')).status).toBe(200);
  });

  it('hang accepts but never answers; lifting it answers the held request', async () => {
    const c = sim.cluster('sim-0002');
    await sim.setFault(c.name, { hang: true });
    const before = sim.stats().byCluster[c.name] ?? 0;
    let answered = false;
    const held = req(c, '/api/v1/namespaces').finally(() => (answered = true));
    // The cluster has it (counted on arrival)...
    await eventually(async () => (sim.stats().byCluster[c.name] ?? 0) > before);
    // ...and holds it: a request to another cluster, sent later on a new connection, is
    // answered while this one still is not.
    expect((await req(sim.cluster('sim-0001'), '/version')).status).toBe(200);
    expect(answered).toBe(false);
    await sim.setFault(c.name, { hang: false });
    const r = await held;
    expect(r.status).toBe(200);
    expect(r.json.kind).toBe('NamespaceList');
  });

  it('latency delays every answer', async () => {
    const c = sim.cluster('sim-0003');
    await sim.setFault(c.name, { latencyMs: 250 });
    const t = performance.now();
    expect((await req(c, '/version')).status).toBe(200);
    expect(performance.now() - t).toBeGreaterThanOrEqual(240);
    await sim.setFault(c.name, { latencyMs: 0 });
  });

  it('errorRate answers that share with a 500 Status', async () => {
    const c = sim.cluster('sim-0004');
    await sim.setFault(c.name, { errorRate: 1 });
    const r = await req(c, '/api/v1/pods');
    expect(r.status).toBe(500);
    expect(r.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'InternalError', code: 500 });
    await sim.setFault(c.name, { errorRate: 0.5 });
    const agent = new https.Agent({ keepAlive: true });
    const codes = await Promise.all(Array.from({ length: 200 }, () => req(c, '/version', { agent }).then((x) => x.status)));
    agent.destroy();
    const failures = codes.filter((s) => s === 500).length;
    expect(failures).toBeGreaterThan(50);
    expect(failures).toBeLessThan(150);
    expect(codes.every((s) => s === 200 || s === 500)).toBe(true);
    await sim.setFault(c.name, { errorRate: 0 });
    expect((await req(c, '/version')).status).toBe(200);
  });

  it('version change shows in /version and in the cluster record', async () => {
    const c = sim.cluster('sim-0005');
    sim.setVersion(c.name, 'v1.33.7');
    expect((await req(c, '/version')).json).toMatchObject({ gitVersion: 'v1.33.7', major: '1', minor: '33' });
    expect(sim.cluster(c.name).version).toBe('v1.33.7');
    expect(sim.clusters.find((x) => x.name === c.name)!.version).toBe('v1.33.7');
  });

  it('token rotation: the old token gets 401, the new one works, kubeconfigs carry it', async () => {
    const c = sim.cluster('sim-0005');
    const old = c.token;
    const next = sim.rotateToken(c.name);
    expect(next).not.toBe(old);
    expect((await req(c, '/version', { token: old })).status).toBe(401);
    expect((await req(c, '/version', { token: next })).status).toBe(200);
    expect(sim.singleKubeconfig(c.name)).toContain(next);
    expect(sim.kubeconfig()).not.toContain(old);
  });
});

describe('control interface', () => {
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(sim.controlUrl + path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const text = await r.text();
    return { status: r.status, text, json: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : undefined };
  };

  it('lists clusters and changes faults, versions and credentials from another process', async () => {
    expect(sim.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const list = await call('GET', '/clusters');
    expect(list.json.map((c: any) => c.name)).toEqual(sim.clusters.map((c) => c.name));
    const name = 'sim-0003';
    const c = sim.cluster(name);

    expect((await call('POST', `/clusters/${name}/fault`, { down: true })).json.fault.down).toBe(true);
    expect(await errorCode(req(c, '/version'))).toBe('ECONNREFUSED');
    expect((await call('POST', `/clusters/${name}/fault`, { down: false })).json.fault).toEqual({ latencyMs: 0, errorRate: 0, down: false, hang: false });
    expect((await req(c, '/version')).status).toBe(200);

    expect((await call('POST', `/clusters/${name}/version`, { gitVersion: 'v1.30.9' })).json.version).toBe('v1.30.9');
    expect((await req(c, '/version')).json.gitVersion).toBe('v1.30.9');

    const old = sim.cluster(name).token;
    const rot = await call('POST', `/clusters/${name}/rotate`);
    expect(rot.json.token).not.toBe(old);
    expect(rot.json.kubeconfig).toContain(rot.json.token);
    expect((await req(c, '/version', { token: old })).status).toBe(401);
    expect((await req(c, '/version', { token: rot.json.token })).status).toBe(200);

    expect((await call('GET', `/clusters/${name}/kubeconfig`)).text).toContain(`current-context: "${name}"`);
    expect((await call('GET', '/stats')).json.requests).toBeGreaterThan(0);
    expect((await call('POST', `/clusters/${name}/fault`, { latencyMs: -1 })).status).toBe(400);
    expect((await call('POST', `/clusters/${name}/fault`, { bogus: 1 })).status).toBe(400);
    expect((await call('POST', '/clusters/nope/fault', { down: true })).status).toBe(404);
  });
});

describe('client certificate authentication', () => {
  let csim: Simulator;
  beforeAll(async () => {
    csim = await startSimulator({ clusters: 2, auth: 'cert', namePrefix: 'cert' });
  });
  afterAll(async () => {
    await csim?.stop();
  });

  it('kubeconfigs carry client certificates that authenticate; rotation revokes the old one', async () => {
    const c = csim.cluster('cert-0001');
    expect(c.clientCertPem).toContain('BEGIN CERTIFICATE');
    expect(csim.kubeconfig()).toContain('client-certificate-data');
    const ok = await req(c, '/api/v1/namespaces', { token: null, cert: c.clientCertPem, key: c.clientKeyPem });
    expect(ok.status).toBe(200);
    // Another cluster's certificate is signed by the same CA but is not this cluster's user.
    const other = csim.cluster('cert-0002');
    expect((await req(c, '/version', { token: null, cert: other.clientCertPem, key: other.clientKeyPem })).status).toBe(401);
    expect((await req(c, '/version', { token: null })).status).toBe(401);
    const oldCert = c.clientCertPem!;
    const oldKey = c.clientKeyPem!;
    const rotated = await csim.rotateClientCert(c.name);
    expect(rotated.clientCertPem).not.toBe(oldCert);
    expect((await req(c, '/version', { token: null, cert: oldCert, key: oldKey })).status).toBe(401);
    expect((await req(c, '/version', { token: null, cert: rotated.clientCertPem, key: rotated.clientKeyPem })).status).toBe(200);
    // Tokens keep working in cert mode.
    expect((await req(c, '/version')).status).toBe(200);
  });
});
