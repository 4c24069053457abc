import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/util/duration.js';
import { ConfigError, parseServeOptions, supportsReusePort, type ServeOptions } from '../../src/server/config.js';
import { restartDelayMs } from '../../src/server/supervisor.js';
import { defaultV8PoolSize, v8PoolExecArgv } from '../../src/server/v8-pool.js';

describe('serve options', () => {
  it('uses flags over environment over defaults', () => {
    const o = parseServeOptions(['--port', '9000', '--lock', 'mutex'], { FLEETGATE_PORT: '7000', FLEETGATE_WORKERS: '3' });
    expect(o).toMatchObject({ port: 9000, lock: 'mutex', workers: 3, host: '127.0.0.1', dataDir: './data', syncIntervalMs: 60_000 });
  });

  it('reads durations and booleans from the environment', () => {
    const o = parseServeOptions([], { FLEETGATE_SYNC_INTERVAL: '5s', FLEETGATE_ALLOW_EXEC: 'true', FLEETGATE_SIM: '4' });
    expect(o).toMatchObject({ syncIntervalMs: 5000, allowExec: true, sim: 4 });
  });

  it('sizes the HTTP workers\' read cache (0 turns it off, as the load suite\'s --compare does)', () => {
    expect(parseServeOptions([], {})).toMatchObject({ readCache: 256 });
    expect(parseServeOptions(['--read-cache', '0'], {})).toMatchObject({ readCache: 0 });
    expect(parseServeOptions([], { FLEETGATE_READ_CACHE: '32' })).toMatchObject({ readCache: 32 });
    expect(() => parseServeOptions(['--read-cache', 'lots'], {})).toThrow(/--read-cache: expected a whole number/);
  });

  it('rejects bad values with a message naming the setting', () => {
    expect(() => parseServeOptions(['--lock', 'spin'], {})).toThrow(/--lock must be rw, mutex or none/);
    expect(() => parseServeOptions(['--port', 'eighty'], {})).toThrow(ConfigError);
    expect(() => parseServeOptions([], { FLEETGATE_SYNC_INTERVAL: 'soon' })).toThrow(/FLEETGATE_SYNC_INTERVAL: invalid duration/);
    expect(() => parseServeOptions(['--frobnicate'], {})).toThrow(ConfigError);
    expect(() => parseServeOptions(['--workers', '0'], {})).toThrow(/at least 1/);
  });

  it('parses durations', () => {
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2m')).toBe(120_000);
  });

  it('knows which Node versions can share a port between threads', () => {
    expect(supportsReusePort('20.19.0')).toBe(false);
    expect(supportsReusePort('22.11.0')).toBe(false);
    expect(supportsReusePort('22.12.0')).toBe(true);
    expect(supportsReusePort('24.1.0')).toBe(true);
  });

  it('backs restarts off exponentially to a cap', () => {
    expect([1, 2, 3, 4, 10, 50].map(restartDelayMs)).toEqual([250, 500, 1000, 2000, 10_000, 10_000]);
  });
});

describe('serve options: HTTPS port', () => {
  const tlsPort = (argv: string[]) => (parseServeOptions(argv, {}) as ServeOptions).tlsPort;
  it('follows an ephemeral HTTP port unless set, and can be switched off', () => {
    expect(tlsPort([])).toBe(8443);
    expect(tlsPort(['--port', '0'])).toBe(0);
    expect(tlsPort(['--port', '0', '--tls-port', '9443'])).toBe(9443);
    expect(tlsPort(['--tls-port', 'off'])).toBe(-1);
    expect(() => parseServeOptions(['--tls-cert', 'a.pem'], {})).toThrow(/go together/);
  });
});

describe('supervisor sizing', () => {
  // On Node < 22.12 the server runs one HTTP worker whatever --workers says, so nothing overflows.
  it.skipIf(!supportsReusePort())('refuses more threads than the shared region has lock slots, before starting anything', async () => {
    const { Supervisor } = await import('../../src/server/supervisor.js');
    const { defaultServeOptions } = await import('../../src/server/config.js');
    expect(() => new Supervisor({ ...defaultServeOptions(), workers: 60, fleetThreads: 2 })).toThrow(/needs 185 lock slots/);
  });
});

describe('V8 helper pool size', () => {
  it('defaults to half the cores, at least one, and keeps the other node flags', () => {
    expect([1, 2, 3, 8].map(defaultV8PoolSize)).toEqual([1, 1, 1, 4]);
    expect(v8PoolExecArgv(['--enable-source-maps'], {}, 2)).toEqual(['--v8-pool-size=1', '--enable-source-maps']);
    expect(v8PoolExecArgv([], { FLEETGATE_V8_POOL_SIZE: '3' }, 2)).toEqual(['--v8-pool-size=3']);
  });

  it('leaves an explicit choice alone and refuses a malformed one', () => {
    expect(v8PoolExecArgv(['--v8-pool-size=6'], {}, 2)).toBeUndefined();
    expect(v8PoolExecArgv(['--v8-pool-size', '6'], {}, 2)).toBeUndefined();
    expect(v8PoolExecArgv([], { NODE_OPTIONS: '--max-old-space-size=512 --v8-pool-size=2' }, 2)).toBeUndefined();
    expect(v8PoolExecArgv([], { FLEETGATE_V8_POOL_SIZE: 'node' }, 2)).toBeUndefined();
    for (const bad of ['0', '-1', 'two', '1.5']) expect(() => v8PoolExecArgv([], { FLEETGATE_V8_POOL_SIZE: bad }, 2)).toThrow(/FLEETGATE_V8_POOL_SIZE must be/);
  });
});
