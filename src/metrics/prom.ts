/**
 * The Prometheus text exposition format (version 0.0.4), written once for every family fleetgate
 * exports: the shared-memory figures (shared.ts) and the HTTP workers' summed counters
 * (src/http/metrics.ts) both render through it, so escaping and histogram shape cannot drift.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A label value escaped as the format requires (backslash, newline, double quote). */
export function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** `{k="v",...}` for the given pairs, '' for none. Values are escaped; names are ours. */
export function labels(pairs: Readonly<Record<string, string>>): string {
  const parts = Object.entries(pairs).map(([k, v]) => `${k}="${labelValue(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export class PromText {
  private readonly out: string[] = [];

  /** Starts a family: its HELP and TYPE lines. */
  family(name: string, help: string, type: MetricType): this {
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  /** One sample; a non-finite value (a division by zero upstream) is written as 0. */
  sample(name: string, labelText: string, value: number): this {
    this.out.push(`${name}${labelText} ${Number.isFinite(value) ? value : 0}`);
    return this;
  }

  /** A family with one sample per [labels, value]. */
  metric(name: string, help: string, type: MetricType, samples: ReadonlyArray<readonly [string, number]>): this {
    this.family(name, help, type);
    for (const [l, v] of samples) this.sample(name, l, v);
    return this;
  }

  /**
   * One histogram series: `counts` are per bucket, not cumulative, with one more entry than
   * `bounds` (the +Inf bucket). `extra` are labels besides `le`.
   */
  histogram(name: string, extra: Readonly<Record<string, string>>, bounds: readonly number[], counts: readonly number[], sum: number): this {
    let cum = 0;
    bounds.forEach((le, i) => {
      cum += counts[i] ?? 0;
      this.sample(`${name}_bucket`, labels({ ...extra, le: String(le) }), cum);
    });
    cum += counts[bounds.length] ?? 0;
    this.sample(`${name}_bucket`, labels({ ...extra, le: '+Inf' }), cum);
    this.sample(`${name}_sum`, labels(extra), sum);
    this.sample(`${name}_count`, labels(extra), cum);
    return this;
  }

  text(): string {
    return this.out.join('\n') + '\n';
  }
}
