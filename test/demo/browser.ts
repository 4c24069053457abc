/**
 * Headless Chromium for the demo tests: Debian's `chromium` package driven by playwright-core,
 * never a downloaded browser. .ci/run installs the package when it is missing; only when that
 * install failed does `chromiumPath` stay undefined and the browser tests skip, saying so once.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { packageRoot } from '../../src/util/paths.js';

export const chromiumPath: string | undefined = [process.env.FLEETGATE_CHROMIUM, '/usr/bin/chromium'].find((p): p is string => !!p && existsSync(p));

if (!chromiumPath) console.warn('demo browser tests skipped: no chromium at /usr/bin/chromium (`apt-get install -y --no-install-recommends chromium`; .ci/run does it)');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath!,
    // CI runs as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/** Where the tests put screenshots: test-results/demo under the package root. */
export function outputDir(): string {
  const dir = join(packageRoot, 'test-results', 'demo');
  mkdirSync(dir, { recursive: true });
  return dir;
}
