/**
 * Reading request bodies: bounded in size, decoded by Content-Type (JSON, or Kubernetes
 * protobuf as kubectl sends for some kinds); anything else is 415.
 */
import type { IncomingMessage } from 'node:http';
import type { ResourceDef } from '../resources.js';
import type { Obj } from '../generate.js';
import { decodeKubernetesProtobuf, ProtobufError } from '../protobuf.js';
import { HttpError } from './errors.js';

const kMaxBodyBytes = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > kMaxBodyBytes) {
        reject(new HttpError(413, 'RequestEntityTooLarge', 'the request body is too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The body as one object of `def`'s kind. */
export async function readObject(req: IncomingMessage, def: ResourceDef): Promise<Obj> {
  const ctype = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (ctype === 'application/vnd.kubernetes.protobuf') {
    const raw = await readBody(req);
    try {
      return decodeKubernetesProtobuf(raw);
    } catch (e) {
      if (e instanceof ProtobufError) throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${e.message}`);
      throw e;
    }
  }
  if (ctype && ctype !== 'application/json') {
    await readBody(req).catch(() => undefined);
    throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf`);
  }
  const body = await readBody(req);
  let obj: unknown;
  try {
    obj = JSON.parse(body.toString('utf8'));
  } catch (e) {
    // Not the parser's own words: they differ between V8 versions, and a client learns nothing more.
    throw new HttpError(400, 'BadRequest', 'error decoding request body: not valid JSON');
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new HttpError(422, 'Invalid', `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: the body must be a JSON object`, { kind: def.kind, group: def.group || undefined });
  }
  return obj as Obj;
}

/** A patch body as JSON (its type, merge or JSON patch, is the caller's to apply). */
export function parsePatch(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, 'BadRequest', 'error decoding patch: not valid JSON');
  }
}
