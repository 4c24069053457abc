/**
 * Counts corrupt responses by reason and keeps the first few whole, for inspection under
 * load/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CorruptSample {
  at: string;
  kind: string;
  path: string;
  asked?: string;
  status: number;
  reason: string;
  body: string;
}

const kMaxBody = 64 * 1024;

/** Reason text without the entry index and quoted values, so similar failures group together. */
export function reasonClass(reason: string): string {
  return reason
    .replace(/^\[\d+\] /, '')
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
}

export class CorruptionLog {
  count = 0;
  readonly byReason = new Map<string, number>();
  readonly samples: CorruptSample[] = [];

  constructor(readonly keep = 5) {}

  record(s: Omit<CorruptSample, 'at'>): void {
    this.count++;
    const cls = reasonClass(s.reason);
    this.byReason.set(cls, (this.byReason.get(cls) ?? 0) + 1);
    if (this.samples.length < this.keep) {
      this.samples.push({ at: new Date().toISOString(), ...s, body: s.body.length > kMaxBody ? s.body.slice(0, kMaxBody) + '…(truncated)' : s.body });
    }
  }

  topReasons(n = 5): { reason: string; count: number }[] {
    return [...this.byReason].sort((a, b) => b[1] - a[1]).slice(0, n).map(([reason, count]) => ({ reason, count }));
  }

  /** Writes each kept sample as its own JSON file; returns the paths. */
  save(dir: string, stem: string): string[] {
    if (this.samples.length === 0) return [];
    mkdirSync(dir, { recursive: true });
    return this.samples.map((s, i) => {
      const path = join(dir, `${stem}-corrupt-${i + 1}.json`);
      writeFileSync(path, JSON.stringify(s, null, 2) + '\n');
      return path;
    });
  }
}
