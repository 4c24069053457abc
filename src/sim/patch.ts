/**
 * PATCH bodies: JSON merge patch (RFC 7386), used also for strategic merge patch (lists are
 * replaced rather than merged by key, which is enough for the calls fleetgate and kubectl make),
 * and JSON patch (RFC 6902).
 */

export class PatchError extends Error {}

type J = unknown;

function isObj(v: J): v is Record<string, J> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function mergePatch(target: J, patch: J): J {
  if (!isObj(patch)) return patch;
  const out: Record<string, J> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k.startsWith('$setElementOrder/') || k.startsWith('$deleteFromPrimitiveList/') || k.startsWith('$retainKeys')) continue;
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new PatchError(`invalid JSON pointer "${p}"`);
  return p.slice(1).split('/').map(unescape);
}

function parentOf(doc: J, path: string[]): { parent: Record<string, J> | J[]; key: string } {
  let cur: J = doc;
  for (const seg of path.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (isObj(cur)) cur = cur[seg];
    else cur = undefined;
    if (cur === undefined) throw new PatchError(`path /${path.join('/')} does not exist`);
  }
  if (!Array.isArray(cur) && !isObj(cur)) throw new PatchError(`path /${path.join('/')} does not exist`);
  return { parent: cur, key: path[path.length - 1] };
}

function get(doc: J, path: string[]): J {
  let cur: J = doc;
  for (const seg of path) {
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (isObj(cur)) cur = Object.prototype.hasOwnProperty.call(cur, seg) ? cur[seg] : undefined;
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

function add(doc: J, path: string[], value: J): J {
  if (!path.length) return value;
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new PatchError(`array index ${key} out of range`);
    parent.splice(i, 0, value);
  } else parent[key] = value;
  return doc;
}

function remove(doc: J, path: string[]): J {
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw new PatchError(`array index ${key} out of range`);
    parent.splice(i, 1);
  } else {
    if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new PatchError(`path /${path.join('/')} does not exist`);
    delete parent[key];
  }
  return doc;
}

export function jsonPatch(doc: J, ops: J): J {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations');
  let out: J = structuredClone(doc);
  for (const op of ops) {
    if (!isObj(op) || typeof op.op !== 'string' || typeof op.path !== 'string') throw new PatchError('invalid JSON patch operation');
    const path = parsePointer(op.path);
    switch (op.op) {
      case 'add':
        out = add(out, path, structuredClone(op.value));
        break;
      case 'remove':
        out = remove(out, path);
        break;
      case 'replace':
        if (path.length && get(out, path) === undefined) throw new PatchError(`path ${op.path} does not exist`);
        if (path.length) remove(out, path);
        out = add(out, path, structuredClone(op.value));
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError(`${op.op} needs "from"`);
        const from = parsePointer(op.from);
        const v = get(out, from);
        if (v === undefined) throw new PatchError(`path ${op.from} does not exist`);
        if (op.op === 'move') remove(out, from);
        out = add(out, path, structuredClone(v));
        break;
      }
      case 'test':
        if (JSON.stringify(get(out, path)) !== JSON.stringify(op.value)) throw new PatchError(`test operation failed at ${op.path}`);
        break;
      default:
        throw new PatchError(`unknown JSON patch operation "${op.op}"`);
    }
  }
  return out;
}
