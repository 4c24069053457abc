import { expect } from 'vitest';

/** Runs fn, which must throw an instance of `kind`, and returns that error for further checks. */
export function thrown<E extends Error>(fn: () => unknown, kind: abstract new (...args: never[]) => E): E {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(kind);
    return err as E;
  }
  throw new Error(`expected ${kind.name} to be thrown`);
}
