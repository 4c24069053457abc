// The admin token at start-up, through the real server: a short FLEETGATE_ADMIN_TOKEN stops
// start-up with a clear error; unsetting the variable retires the token it set; a generated token
// is not printed when stdout is not a terminal (a pipe here), the log names its file instead.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server.js';

describe('admin token at start-up', () => {
  it('refuses a FLEETGATE_ADMIN_TOKEN shorter than 32 characters', async () => {
    const err = await startServer([], { env: { FLEETGATE_ADMIN_TOKEN: 'short-token-123' }, timeoutMs: 20_000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/FLEETGATE_ADMIN_TOKEN must be at least 32 characters/);
    expect(err?.message).not.toContain('short-token-123');
  });

  it('unsetting FLEETGATE_ADMIN_TOKEN retires its token; the generated one is only in the file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetgate-admintok-'));
    try {
      const first = await startServer([], { dataDir });
      const envToken = first.token;
      expect((await first.get('/api/v1/admin/tokens')).status).toBe(200);
      await first.stop();

      const second = await startServer([], { dataDir, env: { FLEETGATE_ADMIN_TOKEN: '' } });
      try {
        expect((await second.get('/api/v1/admin/tokens', { authorization: `Bearer ${envToken}` })).status).toBe(401);
        const generated = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
        expect(second.output()).not.toContain(generated);
        expect(second.output()).toContain(join(dataDir, 'admin.token'));
        expect(second.output()).toMatch(/FLEETGATE_ADMIN_TOKEN is no longer set/);
        expect((await second.get('/api/v1/admin/tokens', { authorization: `Bearer ${generated}` })).status).toBe(200);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
