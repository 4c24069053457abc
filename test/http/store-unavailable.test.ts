import { describe, expect, it } from 'vitest';
import { mapError } from '../../src/http/errors.js';
import { StoreError } from '../../src/store/index.js';
import { unavailable } from '../../src/store/postgres/errors.js';

describe('a database outage as the API reports it', () => {
  it('StoreError unavailable is 503 with Retry-After, not logged as a bug; io stays 503 without it', () => {
    const m = mapError(unavailable('creating cluster "x"'));
    expect(m).toMatchObject({ status: 503, headers: { 'Retry-After': '5' }, log: false });
    expect(m.message).toMatch(/^creating cluster "x" failed: the database is unreachable; nothing was changed/);
    const io = mapError(new StoreError('io', 'disk full'));
    expect(io.status).toBe(503);
    expect(io.headers).toBeUndefined();
  });
});
