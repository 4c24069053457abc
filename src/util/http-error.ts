/**
 * An error that carries the HTTP answer it should become. Thrown below the web layer too (the
 * upstream client, fleet queries), so it lives here rather than in src/http.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
    /** The cluster the refusal is about, when there is one (the audit log records it). */
    readonly cluster = '',
  ) {
    super(message);
  }
}
