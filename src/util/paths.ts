import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root: the nearest folder above this module that holds package.json. The same
 * answer whether this module runs compiled from dist/src/util or as TypeScript under vitest.
 */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('fleetgate: cannot find package.json above ' + import.meta.url);
    dir = up;
  }
})();

/**
 * Absolute path of a compiled file under dist/. Worker threads always run compiled JavaScript,
 * also when the code that starts them runs as TypeScript under vitest, so thread entry points are
 * resolved here and never relative to the caller.
 */
export function distPath(...parts: string[]): string {
  return join(packageRoot, 'dist', ...parts);
}

/** Entry file of a thread in workers/, e.g. workerEntry('sync') → dist/workers/sync.js. */
export function workerEntry(name: string): string {
  return distPath('workers', name + '.js');
}
