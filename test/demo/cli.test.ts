/**
 * `fleetgate demo` as a user runs it: the URL it prints, --with-server's simulator-backed server
 * whose lock stream the demo relays without the page ever holding its token, bad flags, and a
 * clean stop that takes the managed server down too.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/paths.js';

function runDemo(args: string[]) {
  const child = spawn(process.execPath, [join(packageRoot, 'bin/fleetgate.js'), 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (m) resolve(m);
      };
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      void exited.then((code) => reject(new Error(`demo exited (${code}):\n${out}`)));
      check();
    });
  return { child, exited, line, output: () => out };
}

describe('fleetgate demo (CLI)', () => {
  it('rejects a bad port with a clear message', async () => {
    const d = runDemo(['--port', 'eighty']);
    expect(await d.exited).toBe(2);
    expect(d.output()).toContain('--port must be an integer in 0..65535, got "eighty"');
  });

  it('--with-server: prints the URL, relays the managed server\'s lock stream without a token, stops both', async () => {
    const d = runDemo(['--port', '0', '--with-server']);
    try {
      const serverUrl = (await d.line(/started a fleetgate server with 4 simulated clusters at (http:\/\/\S+)/))[1]!;
      const url = (await d.line(/serving the teaching page at (http:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
      expect(d.output()).not.toMatch(/fg_demo_/); // the generated token is never printed

      const cfg = (await (await fetch(new URL('/api/config', url))).json()) as { managedServer: string };
      expect(cfg.managedServer).toBe(serverUrl);
      expect(JSON.stringify(cfg)).not.toMatch(/fg_demo_/);

      // No Authorization from the page: the relay adds the managed server's token itself.
      const abort = new AbortController();
      const res = await fetch(new URL(`/api/relay/lock-stream?server=${encodeURIComponent(serverUrl)}`, url), { signal: abort.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
      let text = '';
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        const m = /data: (.*)\n\n/.exec(text);
        if (m && JSON.parse(m[1]!).commits > 0) break;
        if (m) text = text.slice(m.index + m[0].length);
      }
      abort.abort();

      // Another origin gets no free token.
      const other = await fetch(new URL(`/api/relay/lock-stream?server=${encodeURIComponent('http://127.0.0.1:9')}`, url));
      expect(other.status).toBe(401);
      expect(await other.json()).toEqual({ error: 'an admin token is required' });
      const bad = await fetch(new URL(`/api/relay/lock-stream?server=file:///etc/passwd`, url));
      expect(bad.status).toBe(400);

      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      await expect(fetch(serverUrl + '/healthz')).rejects.toThrow();
    } finally {
      if (d.child.exitCode === null) d.child.kill('SIGKILL');
    }
  });
});
