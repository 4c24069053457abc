/**
 * Line mapping from a compiled file back to its TypeScript source, read from the source map tsc
 * writes next to it, so the demo's code pane can show the .ts line a worker is at (a stack frame
 * names the .js line). Source map v3: `mappings` is one group per generated line, separated by
 * ';', of base64 VLQ segments whose third and fourth fields are relative source index and line.
 */

const kB64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes one segment's VLQ fields. */
export function decodeVlq(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const digit = kB64.indexOf(ch);
    if (digit < 0) throw new Error(`source map: bad VLQ character "${ch}"`);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/**
 * result[jsLine] = the 1-based source line the first mapped segment of that 1-based generated
 * line comes from, or 0 where the line maps to nothing.
 */
export function tsLineMap(mapJson: string): number[] {
  const map = JSON.parse(mapJson) as { mappings?: string };
  const lines = (map.mappings ?? '').split(';');
  const out: number[] = [0];
  let srcLine = 0;
  for (const line of lines) {
    let first = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const f = decodeVlq(seg);
      if (f.length >= 4) {
        srcLine += f[2]!;
        if (first === 0) first = srcLine + 1;
      }
    }
    out.push(first);
  }
  return out;
}
