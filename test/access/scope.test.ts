/** Scope rules: parsing, the last match wins, groups, and the per-generation memo. */
import { describe, expect, it } from 'vitest';
import { compileScope, parseRule, ScopeRuleError } from '../../src/access/scope.js';

const admits = (rules: string[] | null, name: string, groups: string[] = []) => compileScope(rules).admits({ name, groups });

describe('scope rules', () => {
  it('names, globs, groups and exclusions; the last matching rule decides; no rule admits nothing', () => {
    expect(admits(['prod-*'], 'prod-eu')).toBe(true);
    expect(admits(['prod-*'], 'preprod-eu')).toBe(false);
    expect(admits(['prod-?'], 'prod-1')).toBe(true);
    expect(admits(['prod-?'], 'prod-12')).toBe(false);
    expect(admits(['a.b'], 'aXb')).toBe(false); // "." is literal
    expect(admits(['prod-*', '!prod-b'], 'prod-b')).toBe(false);
    expect(admits(['!prod-b', 'prod-*'], 'prod-b')).toBe(true);
    expect(admits(['group:prod', '!dev-*'], 'dev-1', ['prod'])).toBe(false);
    expect(admits(['group:prod'], 'x', ['staging', 'prod'])).toBe(true);
    expect(admits(['*', '!group:restricted'], 'x', ['restricted'])).toBe(false);
    expect(admits([], 'anything')).toBe(false);
    expect(admits(null, 'anything')).toBe(true);
  });

  it('refuses malformed rules with a message that names the rule', () => {
    for (const bad of ['', '!', 'prod/*', 'group:', 'group:a b', '[a]', 'a b', '!!a', 'x'.repeat(101)]) {
      expect(() => parseRule(bad), bad).toThrow(ScopeRuleError);
    }
    expect(() => parseRule('prod/*')).toThrow(/"prod\/\*" is malformed/);
  });

  it('memoises per index generation: a cluster whose groups change is judged again in the next generation', () => {
    const s = compileScope(['group:prod']);
    expect(s.admits({ name: 'c1', groups: ['prod'], indexGeneration: 7 })).toBe(true);
    // Same generation: the memo answers (a committed index cannot change under it).
    expect(s.admits({ name: 'c1', groups: [], indexGeneration: 7 })).toBe(true);
    expect(s.admits({ name: 'c1', groups: [], indexGeneration: 8 })).toBe(false);
    expect(compileScope(['group:prod'])).toBe(s); // compiled once per rule list
  });

  it('the list memo keys verdicts by position and checks the name, so a shifted list is judged afresh', () => {
    const s = compileScope(['a*', '!ab']);
    const at = (k: number, name: string) => s.admitsAt(k, { name, groups: [], indexGeneration: 1 });
    expect([at(0, 'aa'), at(1, 'ab'), at(2, 'ac')]).toEqual([true, false, true]);
    // One entry missing (a torn read skipped it): positions shift, verdicts follow the names.
    expect([at(0, 'aa'), at(1, 'ac')]).toEqual([true, true]);
    expect([at(0, 'aa'), at(1, 'ab'), at(2, 'ac')]).toEqual([true, false, true]);
  });
});
