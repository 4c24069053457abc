/** Client of `fleetgate sim`'s loopback control interface (src/sim/control.ts). */
import type { SimControl } from './churn.js';

export interface SimClusterInfo {
  name: string;
  server: string;
  version: string;
  token: string;
}

export class HttpSimControl implements SimControl {
  constructor(readonly url: string) {}

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(this.url + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`sim control ${method} ${path} → ${res.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as unknown;
  }

  async clusters(): Promise<SimClusterInfo[]> {
    return (await this.call('GET', '/clusters')) as SimClusterInfo[];
  }

  async setVersion(sim: string, gitVersion: string): Promise<void> {
    await this.call('POST', `/clusters/${encodeURIComponent(sim)}/version`, { gitVersion });
  }

  async rotateToken(sim: string): Promise<string> {
    const r = (await this.call('POST', `/clusters/${encodeURIComponent(sim)}/rotate`, {})) as { token?: unknown };
    if (typeof r.token !== 'string') throw new Error('sim control rotate: no token in the answer');
    return r.token;
  }
}
