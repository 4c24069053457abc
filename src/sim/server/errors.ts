/**
 * Errors as the API server answers them: a Status object with code, reason, message and details.
 * Handlers throw HttpError; the engine turns whatever was thrown into one.
 */
import type { ResourceDef } from '../resources.js';
import type { Obj } from '../generate.js';
import { SelectorError } from '../selectors.js';

export function statusJson(code: number, reason: string, message: string, details?: Obj): string {
  const s: Obj = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details) s.details = details;
  s.code = code;
  return JSON.stringify(s);
}

export class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
  }
}

export const notFound = (def: ResourceDef, name: string) => new HttpError(404, 'NotFound', `${def.plural}${def.group ? '.' + def.group : ''} "${name}" not found`, { name, group: def.group || undefined, kind: def.plural });
export const methodNotAllowed = () => new HttpError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
export const noRoute = () => new HttpError(404, 'NotFound', 'the server could not find the requested resource', { causes: [{ reason: 'UnexpectedServerResponse', message: '404 page not found' }] });

/** What a handler threw, as the Status to answer: selector syntax errors are 400, anything unexpected 500. */
export function asHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof SelectorError) return new HttpError(400, 'BadRequest', e.message);
  return new HttpError(500, 'InternalError', `Internal error occurred: ${(e as Error)?.message ?? e}`);
}
