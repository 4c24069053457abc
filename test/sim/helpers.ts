import https from 'node:https';
import type { SimCluster } from '../../src/sim/index.js';

export interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface ReqOpts {
  method?: string;
  token?: string | null;
  body?: unknown;
  contentType?: string;
  accept?: string;
  timeoutMs?: number;
  cert?: string;
  key?: string;
  agent?: https.Agent | false;
}

/** One HTTPS request to a simulated cluster, trusting the run's CA; no connection reuse by default. */
export function req(c: SimCluster, path: string, o: ReqOpts = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: o.accept ?? 'application/json' };
    const token = o.token === undefined ? c.token : o.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (o.body !== undefined) {
      payload = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      headers['content-type'] = o.contentType ?? 'application/json';
    }
    const r = https.request(
      {
        host: '127.0.0.1',
        port: c.port,
        path,
        method: o.method ?? 'GET',
        headers,
        ca: c.caPem,
        cert: o.cert,
        key: o.key,
        agent: o.agent ?? false,
        timeout: o.timeoutMs ?? 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    r.on('error', reject);
    if (payload !== undefined) r.write(payload);
    r.end();
  });
}

export async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}
