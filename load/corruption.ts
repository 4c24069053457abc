/**
 * The run's findings by class (verify.ts): counts, counts by reason, a few examples of each class
 * for the report (request, what was seen, why it is impossible), and the first few whole answers
 * of each class for inspection under load/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clip } from './scheme.js';
import { kFindingClasses, type Finding, type FindingClass } from './verify.js';

export interface FindingSample {
  at: string;
  cls: FindingClass;
  kind: string;
  /** The request as sent: method, path and the cluster header when any. */
  request: string;
  status: number;
  reason: string;
  /** The part of the answer that shows the finding (or the start of the body). */
  seen: string;
  body: string;
}

/** One line of the report's examples. */
export type FindingExample = Pick<FindingSample, 'request' | 'status' | 'seen' | 'reason'>;

export type ClassCounts = Record<FindingClass, number>;

export function zeroCounts(): ClassCounts {
  return { torn: 0, caught: 0, error: 0, missing: 0 };
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

export interface RecordArgs {
  kind: string;
  path: string;
  asked?: string;
  status: number;
  body: string;
}

export class FindingLog {
  readonly byClass = zeroCounts();
  /** `class: reason class` → count. */
  readonly byReason = new Map<string, number>();
  readonly samples: FindingSample[] = [];
  private readonly kept = zeroCounts();

  /** @param keep whole answers kept per class */
  constructor(readonly keep = 5) {}

  get count(): number {
    return kFindingClasses.reduce((a, c) => a + this.byClass[c], 0);
  }

  record(f: Finding, r: RecordArgs): void {
    this.byClass[f.cls]++;
    const key = `${f.cls}: ${reasonClass(f.reason)}`;
    this.byReason.set(key, (this.byReason.get(key) ?? 0) + 1);
    if (this.kept[f.cls] >= this.keep) return;
    this.kept[f.cls]++;
    this.samples.push({
      at: new Date().toISOString(),
      cls: f.cls,
      kind: r.kind,
      request: `GET ${r.path}${r.asked !== undefined && !r.path.startsWith('/k8s/') ? ` (x-cluster-name: ${r.asked})` : ''}`,
      status: r.status,
      reason: f.reason,
      seen: f.seen ?? clip(r.body, 300),
      body: r.body.length > kMaxBody ? r.body.slice(0, kMaxBody) + '…(truncated)' : r.body,
    });
  }

  topReasons(n = 5): { reason: string; count: number }[] {
    return [...this.byReason].sort((a, b) => b[1] - a[1]).slice(0, n).map(([reason, count]) => ({ reason, count }));
  }

  /** Up to `n` examples of each class, for the report. */
  examples(n = 3): Record<FindingClass, FindingExample[]> {
    const out = { torn: [], caught: [], error: [], missing: [] } as Record<FindingClass, FindingExample[]>;
    for (const s of this.samples) {
      if (out[s.cls].length < n) out[s.cls].push({ request: s.request, status: s.status, seen: s.seen, reason: s.reason });
    }
    return out;
  }

  /** Writes each kept answer as its own JSON file; returns the paths. */
  save(dir: string, stem: string): string[] {
    if (this.samples.length === 0) return [];
    mkdirSync(dir, { recursive: true });
    return this.samples.map((s, i) => {
      const path = join(dir, `${stem}-${s.cls}-${i + 1}.json`);
      writeFileSync(path, JSON.stringify(s, null, 2) + '\n');
      return path;
    });
  }
}
