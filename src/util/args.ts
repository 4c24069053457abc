/**
 * Clear messages for node:util parseArgs errors: the flag named, and what is accepted instead
 * (parseArgs says only "Unknown option '--x'"), and the flag parsing every subcommand starts with.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** The closest known flag by edit distance, if close enough to be a likely typo. */
function nearest(flag: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(flag.length / 3)) + 1;
  for (const k of known) {
    const d = distance(flag, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** `known` are flag names without dashes. Returns a one-line message for a parseArgs error. */
export function argErrorMessage(err: unknown, known: readonly string[]): string {
  const e = err as { code?: string; message?: string };
  const msg = String(e?.message ?? err);
  const accepted = known.map((k) => `--${k}`).join(', ');
  if (e?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'(-{1,2}[^']+)'/.exec(msg)?.[1] ?? msg;
    const guess = nearest(flag.replace(/^-+/, '').split('=')[0]!, known);
    return `unknown flag ${flag}${guess ? ` (did you mean --${guess}?)` : ''}; accepted flags: ${accepted}`;
  }
  if (e?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /'(--[a-z0-9-]+)/.exec(msg)?.[1];
    if (flag && /argument missing/.test(msg)) return `${flag} needs a value (${flag} VALUE)`;
    if (flag && /does not take an argument/.test(msg)) return `${flag} takes no value (it is a switch)`;
  }
  if (e?.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(msg)?.[1] ?? '';
    return `unexpected argument "${arg}": flags take the form --name VALUE; accepted flags: ${accepted}`;
  }
  return msg;
}

/** The values parseArgs gives for `options` (strict, no positionals). */
export type Flags<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>['values'];

/**
 * `fleetgate COMMAND`'s flags, or the exit code to stop with: 0 once `usage` is printed for
 * --help (`options` must define help), 2 once a clear error and `usage` are printed to stderr.
 */
export function parseFlags<O extends ParseArgsOptionsConfig>(command: string, argv: string[], options: O, usage: string): Flags<O> | number {
  let values: Flags<O>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    console.error(`fleetgate ${command}: ${argErrorMessage(e, Object.keys(options))}\n\n${usage}`);
    return 2;
  }
  if ((values as { help?: boolean }).help === true) {
    console.log(usage);
    return 0;
  }
  return values;
}
