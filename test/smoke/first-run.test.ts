/**
 * What a first-time user sees: `fleetgate --help`, mistakes on the command line, and the lines
 * `serve` prints once it listens (the README test runs the printed example against a server).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseServeOptions } from '../../src/server/config.js';
import { startupHints } from '../../src/server/banner.js';
import { argErrorMessage } from '../../src/util/args.js';
import { distPath, packageRoot } from '../../src/util/paths.js';

const bin = join(packageRoot, 'bin', 'fleetgate.js');
const built = existsSync(distPath('src', 'cli.js'));
if (!built) console.warn('test/smoke/first-run.test.ts: CLI cases skipped: dist/ is not built');
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, FLEETGATE_V8_POOL_SIZE: 'node' } });

describe.skipIf(!built)('fleetgate on the command line', () => {
  it('--help lists every command with a one-line summary', () => {
    const r = cli('--help');
    expect(r.status).toBe(0);
    const listed = r.stdout.split('\n').filter((l) => /^ {2}[a-z]+ +\S/.test(l));
    const names = listed.map((l) => l.trim().split(/\s+/)[0]);
    expect(names).toEqual(expect.arrayContaining(['serve', 'sim']));
    for (const l of listed) expect(l.trim().split(/\s+/).length, l).toBeGreaterThan(2);
  });

  it('an unknown command, flag or value names it and what is accepted, exit 2 for flags', () => {
    const cmd = cli('srve');
    expect(cmd.status).toBe(1);
    expect(cmd.stderr).toContain('unknown command "srve"; commands: serve, sim');
    const flag = cli('serve', '--prot', '80');
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('unknown flag --prot (did you mean --port?); accepted flags: --help, --port, --tls-port');
    const simFlag = cli('sim', '--clusterz', '3');
    expect(simFlag.status).toBe(2);
    expect(simFlag.stderr).toContain('unknown flag --clusterz (did you mean --clusters?)');
    const fault = cli('sim', '--clusters', '1', '--out', join(tmpdir(), 'never-written'), '--fault', 'sim-0001:slow');
    expect(fault.status).toBe(2);
    expect(fault.stderr).toContain('cannot understand "slow" (accepted: down, hang, latency=MS, errors=RATE from 0 to 1)');
  });
});

describe('argument errors', () => {
  it('name the flag and the accepted values', () => {
    expect(() => parseServeOptions(['--port'], {})).toThrow('--port needs a value (--port VALUE)');
    expect(() => parseServeOptions(['--port', '70000'], {})).toThrow('--port: expected a port number from 0 to 65535, got 70000');
    expect(() => parseServeOptions(['--allow-exec=yes'], {})).toThrow('--allow-exec takes no value (it is a switch)');
    expect(() => parseServeOptions(['extra'], {})).toThrow(/unexpected argument "extra": flags take the form --name VALUE; accepted flags: --help, --port/);
    expect(() => parseServeOptions(['--lock', 'spin'], {})).toThrow('--lock must be rw, mutex or none, got "spin"');
    // A flag far from every known one gets no guess.
    expect(argErrorMessage(Object.assign(new Error("Unknown option '--zzzzzz'"), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }), ['port', 'host'])).toBe('unknown flag --zzzzzz; accepted flags: --port, --host');
  });
});

describe('start-up lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-banner-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('say where the token is (file or variable, never the secret), the URL, and example commands', () => {
    const data = join(dir, 'data');
    expect(startupHints({ host: '127.0.0.1', port: 8080, dataDir: data, envToken: false }, dir)[0]).toBe(
      'fleetgate: admin token: data/admin.token is gone (it was shown once at first start); set FLEETGATE_ADMIN_TOKEN to add one of your choosing',
    );
    mkdirSync(data);
    writeFileSync(join(data, 'admin.token'), 'fg_secret_value\n');
    const lines = startupHints({ host: '0.0.0.0', port: 8080, dataDir: data, envToken: false, exampleCluster: 'sim-0001' }, dir);
    expect(lines).toEqual([
      'fleetgate: admin token: in data/admin.token (mode 0600)',
      'fleetgate: open http://127.0.0.1:8080/api/v1/clusters with the header "Authorization: Bearer <admin token>"',
      'fleetgate: try: curl -H "Authorization: Bearer $(cat data/admin.token)" http://127.0.0.1:8080/api/v1/clusters',
      'fleetgate: kubectl: curl -H "Authorization: Bearer $(cat data/admin.token)" http://127.0.0.1:8080/api/v1/clusters/sim-0001/kubeconfig > kc && kubectl --kubeconfig kc get pods -A',
    ]);
    // Started from a directory beside it: the absolute path. With FLEETGATE_ADMIN_TOKEN: the variable.
    expect(startupHints({ host: '127.0.0.1', port: 9000, dataDir: data, envToken: false }, join(dir, 'elsewhere'))[0]).toBe(`fleetgate: admin token: in ${join(data, 'admin.token')} (mode 0600)`);
    expect(startupHints({ host: '127.0.0.1', port: 9000, dataDir: data, envToken: true }, dir)[2]).toBe('fleetgate: try: curl -H "Authorization: Bearer $FLEETGATE_ADMIN_TOKEN" http://127.0.0.1:9000/api/v1/clusters');
    expect(lines.join('\n')).not.toContain('fg_secret_value');
  });
});
