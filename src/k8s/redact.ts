/**
 * Secret redaction for anything that can be printed: error messages, log lines, inspect output.
 * (after client-go's transport config String(), which prints secrets masked.) Applied to text that may have been
 * built from a kubeconfig or an upstream error; masks rather than drops so the shape of the text
 * stays readable.
 */
import { inspect } from 'node:util';

const kRedacted = '[redacted]';

/** kubeconfig / JSON keys whose values are secrets. */
const kSecretKeys = [
  'token',
  'client-key-data',
  'client-certificate-data',
  'certificate-authority-data',
  'password',
  'id-token',
  'refresh-token',
  'access-token',
  'client-secret',
  'keyData',
  'certData',
  'caData',
  'secret',
];

const kPemBlock = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g;
const kBearer = /\b(Bearer|bearer|BEARER|Basic|BASIC)[ \t]+[^\s"',;]+/g;
const kSecretField = new RegExp(
  `(["']?(?:${kSecretKeys.map((k) => k.replace(/[-]/g, '\\-')).join('|')})["']?\\s*[:=]\\s*)("[^"]*"|'[^']*'|[^\\s,}\\]]+)`,
  'gi',
);
const kFleetgateToken = /\bfg_[A-Za-z0-9_-]{8,}/g;
/** Long runs of base64/base64url/hex-ish characters: key material, JWTs, encoded certificates. */
const kLongOpaque = /[A-Za-z0-9+/_-]{40,}={0,2}(?:\.[A-Za-z0-9+/_-]{8,}={0,2})*/g;

/**
 * A long run is opaque (masked) when it is hex, or mixes digits, upper- and lower-case letters as
 * random base64 does; long file paths and host names (lower case words, dashes, slashes) are kept,
 * since error messages name them on purpose.
 */
function isOpaque(run: string): boolean {
  if (/^[0-9a-fA-F]{40,}$/.test(run)) return true;
  return /[0-9]/.test(run) && /[A-Z]/.test(run) && /[a-z]/.test(run);
}

/**
 * Masks bearer tokens, PEM blocks, secret kubeconfig fields, fleetgate tokens and long opaque
 * base64/hex runs in `text`. Idempotent; never throws.
 */
export function redact(text: string): string {
  if (typeof text !== 'string') text = String(text);
  return text
    .replace(kPemBlock, '[redacted PEM]')
    .replace(kBearer, (_m, scheme: string) => `${scheme} ${kRedacted}`)
    .replace(kSecretField, (_m, prefix: string) => `${prefix}${kRedacted}`)
    .replace(kFleetgateToken, `fg_${kRedacted}`)
    .replace(kLongOpaque, (run) => (isOpaque(run) ? kRedacted : run));
}

/** Cuts `text` to at most `max` characters (an error text must stay one short line). */
export function shorten(text: string, max = 200): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : one.slice(0, max - 1) + '…';
}

/**
 * Makes `util.inspect`/console.log print `obj` with the named fields masked, without changing its
 * own enumerable properties (spreads, structuredClone, equality and JSON are unaffected).
 */
export function hideOnInspect<T extends object>(obj: T, fields: readonly (keyof T & string)[]): T {
  Object.defineProperty(obj, inspect.custom, {
    enumerable: false,
    value(this: T, depth: number, options: object) {
      const shown: Record<string, unknown> = { ...(this as Record<string, unknown>) };
      for (const f of fields) {
        const v = shown[f];
        if (typeof v === 'string' && v !== '') shown[f] = `[redacted ${v.length} chars]`;
      }
      return inspect(shown, { ...options, depth });
    },
  });
  return obj;
}
