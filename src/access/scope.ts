/**
 * Token scopes: which clusters a viewer token may use. A scope is the token's `clusters` list,
 * read as rules, in order:
 *
 *   prod-eu-1        a cluster name
 *   prod-*           a glob over cluster names (`*` any run of characters, `?` one character)
 *   group:prod       every cluster in the group `prod` (groups travel in the shared index)
 *   !dev-*           any of the above, preceded by `!`: an exclusion
 *
 * The last rule that matches a cluster decides: an include admits it, an exclusion refuses it;
 * no matching rule refuses it. So an empty list admits nothing. Admin tokens see every cluster
 * and carry no rules.
 *
 * Speed: a scope is compiled once per distinct rule list (compileScope keeps them in a bounded
 * cache, so a token re-verified every second keeps its compiled scope), and each compiled scope
 * memoises its verdict per cluster name for one index generation: a cluster's name and groups
 * cannot change within a generation, so the memo is exact; it empties when the generation moves.
 * A cluster created later that matches a pattern is admitted by the first request that sees the
 * generation holding it, with no token edit.
 *
 * This module imports nothing from Node: the store (validation), the HTTP workers and the fleet
 * pool threads (checks) all use it.
 */

/** Cluster and group names: what the store accepts (src/store/clusters.ts kNameRe). */
export const kScopeNameRe = /^[A-Za-z0-9._-]{1,100}$/;
const kGlobRe = /^[A-Za-z0-9._*?-]{1,100}$/;
export const kGroupPrefix = 'group:';
export const kMaxRules = 200;

export type ScopeRule =
  | { exclude: boolean; kind: 'name'; name: string }
  | { exclude: boolean; kind: 'glob'; re: RegExp }
  | { exclude: boolean; kind: 'group'; group: string };

export class ScopeRuleError extends Error {
  override name = 'ScopeRuleError';
}

/** Turns one rule's text into a rule, or throws ScopeRuleError saying what is wrong with it. */
export function parseRule(text: unknown): ScopeRule {
  if (typeof text !== 'string') throw new ScopeRuleError('each scope rule must be a string');
  const exclude = text.startsWith('!');
  const body = exclude ? text.slice(1) : text;
  if (body.startsWith(kGroupPrefix)) {
    const group = body.slice(kGroupPrefix.length);
    if (!kScopeNameRe.test(group)) throw new ScopeRuleError(`scope rule "${text}": a group name is 1 to 100 letters, digits, "-", "_" or "."`);
    return { exclude, kind: 'group', group };
  }
  if (kScopeNameRe.test(body)) return { exclude, kind: 'name', name: body };
  if (kGlobRe.test(body)) return { exclude, kind: 'glob', re: globToRegExp(body) };
  throw new ScopeRuleError(
    `scope rule "${text}" is malformed: use a cluster name, a glob such as "prod-*", "group:NAME", each optionally preceded by "!"`,
  );
}

/** `*` any run, `?` one character; everything else literal (the glob alphabet has no other specials but `.`). */
function globToRegExp(glob: string): RegExp {
  let src = '^';
  for (const c of glob) src += c === '*' ? '.*' : c === '?' ? '.' : c === '.' ? '\\.' : c;
  return new RegExp(src + '$');
}

/** Parses every rule (throws ScopeRuleError at the first bad one). */
export function parseRules(rules: unknown): ScopeRule[] {
  if (!Array.isArray(rules)) throw new ScopeRuleError('clusters must be a list of scope rules (cluster names, globs, group:NAME, !exclusions)');
  if (rules.length > kMaxRules) throw new ScopeRuleError(`a scope has at most ${kMaxRules} rules`);
  return rules.map(parseRule);
}

/** The groups a rule list names (to check they exist). */
export function groupsNamed(rules: readonly ScopeRule[]): string[] {
  return [...new Set(rules.flatMap((r) => (r.kind === 'group' ? [r.group] : [])))];
}

/** What a scope needs to know of a cluster: the index entry's name and groups. */
export interface ScopeTarget {
  name: string;
  groups?: readonly string[];
  /** Generation of the index the target was read from (memo key); absent = do not memoise. */
  indexGeneration?: number;
}

export class CompiledScope {
  private memoGen = Number.NaN;
  private readonly memo = new Map<string, boolean>();
  /** The list route's memo: verdicts by position in the generation's name-ordered list, with the name seen there. */
  private posNames: string[] = [];
  private posVerdicts: boolean[] = [];

  constructor(
    /** null = every cluster (admin tokens). */
    private readonly rules: readonly ScopeRule[] | null,
  ) {}

  /** Does the scope admit this cluster? */
  admits(t: ScopeTarget): boolean {
    if (this.rules === null) return true;
    const gen = t.indexGeneration;
    if (gen === undefined) return this.evaluate(t.name, t.groups);
    if (gen !== this.memoGen) this.resetMemo(gen);
    const hit = this.memo.get(t.name);
    if (hit !== undefined) return hit;
    const v = this.evaluate(t.name, t.groups);
    this.memo.set(t.name, v);
    return v;
  }

  /**
   * admits() for the k-th entry of a whole name-ordered list of one generation (GET
   * /api/v1/clusters): the verdict is kept by position, so a repeat list costs an array read and
   * a string compare per entry instead of a hash lookup. The name stored with it guards the
   * position: a list that skipped an entry (a torn read in lock mode none) falls back to admits().
   */
  admitsAt(k: number, t: ScopeTarget): boolean {
    if (this.rules === null) return true;
    const gen = t.indexGeneration;
    if (gen === undefined) return this.evaluate(t.name, t.groups);
    if (gen !== this.memoGen) this.resetMemo(gen);
    if (this.posNames[k] === t.name) return this.posVerdicts[k]!;
    const v = this.admits(t);
    this.posNames[k] = t.name;
    this.posVerdicts[k] = v;
    return v;
  }

  private resetMemo(gen: number): void {
    this.memo.clear();
    this.posNames = [];
    this.posVerdicts = [];
    this.memoGen = gen;
  }

  /** Last matching rule wins; none matching refuses. */
  private evaluate(name: string, groups: readonly string[] | undefined): boolean {
    const rules = this.rules!;
    for (let i = rules.length - 1; i >= 0; i--) {
      const r = rules[i]!;
      let hit: boolean;
      if (r.kind === 'name') hit = r.name === name;
      else if (r.kind === 'glob') hit = r.re.test(name);
      else hit = groups !== undefined && groups.includes(r.group);
      if (hit) return !r.exclude;
    }
    return false;
  }
}

const kEverything = new CompiledScope(null);
const kCacheMax = 4096;
const compiled = new Map<string, CompiledScope>();

/**
 * The compiled scope of a token: `null` rules (admin) admit everything. Cached by rule text, so
 * the compile (and its per-generation memo) survives re-verification of the token. Rules that
 * do not parse (never stored: the store validates them) admit nothing.
 */
export function compileScope(rules: readonly string[] | null | undefined): CompiledScope {
  if (rules === null || rules === undefined) return kEverything;
  const key = rules.join('\n');
  let s = compiled.get(key);
  if (s !== undefined) return s;
  let parsed: ScopeRule[];
  try {
    parsed = parseRules(rules);
  } catch {
    parsed = [];
  }
  s = new CompiledScope(parsed);
  if (compiled.size >= kCacheMax) compiled.clear();
  compiled.set(key, s);
  return s;
}
