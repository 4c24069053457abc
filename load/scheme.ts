/**
 * The self-checking naming scheme of the load suite.
 *
 * Every cluster the churn driver writes carries fields that check each other, so a torn or mixed
 * entry can be recognised from the response alone, without trusting fleetgate's own checksums:
 *
 *   churn cluster   name  `<prefix>-<slot>-r<rev>`
 *                   desc  `<prefix>-<slot> rev <rev> d<d> sum <hash(name|d)>`
 *   stable cluster  name  `<sim context name>` (never renamed, deleted or disabled)
 *                   desc  `<name> rev 0 d<d> sum <hash(name|d)>`
 *
 * A rename changes name and description in one write, so a reader that sees the name of one
 * revision with the description of another has read two revisions mixed. `d` counts description
 * updates that keep the name.
 *
 * Descriptions end in ` pad ` and 0–96 dots, the count taken from the sum: every write changes the
 * description's length, so in `--lock none` an in-place rewrite moves every entry after it, and a
 * reader caught in the middle sees shifted bytes rather than the same bytes written again.
 */

/** FNV-1a, 32 bits, as 8 hex digits: cheap, deterministic, and independent of fleetgate's hashes. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export function churnName(prefix: string, slot: number, rev: number): string {
  return `${prefix}-${slot}-r${rev}`;
}

/** Base of a description: the slot part of a churn name, or a stable cluster's whole name. */
export function descriptionFor(base: string, name: string, rev: number, d: number): string {
  const sum = fnv1a(`${name}|${d}`);
  return `${base} rev ${rev} d${d} sum ${sum} pad ${'.'.repeat(padLength(sum))}`;
}

/** Length of the padding that goes with checksum `sum`. */
export function padLength(sum: string): number {
  return parseInt(sum.slice(0, 4), 16) % 97;
}

export function churnDescription(prefix: string, slot: number, rev: number, d: number): string {
  return descriptionFor(`${prefix}-${slot}`, churnName(prefix, slot, rev), rev, d);
}

export function stableDescription(name: string, d: number): string {
  return descriptionFor(name, name, 0, d);
}

export interface ParsedChurnName {
  prefix: string;
  slot: number;
  rev: number;
}

const kChurnName = /^(.+)-(\d+)-r(\d+)$/;

export function parseChurnName(name: string, prefix: string): ParsedChurnName | undefined {
  const m = kChurnName.exec(name);
  if (!m || m[1] !== prefix) return undefined;
  return { prefix, slot: Number(m[2]), rev: Number(m[3]) };
}

export interface ParsedDescription {
  base: string;
  rev: number;
  d: number;
  sum: string;
  pad: number;
}

const kDescription = /^(\S+) rev (\d+) d(\d+) sum ([0-9a-f]{8}) pad (\.*)$/;

export function parseDescription(text: string): ParsedDescription | undefined {
  const m = kDescription.exec(text);
  if (!m) return undefined;
  return { base: m[1]!, rev: Number(m[2]), d: Number(m[3]), sum: m[4]!, pad: m[5]!.length };
}

/**
 * Why `description` cannot belong to `name`, or undefined when it can by the scheme alone
 * (the registry then says whether it was actually written). `expectedBase`/`expectedRev` come
 * from the name: for a churn name its slot part and revision, for a stable name itself and 0.
 */
export function descriptionMismatch(name: string, description: string, expectedBase: string, expectedRev: number): string | undefined {
  const p = parseDescription(description);
  if (!p) return `description ${JSON.stringify(clip(description))} of ${JSON.stringify(name)} does not follow the scheme`;
  if (p.base !== expectedBase) return `description base ${JSON.stringify(p.base)} on ${JSON.stringify(name)} (expected ${JSON.stringify(expectedBase)}): two entries mixed`;
  if (p.rev !== expectedRev) return `description of rev ${p.rev} on name ${JSON.stringify(name)} of rev ${expectedRev}: two revisions mixed`;
  if (p.sum !== fnv1a(`${name}|${p.d}`)) return `description checksum of ${JSON.stringify(name)} d${p.d} is ${p.sum}, expected ${fnv1a(`${name}|${p.d}`)}`;
  if (p.pad !== padLength(p.sum)) return `description of ${JSON.stringify(name)} has ${p.pad} pad characters, expected ${padLength(p.sum)}: torn`;
  return undefined;
}

export function clip(s: string, max = 120): string {
  return s.length > max ? s.slice(0, max) + '…' : s;
}
