/**
 * The teaching page in headless Chromium: isolation headers, the live lock in rw (no torn reads)
 * and none (torn reads), seeded step runs that replay exactly, and the running-server panel
 * against a real fleetgate server with simulated clusters. Each panel's screenshot goes to
 * test-results/demo/. Needs `npm run build` (the workers import dist/ modules).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer, type DemoServer } from '../../src/demo/server.js';
import { startServer, type ServerHandle } from '../helpers/server.js';
import { chromiumPath, launchChromium, outputDir } from './browser.js';

interface DemoStats {
  lock: string;
  readers: number;
  reads: number;
  commits: number;
  torn: number;
  generation: number;
  runMs: number;
  races: number;
  errors: string[];
  crossOriginIsolated: boolean;
}
// The page's globals, as the browser-side callbacks below see them (no DOM lib in this project).
declare const document: { querySelector(s: string): { textContent: string | null } | null };
declare const crossOriginIsolated: boolean;
declare const location: { reload(): void };
declare const demo: {
  ready: Promise<void>;
  stats(): DemoStats;
  set(o: Record<string, unknown>): DemoStats;
  step: {
    start(o: Record<string, unknown>): Promise<unknown>;
    runUntil(goal: string, max: number): Promise<{ steps: number; reached: boolean; list: number[] }>;
    state(): { steps: number[]; torn: number; done: Record<string, boolean> };
  };
  server: { connect(url: string, token: string): Promise<void>; stats(): { commits: number; writeLocks: number; slots: unknown[] } | null };
};

/** Resolves once the element's text contains `text` (it is redrawn each animation frame). */
async function showsText(page: Page, selector: string, text: string): Promise<string> {
  await page.waitForFunction(([sel, t]) => document.querySelector(sel)?.textContent?.includes(t) ?? false, [selector, text] as const, { timeout: 15_000 });
  return (await page.locator(selector).first().textContent()) ?? '';
}

async function shot(page: Page, panel: string): Promise<string> {
  const file = join(outputDir(), `${panel}.png`);
  await page.locator(`#${panel}`).screenshot({ path: file });
  return file;
}

