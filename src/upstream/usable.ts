import type { IndexHead } from '../index/types.js';
import { HttpError } from '../util/http-error.js';

/** 503 for a cluster that cannot serve: in the error state, disabled, or not yet built. */
export function usable<T extends IndexHead>(entry: T): T {
  switch (entry.state) {
    case 'ok':
      return entry;
    case 'error':
      throw new HttpError(503, `cluster "${entry.name}" is unavailable: ${entry.error || 'unknown error'}`);
    case 'disabled':
      throw new HttpError(503, `cluster "${entry.name}" is disabled`);
    case 'building':
      if (entry.client.server) return entry;
      throw new HttpError(503, `cluster "${entry.name}" is not ready yet`, { 'Retry-After': '1' });
    default:
      throw new HttpError(503, `cluster "${entry.name}" is in an unknown state`);
  }
}
