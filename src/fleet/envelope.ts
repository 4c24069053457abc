/**
 * How a pool thread's answer crosses back to the HTTP worker. Errors lose their class and extra
 * fields in structured cloning, so a thread maps a thrown error to status + message itself (with
 * the app's own mapping, src/http/errors.ts mapError) and the HTTP worker rebuilds the HttpError.
 */
import { mapError } from '../http/errors.js';
import { HttpError } from '../util/http-error.js';

export type Envelope<T> =
  | { ok: true; value: T }
  | { ok: false; status: number; message: string; headers: Record<string, string>; log: boolean; detail: string };

export async function wrap<T>(fn: () => Promise<T> | T): Promise<Envelope<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    const m = mapError(err);
    const detail = m.log ? (err instanceof Error ? `${err.name}: ${err.message}` : String(err)) : '';
    return { ok: false, status: m.status, message: m.message, headers: m.headers ?? {}, log: m.log, detail };
  }
}

/** The value, or the error the thread reported, as an HttpError. `log` receives bug reports. */
export function unwrap<T>(env: Envelope<T>, log: (line: string) => void): T {
  if (env.ok) return env.value;
  if (env.log) log(`fleet: pool thread reported ${env.status}: ${env.detail}`);
  throw new HttpError(env.status, env.message, env.headers);
}
