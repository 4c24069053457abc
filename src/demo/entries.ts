/**
 * The demo's cluster index: real IndexEntryInput rows whose fields carry the generation that
 * wrote them, so a reader can tell a torn copy without trusting the lock or the index's own
 * checksum. Every stamp has a fixed width, so successive generations put every field at the same
 * offset: a copy that overlaps an in-place rewrite (lock `none`) gets some fields from one
 * generation and some from the next, and the stamps disagree.
 */
import type { IndexEntry, IndexEntryInput } from '../index/types.js';

/** Fields that carry the stamp, in the order they sit in an entry (src/index/encoding.ts). */
export const kStampedFields = ['description', 'version', 'configHash', 'caData', 'token'] as const;
export type StampedField = (typeof kStampedFields)[number];

const kStampDigits = 9;

export function stamp(gen: number): string {
  return String(gen % 10 ** kStampDigits).padStart(kStampDigits, '0');
}

export function entryName(k: number): string {
  return `cluster-${String(k).padStart(2, '0')}`;
}

/** Entry k of generation `gen`, about `bytes` long (the filler sits in caData, like a CA bundle). */
export function demoEntry(k: number, gen: number, bytes: number): IndexEntryInput {
  const s = stamp(gen);
  const filler = 'M'.repeat(Math.max(0, bytes - 260));
  return {
    id: k + 1,
    name: entryName(k),
    description: `written by generation ${s}`,
    enabled: true,
    isDefault: k === 0,
    inCluster: false,
    state: 'ok',
    version: `v1.31.${s}`,
    error: '',
    errorAt: 0,
    probedAt: 0,
    configHash: `cfg-${s}`,
    generation: 1,
    prometheusUrl: '',
    client: {
      server: `https://10.0.0.${k + 1}:6443`,
      caData: `-----BEGIN CERTIFICATE-----${filler}${s}-----END CERTIFICATE-----`,
      certData: '',
      keyData: '',
      token: `token-${s}`,
      tlsServerName: '',
      insecure: false,
      proxyUrl: '',
    },
  };
}

export function demoEntries(count: number, gen: number, bytes: number): IndexEntryInput[] {
  const out: IndexEntryInput[] = [];
  for (let k = 0; k < count; k++) out.push(demoEntry(k, gen, bytes));
  return out;
}

/** The stamp each field of a copied-out entry carries (-1 when unreadable). */
export function stampsOf(e: IndexEntry): Record<StampedField, number> {
  const num = (m: RegExpMatchArray | null) => (m ? Number(m[1]) : -1);
  return {
    description: num(/^written by generation (\d{9})$/.exec(e.description)),
    version: num(/^v1\.31\.(\d{9})$/.exec(e.version)),
    configHash: num(/^cfg-(\d{9})$/.exec(e.configHash)),
    caData: num(/(\d{9})-----END CERTIFICATE-----$/.exec(e.client.caData)),
    token: num(/^token-(\d{9})$/.exec(e.client.token)),
  };
}

/** A copy whose fields disagree: from which generation each field came. */
export interface TornEntry {
  name: string;
  expectedName: string;
  fields: Record<StampedField, number>;
}

/** null when every field carries the same generation and the name is the one asked for. */
export function checkEntry(e: IndexEntry, expectedName: string): TornEntry | null {
  const fields = stampsOf(e);
  const first = fields.description;
  let agree = first >= 0 && e.name === expectedName;
  for (const f of kStampedFields) if (fields[f] !== first) agree = false;
  return agree ? null : { name: e.name, expectedName, fields };
}
