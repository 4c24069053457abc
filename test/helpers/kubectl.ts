/**
 * kubectl for the tests that drive a real client: found on PATH (the CI machines have a version
 * dispatcher there), never at a hard-coded path. When it is missing, each such test file prints
 * one line starting with `SKIP(kubectl)`, which .ci/run counts, so a run without kubectl says so.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function findKubectl(path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'kubectl');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; next PATH entry
    }
  }
  return undefined;
}

/** kubectl's path, or undefined after printing the skip line for `file`. */
export function kubectlOrSkip(file: string): string | undefined {
  const found = findKubectl();
  if (!found) console.warn(`SKIP(kubectl): ${file}: kubectl is not on PATH; its kubectl tests are skipped`);
  return found;
}