describe.skipIf(!chromiumPath)('fleetgate demo page (headless Chromium)', () => {
  let site: DemoServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    site = await startDemoServer({ port: 0, log: () => {} });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
    await page.goto(site.url);
    await page.waitForFunction(() => typeof demo === 'object');
    await page.evaluate(() => demo.ready);
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('sends COOP/COEP on the page and the worker modules, and the page is crossOriginIsolated', async () => {
    for (const path of ['/', '/dist/src/demo/worker.js', '/dist/src/lock/rwlock.js']) {
      const res = await fetch(new URL(path, site.url));
      expect(res.status, path).toBe(200);
      expect(res.headers.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(res.headers.get('cross-origin-embedder-policy'), path).toBe('require-corp');
    }
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect((await page.evaluate(() => demo.stats())).crossOriginIsolated).toBe(true);
    await showsText(page, '#isolation', 'crossOriginIsolated: yes');
  });

  it('says plainly when the page is not cross-origin isolated', async () => {
    const bare = await startDemoServer({ port: 0, isolation: false, log: () => {} });
    const p = await browser.newPage();
    try {
      await p.goto(bare.url);
      await p.waitForFunction(() => typeof demo === 'object');
      expect(await p.evaluate(() => crossOriginIsolated)).toBe(false);
      expect(await p.locator('#isolation').textContent()).toContain('NOT cross-origin isolated');
      expect((await p.evaluate(() => demo.stats())).crossOriginIsolated).toBe(false);
    } finally {
      await p.close();
      await bare.close();
    }
  });

  it('with lock rw for 5 s: at least 100 commits and 10,000 reads, and not one torn read', async () => {
    await page.evaluate(() => demo.set({ lock: 'rw', readers: 4, commitRate: 200, entryBytes: 1024 }));
    // Wait on the counters themselves (the cap only bounds a broken run).
    await page.waitForFunction(() => {
      const s = demo.stats();
      return s.runMs >= 5000 && s.reads >= 10_000 && s.commits >= 100;
    }, undefined, { timeout: 60_000, polling: 100 });
    const s = await page.evaluate(() => demo.stats());
    expect(s.lock).toBe('rw');
    expect(s.errors).toEqual([]);
    expect(s.commits).toBeGreaterThanOrEqual(100);
    expect(s.reads).toBeGreaterThanOrEqual(10_000);
    expect(s.generation).toBeGreaterThanOrEqual(s.commits);
    expect(s.torn).toBe(0);
    expect(await page.locator('#races').textContent()).not.toContain('WARNING: DATA RACE');
    await shot(page, 'panel-controls');
    await shot(page, 'panel-threads');
  });

  it('with lock none: torn reads within 10 s, each with a race report; back on rw the count stays at zero', async () => {
    await page.evaluate(() => demo.set({ lock: 'none', readers: 4, commitRate: 500, entryBytes: 4096 }));
    await page.waitForFunction(() => demo.stats().torn > 0, undefined, { timeout: 10_000, polling: 50 });
    await showsText(page, '#races .race', 'WARNING: DATA RACE');
    await showsText(page, '#torn-text', 'TORN');
    await shot(page, 'panel-counters');
    await shot(page, 'panel-races');

    await page.evaluate(() => demo.set({ lock: 'rw', commitRate: 200, entryBytes: 1024 }));
    await page.waitForFunction(() => {
      const s = demo.stats();
      return s.lock === 'rw' && s.reads >= 10_000 && s.commits >= 100;
    }, undefined, { timeout: 60_000, polling: 100 });
    expect((await page.evaluate(() => demo.stats())).torn).toBe(0);
  });

  it('a seeded step run reaches a torn read in the same number of steps every time, and its link replays it', async () => {
    const runs = [];
    for (let i = 0; i < 3; i++) {
      runs.push(await page.evaluate(async () => {
        await demo.step.start({ seed: 7, lock: 'none', readers: 2 });
        return demo.step.runUntil('torn', 500);
      }));
    }
    expect(runs[0]!.reached).toBe(true);
    for (const r of runs) expect(r).toEqual(runs[0]);

    // The same seed with the lock on never tears, and its writer-waits challenge also replays.
    const rw = [];
    for (let i = 0; i < 2; i++) {
      rw.push(await page.evaluate(async () => {
        await demo.step.start({ seed: 7, lock: 'rw', readers: 2 });
        const r = await demo.step.runUntil('writerWaits', 3000);
        return { ...r, torn: demo.step.state().torn };
      }));
    }
    expect(rw[0]!.reached).toBe(true);
    expect(rw[0]!.torn).toBe(0);
    expect(rw[1]).toEqual(rw[0]);
    await shot(page, 'panel-step');

    // A fresh page from the link replays the torn run's steps and ends torn.
    const link = `${site.url}#step=1&lock=none&readers=2&seed=7&steps=${runs[0]!.list.join('.')}`;
    const p = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
    try {
      await p.goto(link);
      await p.waitForFunction(() => typeof demo === 'object');
      await p.evaluate(() => demo.ready);
      const st = await p.evaluate(() => demo.step.state());
      expect(st.steps).toEqual(runs[0]!.list);
      expect(st.torn).toBeGreaterThan(0);
      expect(st.done.torn).toBe(true);
    } finally {
      await p.close();
    }
    await page.evaluate(() => demo.set({ lock: 'rw' }));
  });

  describe('the running-server panel', () => {
    let server: ServerHandle;
    beforeAll(async () => {
      server = await startServer(['--sim', '3', '--workers', '1']);
    });
    afterAll(async () => {
      await page?.evaluate(() => location.reload()).catch(() => {});
      await server?.stop();
    });

    it('shows a real server\'s commit count from its admin lock stream', async () => {
      await page.evaluate(({ url, token }) => demo.server.connect(url, token), { url: server.url, token: server.token });
      await page.waitForFunction(() => (demo.server.stats()?.commits ?? 0) > 0, undefined, { timeout: 30_000, polling: 100 });
      const s = await page.evaluate(() => demo.server.stats());
      expect(s!.commits).toBeGreaterThan(0);
      expect(s!.writeLocks).toBeGreaterThan(0);
      expect(s!.slots.length).toBeGreaterThan(0);
      await page.waitForFunction(() => Number(document.querySelector('#srv-commits')?.textContent?.replace(/,/g, '')) > 0, undefined, { timeout: 15_000 });
      await showsText(page, '#server-status', 'Connected');
      const file = await shot(page, 'panel-server');
      expect(statSync(file).size).toBeGreaterThan(1000);
    });

    it('refuses a wrong token with a clear message', async () => {
      const err = await page.evaluate(({ url }) => demo.server.connect(url, 'not-a-token').then(() => 'connected', (e: Error) => e.message), { url: server.url });
      expect(err).toMatch(/401/);
      await showsText(page, '#server-status', 'Not connected');
    });
  });

  it('saved a screenshot of every panel', () => {
    for (const p of ['panel-controls', 'panel-threads', 'panel-counters', 'panel-races', 'panel-step', 'panel-server']) {
      expect(existsSync(join(outputDir(), `${p}.png`)), p).toBe(true);
    }
  });
});
