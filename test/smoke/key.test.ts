// Start-up with the wrong encryption key fails with a message that says so, and loses nothing.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server.js';

describe('fleetgate serve with the wrong encryption key', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetgate-key-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses to start, says why, and leaves the stored clusters readable with the right key', async () => {
    const first = await startServer(['--sim', '2', '--workers', '1'], { dataDir });
    expect((await first.get('/api/v1/admin/clusters')).json()).toHaveLength(2);
    expect(await first.stop()).toBe(0);
    const dbBefore = readFileSync(join(dataDir, 'fleetgate.db'));

    const wrong = 'ab'.repeat(32);
    const err = await startServer(['--workers', '1'], { dataDir, env: { FLEETGATE_ENCRYPTION_KEY: wrong } }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/exited with 1 before listening/);
    expect(err?.message).toMatch(/FLEETGATE_ENCRYPTION_KEY does not match the key they were written with/);
    expect(err?.message).not.toContain(wrong);
    expect(readFileSync(join(dataDir, 'fleetgate.db')).equals(dbBefore)).toBe(true);

    // The key file from the first start still opens them.
    const again = await startServer(['--workers', '1'], { dataDir });
    const rows = (await again.get('/api/v1/admin/clusters')).json() as Array<{ name: string }>;
    expect(rows.map((r) => r.name).sort()).toEqual(['sim-0001', 'sim-0002']);
    await again.stop();
  });
});
