import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot, distPath } from '../../src/util/paths.js';

const bin = join(packageRoot, 'bin', 'fleetgate.js');
const built = existsSync(distPath('src', 'commands', 'sim.js'));
if (!built) console.warn('test/sim/cli.test.ts: skipped: dist/ is not built (run `npx tsc -p .` first)');

describe.skipIf(!built)('fleetgate sim (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-sim-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--help prints usage; bad arguments exit 2', () => {
    const help = spawnSync(process.execPath, [bin, 'sim', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: fleetgate sim --clusters K --out FILE');
    const bad = spawnSync(process.execPath, [bin, 'sim', '--clusters', 'zero', '--out', join(dir, 'x')], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--clusters must be an integer');
    const missing = spawnSync(process.execPath, [bin, 'sim', '--clusters', '2'], { encoding: 'utf8' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--out is required');
  });

  it('writes the kubeconfig, serves the control interface, stops on SIGINT with status 0', async () => {
    const out = join(dir, 'kubeconfig');
    const info = join(dir, 'info.json');
    const child = spawn(process.execPath, [bin, 'sim', '--clusters', '3', '--out', out, '--info', info, '--fault', 'sim-0002:latency=5,errors=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // The control line is printed after the kubeconfig and info files are written; SIGINT's
    // handler goes in right after it.
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (/control interface at .*\n/.test(stdout)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`fleetgate sim exited (${code}) before it was ready: ${stdout}${stderr}`)));
    });
    try {
      await ready;
      const meta = JSON.parse(readFileSync(info, 'utf8'));
      expect(meta.clusters.map((c: { name: string }) => c.name)).toEqual(['sim-0001', 'sim-0002', 'sim-0003']);
      const kc = readFileSync(out, 'utf8');
      expect(kc).toContain('current-context: "sim-0001"');
      expect(kc.match(/^- name: "sim-000\d"$/gm)?.length).toBe(6);
      expect(statSync(out).mode & 0o777).toBe(0o600);
      const clusters = (await (await fetch(`${meta.controlUrl}/clusters`)).json()) as { name: string; fault: unknown }[];
      expect(clusters[1]).toMatchObject({ name: 'sim-0002', fault: { latencyMs: 5, errorRate: 0, down: false, hang: false } });
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stdout).toContain('3 cluster(s) ready');
    expect(stdout).toContain('SIGINT, stopping');
  });
});
