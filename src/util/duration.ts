/** Durations as operators and API clients write them: "1500", "1500ms", "30s", "2m", "24h", "30d". */

const kUnitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a duration text (no unit means milliseconds); throws a RangeError saying what is accepted. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new RangeError(`invalid duration "${text}" (use e.g. 500ms, 30s, 2m, 24h, 30d)`);
  return Math.round(Number(m[1]) * kUnitMs[(m[2] ?? 'ms') as keyof typeof kUnitMs]);
}
