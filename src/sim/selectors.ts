/**
 * Label and field selectors, parsed as the Kubernetes API server parses them.
 *
 * Label selector requirements, comma-separated: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
 * `k notin (a,b)`. Field selectors: `path=v`, `path==v`, `path!=v`, comma-separated.
 * A parse error throws SelectorError, which the server answers with 400 BadRequest.
 */

export class SelectorError extends Error {}

export type LabelRequirement =
  | { op: 'exists' | '!'; key: string }
  | { op: '=' | '!='; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: Set<string> };

export type LabelSelector = LabelRequirement[];

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export type FieldSelector = FieldRequirement[];

const kLabelKey = /^([a-z0-9A-Z]([a-z0-9A-Z.-]*[a-z0-9A-Z])?\/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;
const kLabelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): string {
  if (!kLabelKey.test(key) || key.length > 316) throw new SelectorError(`invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (value.length > 63 || !kLabelValue.test(value)) throw new SelectorError(`invalid label value: "${value}"`);
  return value;
}

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth < 0) throw new SelectorError('unbalanced parentheses in selector');
    } else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw new SelectorError('unbalanced parentheses in selector');
  parts.push(s.slice(start));
  return parts;
}

export function parseLabelSelector(input: string | null | undefined): LabelSelector {
  const s = (input ?? '').trim();
  if (!s) return [];
  const out: LabelSelector = [];
  for (const rawPart of splitTop(s)) {
    const part = rawPart.trim();
    if (!part) throw new SelectorError(`empty requirement in selector "${s}"`);
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      const values = new Set(
        m[3]
          .split(',')
          .map((v) => v.trim())
          .map(checkValue),
      );
      out.push({ op: m[2] as 'in' | 'notin', key: checkKey(m[1]), values });
    } else if ((m = part.match(/^!\s*(\S+)$/))) {
      out.push({ op: '!', key: checkKey(m[1]) });
    } else if ((m = part.match(/^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/))) {
      out.push({ op: m[2] === '!=' ? '!=' : '=', key: checkKey(m[1]), value: checkValue(m[3]) });
    } else if ((m = part.match(/^([^=!\s()]+)$/))) {
      out.push({ op: 'exists', key: checkKey(m[1]) });
    } else {
      throw new SelectorError(`unable to parse requirement: "${part}"`);
    }
  }
  return out;
}

export function matchLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  for (const r of sel) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = has ? labels![r.key] : undefined;
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case '=':
        if (v !== r.value) return false;
        break;
      case '!=':
        if (v === r.value) return false;
        break;
      case 'in':
        if (!has || !r.values.has(v!)) return false;
        break;
      case 'notin':
        if (has && r.values.has(v!)) return false;
        break;
    }
  }
  return true;
}

/**
 * Parses a field selector; `supported` lists the field paths the kind allows (metadata.name and
 * metadata.namespace are always allowed). An unsupported field is an error, as on a real server.
 */
export function parseFieldSelector(input: string | null | undefined, supported: readonly string[]): FieldSelector {
  const s = (input ?? '').trim();
  if (!s) return [];
  const out: FieldSelector = [];
  for (const rawPart of s.split(',')) {
    const part = rawPart.trim();
    const m = part.match(/^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw new SelectorError(`invalid selector: '${s}'; can't understand '${part}'`);
    const field = m[1];
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !supported.includes(field)) {
      throw new SelectorError(`field label not supported: ${field}`);
    }
    out.push({ field, op: m[2] === '!=' ? '!=' : '=', value: m[3] });
  }
  return out;
}

export function matchFields(sel: FieldSelector, fields: Record<string, string>): boolean {
  for (const r of sel) {
    const v = fields[r.field] ?? '';
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}

/** Reads a dotted path ("spec.nodeName") from an object as a string, '' when absent. */
export function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}
